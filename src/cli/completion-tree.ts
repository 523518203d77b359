// What shell completion knows about ediv's commands, read from the commander program itself, so
// a new command, subcommand, option or argument is completed without a change here. What a
// value is (a file, a lab, a VM, ...) is decided from the names commands already give their
// arguments and options (`<scenario-name>`, `--vm <names>`, `--cluster <file>`).
import type { Argument, Command, Option } from 'commander';
import type { CompletionList } from '../controller/completion-values.ts';

/** What a value is: a file or directory name, or a name from the state store. */
export type ValueKind = CompletionList | 'file' | 'dir';

/** How a value is completed: by any of its kinds, and its fixed choices; not at all when it has neither. */
export interface ValueSpec {
  kinds: ValueKind[];
  choices: string[];
}

export interface OptionSpec {
  /** `-o` and `--output`, as given. */
  flags: string[];
  /** Hidden options are not offered, but their value must still be skipped over. */
  hidden: boolean;
  /** Present when the option needs a value (the next word). */
  value?: ValueSpec;
}

export interface ArgumentSpec {
  name: string;
  /** The last argument may take every remaining word. */
  variadic: boolean;
  value: ValueSpec;
}

export interface CommandSpec {
  /** From the program's name down, e.g. ['ediv', 'cluster', 'up']. */
  path: string[];
  /** The name and the aliases. */
  names: string[];
  subcommands: CommandSpec[];
  options: OptionSpec[];
  args: ArgumentSpec[];
}

/**
 * Argument and option names → what their values are. `<scenario>` is a file (deploy, plan); a
 * deployed lab is `<scenario-name>` or `<lab>`.
 */
const KIND_BY_NAME: [RegExp, ValueKind][] = [
  [/^(scenario-name|lab|deployment)$/, 'lab'],
  [/^vms?$/, 'vm'],
  [/^hosts?$/, 'host'],
  [/^(seq|sequence)$/, 'seq'],
  [/^(dir|directory)$/, 'dir'],
  [/^(file|scenario|path)$|-file$/, 'file'],
];

/** An argument `<name>` names something that exists (a lab); an option `--name` gives a new name (`deploy --name`). */
const ARGUMENT_KIND_BY_NAME: [RegExp, ValueKind][] = [[/^name$/, 'lab'], ...KIND_BY_NAME];

/** The kinds of a name, whose alternatives are written `a|b` or `a-or-b` (`<scenario|lab>`, `[seq-or-command...]`). */
function kindsOfName(name: string, table = KIND_BY_NAME): ValueKind[] {
  const kinds = name.split(/\||-or-/).flatMap((alt) => table.find(([re]) => re.test(alt))?.[1] ?? []);
  return [...new Set(kinds)];
}

const valueSpec = (kinds: ValueKind[], choices: readonly string[] | undefined): ValueSpec => ({ kinds, choices: [...(choices ?? [])] });

/**
 * An option's value: by the option's name first (`--vm`, `--dir`), then by its placeholder, which
 * only tells files from directories (`--cluster <file>`, `--out <dir>`; `--interface <name>` is
 * not a lab).
 */
function optionValue(o: Option): ValueSpec {
  const byName = kindsOfName(o.long?.replace(/^--/, '') ?? '');
  const placeholder = kindsOfName(/[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1] ?? '').filter((k) => k === 'file' || k === 'dir');
  return valueSpec(byName.length ? byName : placeholder, o.argChoices);
}

function optionSpec(o: Option, hidden: boolean): OptionSpec {
  const flags = [o.short, o.long].filter((f): f is string => Boolean(f));
  // An optional value (`--watch [seconds]`) is not taken from the next word here: it may be an argument.
  return o.required ? { flags, hidden, value: optionValue(o) } : { flags, hidden };
}

function argumentSpec(a: Argument): ArgumentSpec {
  return { name: a.name(), variadic: a.variadic, value: valueSpec(kindsOfName(a.name(), ARGUMENT_KIND_BY_NAME), a.argChoices) };
}

/** The completion tree of `cmd` and its visible subcommands (commander's implicit `help` command left out). */
export function commandTree(cmd: Command, parentPath: string[] = []): CommandSpec {
  const help = cmd.createHelp();
  const path = [...parentPath, cmd.name()];
  const visible = new Set(help.visibleOptions(cmd));
  return {
    path,
    names: [cmd.name(), ...cmd.aliases()],
    subcommands: help
      .visibleCommands(cmd)
      .filter((c) => cmd.commands.includes(c))
      .map((c) => commandTree(c, path)),
    // visibleOptions adds the built-in --help; cmd.options has the hidden ones.
    options: [...new Set([...cmd.options, ...visible])].map((o) => optionSpec(o, !visible.has(o))),
    args: cmd.registeredArguments.map(argumentSpec),
  };
}
