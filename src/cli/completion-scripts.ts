// The text of `ediv completion bash|zsh`: tables generated from the command tree, then the
// shell's completion logic (completion.bash / completion.zsh beside this file). The tables
// are made when the script is printed, so the script knows the commands of the ediv that
// printed it; the state store's names are fetched at each TAB through the lister.
import { readFileSync } from 'node:fs';
import type { CommandSpec, ValueSpec } from './completion-tree.ts';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** How the script asks ediv for names: `<ediv> ...list KIND [labOption LAB] [stateOption DIR]`. */
export interface Lister {
  /** The words before the kind, e.g. ['completion', '--list']. */
  list: string[];
  labOption: string;
  /** Also the option of the commands whose value the script passes on (the state directory). */
  stateOption: string;
}

type Table = Map<string, string>;

interface Tables {
  cmds: Table;
  opts: Table;
  optargs: Table;
  args: Table;
}

/**
 * A value as the shell code reads it: its kinds (file, dir, lab, vm, host, seq) and its choices
 * written =CHOICE, space-separated; `none` when it is not completed (a choice that holds a space
 * could not be one word of the list, and is left out).
 */
function encode(v: ValueSpec): string {
  const choices = v.choices.filter((c) => c !== '' && !/\s/.test(c)).map((c) => `=${c}`);
  return [...v.kinds, ...choices].join(' ') || 'none';
}

/** The four tables, keyed by command path ("ediv cluster up"); an alias gets its own copy. */
function tables(root: CommandSpec): Tables {
  const t: Tables = { cmds: new Map(), opts: new Map(), optargs: new Map(), args: new Map() };
  const visit = (cmd: CommandSpec, key: string): void => {
    t.cmds.set(key, cmd.subcommands.flatMap((s) => s.names).join(' '));
    t.opts.set(key, cmd.options.filter((o) => !o.hidden).flatMap((o) => o.flags).join(' '));
    for (const o of cmd.options) for (const f of o.flags) if (o.value) t.optargs.set(`${key} ${f}`, encode(o.value));
    cmd.args.forEach((a, i) => t.args.set(`${key} ${a.variadic ? '...' : i}`, encode(a.value)));
    for (const sub of cmd.subcommands) for (const name of sub.names) visit(sub, `${key} ${name}`);
  };
  visit(root, root.path.join(' '));
  return t;
}

/** Single-quoted for bash and zsh alike. */
function q(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function assoc(shell: Shell, name: string, table: Table): string {
  const rows = [...table].map(([k, v]) => (shell === 'bash' ? `  [${q(k)}]=${q(v)}` : `  ${q(k)} ${q(v)}`));
  const body = `(\n${rows.join('\n')}\n)`;
  return shell === 'bash' ? `declare -gA ${name}=${body}` : `typeset -gA ${name}\n${name}=${body}`;
}

const logic = (shell: Shell): string => readFileSync(new URL(`./completion.${shell}`, import.meta.url), 'utf8');

/** The whole completion script for `shell`. */
export function completionScript(shell: Shell, root: CommandSpec, lister: Lister): string {
  const name = root.path[0]!;
  const t = tables(root);
  const head = [
    ...(shell === 'zsh' ? [`#compdef ${name}`] : []),
    `# ${shell} completion for ${name}, printed by \`${name} completion ${shell}\` (see \`${name} completion --help\`).`,
    `# Print it again after upgrading ${name}: the tables below are its commands and options.`,
    '',
    `_ediv_root=${q(name)}`,
    `_ediv_list=(${lister.list.map(q).join(' ')})`,
    `_ediv_lab_option=${q(lister.labOption)}`,
    `_ediv_state_option=${q(lister.stateOption)}`,
    assoc(shell, '_ediv_cmds', t.cmds),
    assoc(shell, '_ediv_opts', t.opts),
    assoc(shell, '_ediv_optargs', t.optargs),
    assoc(shell, '_ediv_args', t.args),
    '',
  ];
  return head.join('\n') + logic(shell);
}
