// The placement loop shared by the list-scheduling segmentators (round-robin, weighted,
// dynamic): restrictions first (pinned groups), then every other group in document order,
// each to the host the strategy prefers among those where it fits. When a group fits
// nowhere (anti-affinity or capacity painted the greedy loop into a corner) the complete
// search takes over, so restrictions hold with every segmentator.
import type { Mapping, SegmentInput } from './api.ts';
import { Placement, buildProblem, checkRestrictionNames, checkRestrictionSize, type Problem } from './problem.ts';
import { solveOrExplain } from './solver.ts';

/** Picks one of `feasible` (non-empty, ascending host indices) for group g. */
export type HostChooser = (g: number, feasible: number[], pl: Placement) => number;

/** Checks names and builds the problem, or throws the InputError naming the conflict. */
export function prepare(input: SegmentInput): Problem {
  checkRestrictionNames(input);
  checkRestrictionSize(input);
  const p = buildProblem(input);
  if (!p) solveOrExplain(input, p); // throws, naming the conflicting rules
  return p!;
}

export function placeGreedy(input: SegmentInput, makeChooser: (p: Problem) => HostChooser): Mapping {
  const p = prepare(input);
  const choose = makeChooser(p);
  const pl = new Placement(p);
  const order = [...p.groups.keys()];
  // Pinned groups first (document order among them), then the rest in document order.
  order.sort((a, b) => Number(p.groups[b].pin !== -1) - Number(p.groups[a].pin !== -1) || a - b);
  const H = p.hosts.length;
  for (const g of order) {
    const feasible: number[] = [];
    for (let h = 0; h < H; h++) if (pl.canPlace(g, h)) feasible.push(h);
    if (feasible.length === 0) return solveOrExplain(input, p).mapping();
    pl.place(g, feasible.length === 1 ? feasible[0] : choose(g, feasible, pl));
  }
  return pl.mapping();
}

/**
 * Proportional list scheduling (Sainte-Laguë / Webster): the next group goes to the host
 * with the smallest (load + size/2) / weight, ties to the earlier host. With equal weights
 * and single VMs this is plain round-robin; with unequal weights every host's share ends
 * within one VM of its exact proportional share, without bias towards big or small hosts.
 */
export function proportionalChooser(p: Problem, weights: number[]): HostChooser {
  return (g, feasible, pl) => {
    const half = p.groups[g].size / 2;
    let best = feasible[0];
    let bestScore = Infinity;
    for (const h of feasible) {
      const score = (pl.count[h] + half) / weights[h];
      if (score < bestScore - 1e-12) {
        bestScore = score;
        best = h;
      }
    }
    return best;
  };
}
