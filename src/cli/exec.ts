// `ediv exec <scenario-name> <seq>`: run a command sequence in the VMs of a deployed scenario.
import type { Command } from 'commander';
import { OperationError } from '../common/errors.ts';
import { execScenario } from '../controller/exec.ts';
import { listOption, withContext, type CommonOptions } from '../controller/command-context.ts';
import { renderExec } from '../controller/render.ts';
import { action, printJson } from './output.ts';
import { addConnectionOptions, addTargetOptions } from './controller-options.ts';


export function register(program: Command): void {
  addConnectionOptions(addTargetOptions(program.command('exec')))
    .description(
      'Run a command sequence (<exec seq=...>, or a <cmd-seq> expanded) of a deployed scenario,\n' +
        'only on the hosts whose part has it; prints each VM\'s commands with their output and\n' +
        'exit status. Exit: 0 all commands succeeded, 1 a command or host failed, 2 bad input.',
    )
    .argument('<scenario-name>', 'name of a deployed scenario')
    .argument('<seq>', 'sequence name')
    .option('--json', 'print one JSON document: {ok, vms: [{vm, host, commands: [{command, stdout, stderr, exitCode}]}]}')
    .action(
      action(async (name: string, seq: string, opts: CommonOptions & { vm?: string[]; host?: string[] }) =>
        withContext(opts, async (ctx) => {
          const report = await execScenario(
            { name, seq, vms: listOption(opts.vm), hosts: listOption(opts.host) },
            { store: ctx.store, sessions: ctx.sessions, progress: ctx.progress },
          );
          ctx.progress.done(); // the live progress lines end before the result
          if (opts.json) {
            printJson(report);
            return report.ok ? 0 : 1;
          }
          process.stdout.write(renderExec(report));
          if (report.failedHosts.length > 0) {
            throw new OperationError(`exec ${seq} failed on ${report.failedHosts.map((f) => f.host).join(', ')}`, {
              host: report.failedHosts[0]!.host,
            });
          }
          return report.ok ? 0 : 1;
        }),
      ),
    );
}
