// `ediv completion bash|zsh`: prints a shell completion script for every command, subcommand
// and option of this ediv, with deployed labs, their VMs and exec sequences, and file names.
// The hidden `--list KIND` is what the script runs at a TAB for names from the state store.
import path from 'node:path';
import { Argument, Option, type Command } from 'commander';
import { InputError } from '../common/errors.ts';
import { defaultStateDir } from '../common/paths.ts';
import { COMPLETION_LISTS, completionValues, type CompletionList } from '../controller/completion-values.ts';
import { action } from './output.ts';
import { completionScript, SHELLS, type Lister, type Shell } from './completion-scripts.ts';
import { commandTree } from './completion-tree.ts';

/** The option of the controller commands (controller-options.ts) that the lister honours too. */
const STATE_OPTION = '--state';
const LISTER: Lister = { list: ['completion', '--list'], labOption: '--lab', stateOption: STATE_OPTION };

const HELP = `
Install (bash 4.2 or later), either:
  echo 'source <(ediv completion bash)' >> ~/.bashrc
  ediv completion bash > ~/.local/share/bash-completion/completions/ediv   (bash-completion)
Install (zsh), either:
  echo 'source <(ediv completion zsh)' >> ~/.zshrc      (after compinit)
  ediv completion zsh > ~/.zfunc/_ediv                  (a directory in $fpath, before compinit)

Completes commands, subcommands and options; deployed scenario names, their VMs and hosts and
exec sequences (from the local state store, honouring --state; no host is contacted); file and
directory names where a command takes one. At a TAB the script runs the ediv that was typed
(bin/ediv, a path, or the words of an alias such as ediv='npx ediv'). Print the script again
after upgrading ediv. See docs/completion.md.`;

interface CompletionOptions {
  list?: CompletionList;
  lab?: string;
  state?: string;
}

/** One value a line; nothing at all on any error (a TAB must never print noise). */
async function printList(opts: CompletionOptions & { list: CompletionList }): Promise<void> {
  try {
    const values = await completionValues(path.resolve(opts.state ?? defaultStateDir()), opts.list, opts.lab);
    process.stdout.write(values.map((v) => `${v}\n`).join(''));
  } catch {
    // Nothing to offer.
  }
}

/** `loadProgram` builds the whole program (every command), which the script is made from. */
export function register(program: Command, loadProgram: () => Promise<Command>): void {
  program
    .command('completion')
    .description('Print a bash or zsh completion script for ediv (install: see below).')
    .addArgument(new Argument('[shell]', 'bash or zsh').choices(SHELLS))
    .addOption(new Option('--list <kind>', 'print names for the script, one a line').choices(COMPLETION_LISTS).hideHelp())
    .addOption(new Option('--lab <name>', 'the lab whose VMs, hosts or sequences to list').hideHelp())
    .addOption(new Option(`${STATE_OPTION} <dir>`, 'controller state directory').hideHelp())
    .addHelpText('after', HELP)
    .action(
      action(async (shell: Shell | undefined, opts: CompletionOptions) => {
        if (opts.list) return printList({ ...opts, list: opts.list });
        if (!shell) throw InputError.commandLine(undefined, `name the shell: ediv completion ${SHELLS.join('|')}`);
        process.stdout.write(completionScript(shell, commandTree(await loadProgram()), LISTER));
      }),
    );
}
