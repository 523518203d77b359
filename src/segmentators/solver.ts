// Complete search for a placement that honours every rule (pins, affinity groups,
// anti-affinity, capacity), and the explanation of an unsatisfiable rule set.
//
// Depth-first search over groups, most constrained first, hosts tried least-loaded first
// (so the first solution is also reasonably balanced), with forward checking: after each
// choice every unplaced anti-affine neighbour must still have a host, and the remaining VMs
// must fit in the remaining capacity.
import { InputError } from '../common/errors.ts';
import type { Mapping, SegmentInput } from './api.ts';
import { Placement, buildProblem, cpuWeights, describeRule, listed, rulesOf, structuralConflict, type Problem, type Rule } from './problem.ts';

export type SolveResult = { ok: true; placement: Placement } | { ok: false; gaveUp: boolean };

const NODE_LIMIT = 200_000;

export function solve(p: Problem, nodeLimit = NODE_LIMIT): SolveResult {
  const pl = new Placement(p);
  const G = p.groups.length;
  const H = p.hosts.length;
  if (G === 0) return { ok: true, placement: pl };
  if (H === 0) return { ok: false, gaveUp: false };
  const w = cpuWeights(p.hosts);
  const order = [...p.groups.keys()].sort((a, b) => {
    const ga = p.groups[a];
    const gb = p.groups[b];
    return (
      Number(gb.pin !== -1) - Number(ga.pin !== -1) ||
      p.apart[b].length - p.apart[a].length ||
      gb.size - ga.size ||
      gb.memMB - ga.memMB ||
      ga.vms[0] - gb.vms[0]
    );
  });
  // remaining[i]: VMs in order[i..]
  const remaining = new Array<number>(G + 1).fill(0);
  for (let i = G - 1; i >= 0; i--) remaining[i] = remaining[i + 1] + p.groups[order[i]].size;

  const hasSomeHost = (g: number): boolean => {
    for (let h = 0; h < H; h++) if (pl.canPlace(g, h)) return true;
    return false;
  };
  const freeCapacity = (): number => {
    let free = 0;
    for (let h = 0; h < H; h++) free += p.maxVMs[h] - pl.count[h];
    return free;
  };
  const candidates = (g: number): number[] => {
    const hs: number[] = [];
    for (let h = 0; h < H; h++) if (pl.canPlace(g, h)) hs.push(h);
    const size = p.groups[g].size;
    return hs.sort((a, b) => (pl.count[a] + size) / w[a] - (pl.count[b] + size) / w[b] || a - b);
  };

  const cands: number[][] = [];
  const next: number[] = [];
  let depth = 0;
  let nodes = 0;
  cands[0] = candidates(order[0]);
  next[0] = 0;
  while (depth >= 0) {
    const g = order[depth];
    if (pl.hostOf[g] !== -1) pl.unplace(g);
    let advanced = false;
    while (next[depth] < cands[depth].length) {
      const h = cands[depth][next[depth]++];
      if (++nodes > nodeLimit) return { ok: false, gaveUp: true };
      pl.place(g, h);
      const fits = freeCapacity() >= remaining[depth + 1] && p.apart[g].every((o) => pl.hostOf[o] !== -1 || hasSomeHost(o));
      if (!fits) {
        pl.unplace(g);
        continue;
      }
      advanced = true;
      break;
    }
    if (!advanced) {
      depth--;
      continue;
    }
    if (depth === G - 1) return { ok: true, placement: pl };
    depth++;
    cands[depth] = candidates(order[depth]);
    next[depth] = 0;
  }
  return { ok: false, gaveUp: false };
}

/** 'sat', 'unsat' or 'unknown' (search gave up) with only the rules in `enabled`. */
function satisfiable(input: SegmentInput, enabled: Set<number>): 'sat' | 'unsat' | 'unknown' {
  const p = buildProblem(input, enabled);
  if (!p) return 'unsat';
  const r = solve(p);
  return r.ok ? 'sat' : r.gaveUp ? 'unknown' : 'unsat';
}

/** Rule sets up to this size are made minimal by the deletion filter (each step is a search). */
const MINIMISE_UP_TO = 300;
/** Rules named in one conflict message at most. */
const MAX_RULES_SHOWN = 20;

/**
 * A minimal set of rules that cannot hold together. A structural contradiction (pins, joins,
 * anti-affinity; see structuralConflict) is found directly, in near-linear time; otherwise the
 * deletion filter drops each rule in turn and keeps it dropped while the rest stays
 * unsatisfiable (for up to MINIMISE_UP_TO rules; beyond, every rule is returned).
 */
export function conflictingRules(input: SegmentInput): Rule[] {
  const rules = rulesOf(input);
  const candidates = structuralConflict(input) ?? [...rules.keys()];
  const enabled = new Set(candidates);
  if (candidates.length <= MINIMISE_UP_TO) {
    for (const i of candidates) {
      enabled.delete(i);
      if (satisfiable(input, enabled) !== 'unsat') enabled.add(i);
    }
  }
  return [...enabled].sort((a, b) => a - b).map((i) => rules[i]);
}

/** The InputError for an unsatisfiable input, naming the rules in conflict. */
export function conflictError(input: SegmentInput, gaveUp = false): InputError {
  const file = input.restrictions.source ?? '(restrictions)';
  if (input.hosts.length === 0) return new InputError({ loc: { file }, message: 'no active host to place VMs on' });
  if (gaveUp) {
    return new InputError({
      loc: { file },
      message: `no placement honouring every restriction was found within ${NODE_LIMIT} search steps; loosen the restrictions or capacity`,
    });
  }
  const rules = conflictingRules(input);
  const total = input.scenario.vms.length;
  const what = rules.length
    ? listed(rules.map(describeRule), MAX_RULES_SHOWN, '; ')
    : `the hosts' capacity cannot hold the scenario's ${total} VMs`;
  return new InputError({ loc: { file }, message: `restrictions cannot all be met; these rules conflict: ${what}` });
}

/** Solves the whole input or throws the InputError naming the conflicting rules. */
export function solveOrExplain(input: SegmentInput, p: Problem | null): Placement {
  if (!p) throw conflictError(input);
  const r = solve(p);
  if (r.ok) return r.placement;
  throw conflictError(input, r.gaveUp);
}

export function solvedMapping(input: SegmentInput, p: Problem | null): Mapping {
  return solveOrExplain(input, p).mapping();
}
