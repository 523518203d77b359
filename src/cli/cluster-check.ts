// `ediv cluster check`: is every host of the cluster ready? (registered by src/cli/cluster.ts)
import type { Command } from 'commander';
import { checkCluster } from '../controller/health-check.ts';
import { resolveCluster, withContext, type CommonOptions } from '../controller/command-context.ts';
import { renderCheck } from '../controller/render.ts';
import { action, printJson } from './output.ts';
import { addConnectionOptions } from './controller-options.ts';

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
      action(async (opts: CommonOptions & { cluster?: string }) =>
        withContext(opts, async (ctx) => {
          const cluster = await resolveCluster({ cluster: opts.cluster, stateDir: ctx.stateDir, progress: ctx.progress, create: false });
          const report = await checkCluster(cluster, { sessions: ctx.sessions, progress: ctx.progress, version: ctx.version });
          ctx.progress.done(); // the live progress lines end before the result
          if (opts.json) printJson(report);
          else process.stdout.write(renderCheck(report));
          return report.ok ? 0 : 1;
        }),
      ),
    );
}
