// Command sequences: VNX `<cmd-seq seq="a">b,c</cmd-seq>` makes `a` run `b` then `c`. The table
// is a Map, so a sequence named `constructor` or `__proto__` is just a name.
import { InputError, type SourceLocation } from '../common/errors.ts';
import { escaped } from './quote.ts';

export type CmdSeqs = Map<string, string[]>;

/**
 * The sequences an exec or filetree belongs to: its `seq` may list several, comma-separated
 * (`seq="step44,discover-hosts"`), as VNX reads it.
 */
export function seqNames(seq: string): string[] {
  return seq
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Whether an exec or filetree runs in sequence `name`. */
export function inSeq(x: { seq: string }, name: string): boolean {
  return seqNames(x.seq).includes(name);
}

/**
 * The leaf sequences `seq` stands for, in order: itself when no cmd-seq has that name, else the
 * expansion of each member. A sequence reached twice by different paths runs twice (as in VNX);
 * a cycle is an error.
 */
export function expandSeq(seq: string, cmdSeqs: CmdSeqs, where: SourceLocation = { file: 'scenario' }, trail: string[] = []): string[] {
  if (trail.includes(seq)) throw new InputError({ loc: where, message: `cmd-seq cycle: ${[...trail, seq].map((q) => escaped(q)).join(' -> ')}` });
  const parts = cmdSeqs.get(seq);
  if (!parts) return [seq];
  return parts.flatMap((p) => expandSeq(p.trim(), cmdSeqs, where, [...trail, seq]));
}

/** Several tables as one; a later table's definition of a name wins. */
export function mergeCmdSeqs(...tables: (CmdSeqs | undefined)[]): CmdSeqs {
  const out: CmdSeqs = new Map();
  for (const t of tables) for (const [k, v] of t ?? []) out.set(k, v);
  return out;
}
