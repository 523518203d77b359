// `ediv undeploy <scenario-name>`: remove a deployed scenario from every host and forget it.
import type { Command } from 'commander';
import { undeployError, undeployScenario } from '../controller/undeploy.ts';
import { syncDiscoveryAfterDestroy } from '../controller/discovery-hooks.ts';
import { listOption, withContext, type CommonOptions } from '../controller/command-context.ts';
import { renderUndeploy } from '../controller/render.ts';
import { connectionStats } from '../transport/index.ts';
import { action, printJson } from './output.ts';
import { addConnectionOptions, addTargetOptions } from './controller-options.ts';


export function register(program: Command): void {
  addConnectionOptions(addTargetOptions(program.command('undeploy')))
    .description(
      'Destroy a deployed scenario on every host, free its backplane ids and remove its record.\n' +
        'A host that does not answer is reported and its part of the record kept, so running\n' +
        'undeploy again finishes the job; --purge forgets the record anyway. With --vm/--host,\n' +
        'only those VMs/hosts are removed and the record stays. Exit: 0 ok, 1 a host failed, 2 bad input.',
    )
    .argument('<scenario-name>', 'name of a deployed scenario')
    .option('--purge', 'remove the record even if some hosts could not be cleaned (what they hold stays there)')
    .option('--json', 'print one JSON document on stdout; progress as JSON lines on stderr')
    .action(
      action(async (name: string, opts: CommonOptions & { purge?: boolean; vm?: string[]; host?: string[] }) =>
        withContext(opts, async (ctx) => {
          const report = await undeployScenario(
            { name, purge: opts.purge, vms: listOption(opts.vm), hosts: listOption(opts.host) },
            { store: ctx.store, sessions: ctx.sessions, progress: ctx.progress, afterDestroy: syncDiscoveryAfterDestroy(ctx.sessions) },
          );
          if (!report.ok) throw undeployError(report);
          ctx.progress.done(); // the live progress lines end before the result
          if (opts.json) printJson({ ...report, connections: connectionStats().perHost });
          else process.stdout.write(renderUndeploy(report));
          return 0;
        }),
      ),
    );
}
