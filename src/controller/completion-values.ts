// Names for shell completion (`ediv completion --list`): the deployed labs, their VMs and hosts,
// and the exec sequences their plans define. Read from the local state store only: a TAB must be
// quick and must never reach a host.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Plan } from '../protocol/plan.ts';
import { seqNames } from '../scenario/sequences.ts';
import type { StateStore } from '../state/store.ts';
import { STATE_FILE } from '../state/sqlite.ts';
import { openStateStore } from '../state/open.ts';

/** What can be listed; the completion scripts use the same words for the kinds of values. */
export const COMPLETION_LISTS = ['lab', 'vm', 'host', 'seq'] as const;
export type CompletionList = (typeof COMPLETION_LISTS)[number];

/** Sequences `ediv exec` accepts for a plan: those of the VMs' execs and filetrees, and the cmd-seqs. */
export function planSeqNames(plan: Plan): string[] {
  const all = new Set<string>();
  for (const hp of Object.values(plan.hosts)) {
    for (const vm of hp.fragment?.vms ?? []) for (const x of [...vm.execs, ...vm.filetrees]) for (const q of seqNames(x.seq)) all.add(q);
    for (const s of hp.fragment?.cmdSeqs.keys() ?? []) all.add(s);
  }
  return [...all];
}

async function namesIn(store: StateStore, list: Exclude<CompletionList, 'lab'>, lab: string): Promise<string[]> {
  switch (list) {
    case 'vm':
      return (await store.vms(lab)).map((v) => v.vm);
    case 'host':
      return (await store.hosts(lab)).map((h) => h.host);
    case 'seq':
      return planSeqNames(await store.plan(lab));
  }
}

/**
 * The values of `list`, sorted and unique: every lab; or the VMs, hosts or sequences of `lab`
 * (of every lab when `lab` is not given; none when it is not recorded). Empty when there is no
 * store in `stateDir`, which is then not created.
 */
export async function completionValues(stateDir: string, list: CompletionList, lab?: string): Promise<string[]> {
  if (!existsSync(path.join(stateDir, STATE_FILE))) return [];
  const store = await openStateStore({ kind: 'sqlite', dir: stateDir }, { busyTimeoutMs: 200 });
  try {
    const recorded = (await store.listScenarios()).map((r) => r.name);
    if (list === 'lab') return [...new Set(recorded)].sort();
    const labs = lab === undefined ? recorded : recorded.filter((r) => r === lab);
    const names: string[] = [];
    for (const l of labs) names.push(...(await namesIn(store, list, l)));
    return [...new Set(names)].sort();
  } finally {
    await store.close();
  }
}
