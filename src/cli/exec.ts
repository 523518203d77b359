// `ediv exec <scenario-name> <seq>`: run a command sequence in the VMs of a deployed scenario.
import type { Command } from 'commander';
import { execCommand } from '../controller/exec-command.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import { action, printReport } from './output.ts';
import { addConnectionOptions, addTargetOptions, targetFilter } from './controller-options.ts';
import { renderExec } from './render/exec.ts';

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
      action(async (name: string, seq: string, opts: CommonOptions & { vm?: string[]; host?: string[] }) => {
        const report = await execCommand({ ...opts, name, seq, ...targetFilter(opts) });
        return printReport(report, opts, renderExec);
      }),
    );
}
