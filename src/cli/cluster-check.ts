// `ediv cluster check`: is every host of the cluster ready? (registered by src/cli/cluster.ts)
import type { Command } from 'commander';
import { checkClusterCommand } from '../controller/cluster-check-command.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import { action, printReport } from './output.ts';
import { addConnectionOptions } from './controller-options.ts';
import { renderCheck } from './render/cluster-check.ts';

export function registerClusterCheck(clusterCmd: Command): void {
  addConnectionOptions(clusterCmd.command('check'), 'controller state directory (where the emulated cluster lives)')
    .description(
      'Check every host of the cluster: reachable over SSH, agent version equal to the\n' +
        'controller\'s, running as root, kernel capabilities for the backplane and the driver.\n' +
        'Prints what is wrong. Exit: 0 all ready, 1 something is wrong, 2 bad input.',
    )
    .option('--cluster <file>', 'cluster file; default $EDIV_CLUSTER, else the emulated cluster')
    .option('--json', 'print one JSON document {ok, hosts, problems}')
    .action(
      action(async (opts: CommonOptions & { cluster?: string }) => printReport(await checkClusterCommand(opts), opts, renderCheck)),
    );
}
