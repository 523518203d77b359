// mincut: places VMs so that as few nets as possible span hosts (each spanning net costs a
// backplane id and trunk traffic), under a balance bound (default ≤ 5 % over each host's
// cpu-proportional share) and the hosts' capacity, honouring every restriction.
//
// The scenario is a hypergraph: vertices are the restriction groups (single VMs unless
// affinity / net_deploy_together / pins join them; pinned groups are fixed vertices), nets
// are hyperedges. partition.ts cuts it into one part per host (multilevel, seeded, so the
// result is deterministic). Anti-affinity is checked on every move at the
// finest level; whatever the partition still violates is repaired group by group, and the
// complete search (solver.ts) is the last resort.
import type { Mapping, SegmentInput, Segmentator } from './api.ts';
import { prepare } from './greedy.ts';
import { buildHypergraph, partition } from './partition.ts';
import { Placement, cpuWeights, vmsByNet, type Problem } from './problem.ts';
import { solveOrExplain } from './solver.ts';
import { netIfaces } from '../scenario/reserved-nets.ts';

export interface MincutOptions {
  /** Allowed load over each host's share, as a fraction (0.05 = 5 %). */
  imbalance?: number;
  seed?: number;
}

export const DEFAULT_IMBALANCE = 0.05;
const DEFAULT_SEED = 0x5eed;

/** Per-host target load and bound: the cpu-proportional share, + imbalance, capped by maxVMs. */
export function loadBounds(p: Problem, total: number, imbalance: number): { target: number[]; maxLoad: number[] } {
  const w = cpuWeights(p.hosts);
  const sum = w.reduce((a, b) => a + b, 0);
  const target = w.map((x) => (total * x) / sum);
  const maxLoad = target.map((t, h) => Math.min(p.maxVMs[h], Math.max(Math.ceil(t), Math.floor(t * (1 + imbalance)))));
  return { target, maxLoad };
}

export function mincutMapping(input: SegmentInput, opts: MincutOptions = {}): Mapping {
  const p = prepare(input);
  const G = p.groups.length;
  const H = p.hosts.length;
  if (H === 0) return solveOrExplain(input, p).mapping();
  const vw = Int32Array.from(p.groups, (g) => g.size);
  const nets: number[][] = [];
  for (const vms of vmsByNet(input).values()) {
    const gs = [...new Set(vms.map((v) => p.groupOf[v]))];
    if (gs.length > 1) nets.push(gs);
  }
  const h = buildHypergraph(G, vw, nets);
  const fixed = Int32Array.from(p.groups, (g) => g.pin);
  const noMerge = Uint8Array.from(p.apart, (a) => (a.length > 0 ? 1 : 0));
  const { target, maxLoad } = loadBounds(p, input.scenario.vms.length, opts.imbalance ?? DEFAULT_IMBALANCE);
  // Anti-affinity is checked on every move at the finest level; memory in the repair step.
  const allowed = (v: number, to: number, part: Int32Array): boolean => {
    for (const o of p.apart[v]) if (part[o] === to) return false;
    return true;
  };
  const part = partition(h, {
    k: H,
    maxLoad,
    target,
    fixed,
    noMerge,
    allowed: p.apart.some((a) => a.length) ? allowed : undefined,
    seed: opts.seed ?? DEFAULT_SEED,
  });
  return repair(input, p, part).mapping();
}

/**
 * Turns a partition into a placement that honours every rule: groups are placed where the
 * partition put them unless that breaks capacity, memory or anti-affinity; those are moved
 * to the feasible host sharing most nets with them (then least loaded).
 */
function repair(input: SegmentInput, p: Problem, part: Int32Array): Placement {
  const pl = new Placement(p);
  const displaced: number[] = [];
  for (let g = 0; g < p.groups.length; g++) {
    if (pl.canPlace(g, part[g])) pl.place(g, part[g]);
    else displaced.push(g);
  }
  if (displaced.length === 0) return pl;
  const netsOfGroup = new Map<number, string[]>();
  input.scenario.vms.forEach((vm, v) => {
    const g = p.groupOf[v];
    const list = netsOfGroup.get(g) ?? [];
    for (const i of netIfaces(vm)) list.push(i.net);
    netsOfGroup.set(g, list);
  });
  const hostNets = p.hosts.map(() => new Set<string>());
  for (let g = 0; g < p.groups.length; g++) {
    if (pl.hostOf[g] !== -1) for (const n of netsOfGroup.get(g) ?? []) hostNets[pl.hostOf[g]].add(n);
  }
  for (const g of displaced) {
    let best = -1;
    let bestShared = -1;
    for (let h = 0; h < p.hosts.length; h++) {
      if (!pl.canPlace(g, h)) continue;
      const shared = (netsOfGroup.get(g) ?? []).filter((n) => hostNets[h].has(n)).length;
      if (shared > bestShared || (shared === bestShared && pl.count[h] < pl.count[best])) {
        best = h;
        bestShared = shared;
      }
    }
    if (best === -1) return solveOrExplain(input, p);
    pl.place(g, best);
    for (const n of netsOfGroup.get(g) ?? []) hostNets[best].add(n);
  }
  return pl;
}

export function makeMincut(opts: MincutOptions = {}): Segmentator {
  const pct = Math.round((opts.imbalance ?? DEFAULT_IMBALANCE) * 100);
  return {
    name: 'mincut',
    description: `fewest nets spanning hosts (multilevel hypergraph partitioning), ≤ ${pct} % imbalance, capacity and restrictions honoured`,
    segment: (input) => mincutMapping(input, opts),
  };
}

export const mincut = makeMincut();
