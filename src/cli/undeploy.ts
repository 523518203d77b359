// `ediv undeploy <scenario-name>`: remove a deployed scenario from every host and forget it.
import type { Command } from 'commander';
import { undeployCommand } from '../controller/undeploy-command.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import { action, printReport } from './output.ts';
import { addConnectionOptions, addTargetOptions, targetFilter, addForceOption, addStoreOption } from './controller-options.ts';
import { renderUndeploy } from './render/undeploy.ts';

export function register(program: Command): void {
  addForceOption(addStoreOption(addConnectionOptions(addTargetOptions(program.command('undeploy')))))
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
      action(async (name: string, opts: CommonOptions & { purge?: boolean; vm?: string[]; host?: string[] }) => {
        const report = await undeployCommand({ ...opts, name, ...targetFilter(opts) });
        return printReport(report, opts, renderUndeploy);
      }),
    );
}
