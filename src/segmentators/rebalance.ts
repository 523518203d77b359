// Rebalancing a running lab from live figures (issue 17): which VMs to move so that no host's
// lab VMs use more than `maxLoad` of its CPUs. Pure and deterministic; the built-in answer to
// the Segmentator API's `rebalance` hook (api.ts), which plugins may implement themselves.
//
// VMs move as the groups the restrictions make (problem.ts: affinity, net_deploy_together and
// pins keep VMs together; a pinned group never moves), and only to hosts where capacity, memory
// and anti-affinity still hold (Placement.canPlace). While a host is above the threshold, its
// busiest movable group goes to the host that takes it without going above: first the one where
// the move makes the fewest nets span hosts (each spanning net is a backplane link), then the
// least loaded, then cluster-file order. A host whose groups fit nowhere stays above, reported.
import { InputError } from '../common/errors.ts';
import type { Move, RebalanceInput, RebalancePlan } from './api.ts';
import { Placement, buildProblem, vmsByNet } from './problem.ts';

export function rebalanceByLoad(input: RebalanceInput): RebalancePlan {
  const p = buildProblem(input);
  if (!p) throw new InputError({ loc: { file: input.restrictions.source ?? 'restrictions' }, message: 'the restrictions contradict each other: no placement keeps them all' });
  const hostIndex = new Map(p.hosts.map((h, i) => [h.name, i]));
  const cpus = p.hosts.map((h) => (h.cpus && h.cpus > 0 ? h.cpus : 1));
  const pl = new Placement(p);
  for (let g = 0; g < p.groups.length; g++) {
    const vm = p.vmNames[p.groups[g]!.vms[0]!]!;
    const h = hostIndex.get(input.current[vm] ?? '');
    if (h === undefined) throw new InputError({ loc: { file: 'current mapping' }, message: `VM ${vm} runs on no host of the cluster (${input.current[vm] ?? 'none'})` });
    pl.place(g, h);
  }
  const groupCpu = p.groups.map((grp) => grp.vms.reduce((sum, v) => sum + Math.max(0, input.vmCpu[p.vmNames[v]!] ?? 0), 0) / 100);
  const load = p.hosts.map(() => 0);
  for (let g = 0; g < p.groups.length; g++) load[pl.hostOf[g]!] += groupCpu[g]! / cpus[pl.hostOf[g]!]!;
  const before = [...load];

  // Per group, the nets its VMs are on; per net, its VMs' groups.
  const netGroups = [...vmsByNet(input).values()].map((vms) => [...new Set(vms.map((v) => p.groupOf[v]!))]);
  const netsOf = p.groups.map(() => [] as number[]);
  netGroups.forEach((gs, n) => gs.forEach((g) => netsOf[g]!.push(n)));
  /** How many more nets span hosts with group g on host t instead of where it is. */
  const spanDelta = (g: number, t: number): number => {
    let delta = 0;
    for (const n of netsOf[g]!) {
      const hostsOf = (on: (x: number) => number) => new Set(netGroups[n]!.map(on)).size > 1;
      const was = hostsOf((x) => pl.hostOf[x]!);
      const will = hostsOf((x) => (x === g ? t : pl.hostOf[x]!));
      delta += Number(will) - Number(was);
    }
    return delta;
  };

  const movedFrom = new Map<number, number>();
  const stuck = new Set<number>();
  for (let step = 0; step < p.groups.length * p.hosts.length; step++) {
    const over = p.hosts.map((_, h) => h).filter((h) => load[h]! > input.maxLoad + 1e-9 && !stuck.has(h)).sort((a, b) => load[b]! - load[a]! || a - b);
    const h = over[0];
    if (h === undefined) break;
    const movable = p.groups
      .map((_, g) => g)
      .filter((g) => pl.hostOf[g] === h && p.groups[g]!.pin === -1 && groupCpu[g]! > 0)
      .sort((a, b) => groupCpu[b]! - groupCpu[a]! || a - b);
    let done = false;
    for (const g of movable) {
      const targets = p.hosts
        .map((_, t) => t)
        .filter((t) => t !== h && pl.canPlace(g, t) && load[t]! + groupCpu[g]! / cpus[t]! <= input.maxLoad + 1e-9)
        .map((t) => ({ t, span: spanDelta(g, t), after: load[t]! + groupCpu[g]! / cpus[t]! }))
        .sort((a, b) => a.span - b.span || a.after - b.after || a.t - b.t);
      const best = targets[0];
      if (!best) continue;
      if (!movedFrom.has(g)) movedFrom.set(g, h);
      pl.unplace(g);
      pl.place(g, best.t);
      load[h] -= groupCpu[g]! / cpus[h]!;
      load[best.t] = best.after;
      done = true;
      break;
    }
    if (!done) stuck.add(h);
  }

  const moves: Move[] = [];
  for (const [g, from] of movedFrom) {
    const to = pl.hostOf[g]!;
    if (to === from) continue;
    for (const v of p.groups[g]!.vms) moves.push({ vm: p.vmNames[v]!, from: p.hosts[from]!.name, to: p.hosts[to]!.name });
  }
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    moves,
    loads: p.hosts.map((host, i) => ({ host: host.name, before: round(before[i]!), after: round(load[i]!) })),
    over: p.hosts.filter((_, i) => load[i]! > input.maxLoad + 1e-9).map((x) => x.name),
  };
}
