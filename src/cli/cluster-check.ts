// `ediv cluster check`: can every host of the cluster take its part? (registered by src/cli/cluster.ts)
import type { Command } from 'commander';
import { checkClusterCommand } from '../controller/cluster-check-command.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import { action, printReport } from './output.ts';
import { addConnectionOptions } from './controller-options.ts';
import { renderCheck } from './render/cluster-check.ts';

export function registerClusterCheck(clusterCmd: Command): void {
  addConnectionOptions(clusterCmd.command('check'), 'controller state directory (where the emulated cluster lives)')
    .argument('[scenario]', "also check what this scenario needs of the hosts (FRR for a lab that runs it)")
    .description(
      'Check every host of the cluster, item by item: reachable over SSH; the agent (its version\n' +
        "equal to the controller's, root, its Node.js); the kernel (network namespaces, bridges,\n" +
        'veths, VXLAN or 802.1q for the backplane); iproute2 and nsenter; for the container driver\n' +
        'python3, overlayfs and cgroups; FRR when the scenario runs it; tc and tcpdump (advice); the\n' +
        "clock against the controller's (advice); and the cluster's free backplane ids. `deploy` runs\n" +
        'the same check and stops before touching anything when a host lacks a required item.\n' +
        'Exit: 0 all ready, 1 something required is missing, 2 bad input.',
    )
    .option('--cluster <file>', 'cluster file; default $EDIV_CLUSTER, else the emulated cluster')
    .option('--json', 'print one JSON document {ok, hosts: [{host, requirements, problems}], ids, problems}')
    .action(
      action(async (scenario: string | undefined, opts: CommonOptions & { cluster?: string }) =>
        printReport(await checkClusterCommand(opts, scenario), opts, renderCheck),
      ),
    );
}
