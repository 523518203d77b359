// `ediv exec <scenario-name> <seq>`: run a command sequence in the VMs of a deployed scenario;
// `ediv exec <scenario-name> -- CMD [ARGS...]`: run a one-off command in them.
import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';
import { execCommand } from '../controller/exec-command.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import { action, printReport } from './output.ts';
import { addConnectionOptions, addTargetOptions, targetFilter, addForceOption, addStoreOption } from './controller-options.ts';
import { renderExec } from './render/exec.ts';

export function register(program: Command): void {
  addForceOption(addStoreOption(addConnectionOptions(addTargetOptions(program.command('exec')))))
    .description(
      'Run a command sequence (<exec seq=...>, or a <cmd-seq> expanded) of a deployed scenario,\n' +
        'only on the hosts whose part has it; or, after --, a one-off command in every VM (or\n' +
        'those --vm/--host choose): one word is shell text for the VM\'s sh -c, several are a\n' +
        'program and its arguments, run as they are. Prints each VM\'s commands with their output\n' +
        'and exit status. Exit: 0 all commands succeeded, 1 a command or host failed, 2 bad input.\n\n' +
        'Examples:\n' +
        '  ediv exec tutorial show-addresses\n' +
        "  ediv exec tutorial --vm r1 -- 'ip route; hostname'\n" +
        '  ediv exec tutorial --vm h1 --vm h2 -- ping -c1 10.1.0.1',
    )
    .argument('<scenario-name>', 'name of a deployed scenario')
    .argument('[seq-or-command...]', 'a sequence name; or, after --, the command to run')
    .option('--json', 'print one JSON document: {ok, vms: [{vm, host, commands: [{command, stdout, stderr, exitCode}]}]}')
    .action(
      action(async (name: string, words: string[], opts: CommonOptions & { vm?: string[]; host?: string[] }, cmd: Command) => {
        const what = seqOrCommand(name, words, afterDoubleDash(cmd));
        const report = await execCommand({ ...opts, name, ...what, ...targetFilter(opts) });
        return printReport(report, opts, renderExec);
      }),
    );
}

/** Whether the command line has a `--` (then every word after the scenario name is the command). */
function afterDoubleDash(cmd: Command): boolean {
  const raw = (cmd.parent as (Command & { rawArgs?: string[] }) | null)?.rawArgs ?? process.argv;
  return raw.includes('--');
}

export function seqOrCommand(name: string, words: string[], dashed: boolean): { seq: string } | { command: string[] } {
  if (dashed) {
    if (words.length === 0 || words[0] === '') throw InputError.commandLine(undefined, `exec ${name} --: give the command to run after --`);
    return { command: words };
  }
  if (words.length !== 1) {
    throw InputError.commandLine(undefined, words.length === 0 ? `exec ${name}: give a sequence name, or -- and a command` : `exec ${name}: one sequence name, or put -- before a command (${JSON.stringify(words.join(' '))})`);
  }
  return { seq: words[0]! };
}
