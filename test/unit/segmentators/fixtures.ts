// Shared fixtures for the segmentator and plan tests: host sets, and seeded restriction sets
// that are satisfiable by construction (derived from a random reference placement).
import type { HostFacts, Mapping, SegmentInput } from '../../../src/segmentators/api.ts';
import type { Restrictions } from '../../../src/protocol/restrictions.ts';
import { noRestrictions } from '../../../src/protocol/restrictions.ts';
import type { Scenario } from '../../../src/scenario/model.ts';
import { mulberry32, randInt } from '../../../src/segmentators/prng.ts';
import { vmsByNet } from '../../../src/segmentators/problem.ts';

export function hosts(n: number, opts: { cpu?: number[]; maxVMs?: number[]; memMB?: number[] } = {}): HostFacts[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `h${i + 1}`,
    cpu: opts.cpu?.[i] ?? 100,
    maxVMs: opts.maxVMs?.[i],
    memMB: opts.memMB?.[i],
    labels: {},
  }));
}

/** VMs per host of a mapping. */
export function counts(m: Mapping): Record<string, number> {
  const c: Record<string, number> = {};
  for (const h of Object.values(m)) c[h] = (c[h] ?? 0) + 1;
  return c;
}

/** Nets whose VMs the mapping puts on more than one host. */
export function spanning(vms: { name: string; ifaces: { net: string }[] }[], m: Mapping): number {
  const by = new Map<string, Set<string>>();
  for (const vm of vms) for (const f of vm.ifaces) (by.get(f.net) ?? by.set(f.net, new Set()).get(f.net)!).add(m[vm.name]);
  return [...by.values()].filter((s) => s.size > 1).length;
}

export function input(scenario: Scenario, hs: HostFacts[], restrictions: Restrictions = noRestrictions()): SegmentInput {
  return { scenario, hosts: hs, restrictions };
}

/**
 * Restrictions of every kind, plus maxVMs on every host, all honoured by a random reference
 * placement — so a correct segmentator always finds a placement.
 */
export function satisfiableRestrictions(scenario: Scenario, hs: HostFacts[], seed: number): { restrictions: Restrictions; hosts: HostFacts[] } {
  const rng = mulberry32(seed);
  const vms = scenario.vms.map((v) => v.name);
  const k = hs.length;
  const ref = vms.map(() => randInt(rng, k));
  const byNet = vmsByNet(input(scenario, hs));
  const nets = [...byNet.keys()].filter((n) => byNet.get(n)!.length <= 6);
  const r = noRestrictions();
  r.source = 'generated-restrictions.xml';
  if (nets.length >= 3) {
    const pinned = nets[randInt(rng, nets.length)];
    const h = randInt(rng, k);
    for (const v of byNet.get(pinned)!) ref[v] = h;
    r.netDeployAt.push({ net: pinned, host: hs[h].name });
    const together = nets.filter((n) => n !== pinned && !byNet.get(n)!.some((v) => byNet.get(pinned)!.includes(v))).slice(0, 2);
    if (together.length === 2) {
      const h2 = randInt(rng, k);
      for (const n of together) for (const v of byNet.get(n)!) ref[v] = h2;
      r.netDeployTogether.push({ nets: together });
    }
  }
  const fixedByNets = new Set([...r.netDeployAt.map((x) => x.net), ...r.netDeployTogether.flatMap((x) => x.nets)].flatMap((n) => byNet.get(n)!));
  const free = vms.map((_v, i) => i).filter((i) => !fixedByNets.has(i));
  if (free.length > 4) {
    const a = free[randInt(rng, free.length)];
    r.vmDeployAt.push({ vm: vms[a], host: hs[ref[a]].name });
    const mates = vms.map((_v, i) => i).filter((i) => i !== a && ref[i] === ref[a]).slice(0, 2);
    if (mates.length) r.affinity.push({ vms: [vms[a], ...mates.map((i) => vms[i])] });
    const anti: number[] = [];
    for (let h = 0; h < Math.min(k, 3); h++) {
      const v = vms.findIndex((_n, i) => ref[i] === h && i !== a && !mates.includes(i));
      if (v >= 0) anti.push(v);
    }
    if (anti.length >= 2) r.antiAffinity.push({ vms: anti.map((i) => vms[i]) });
  }
  const count = hs.map((_h, i) => ref.filter((x) => x === i).length);
  const fair = Math.ceil(vms.length / k);
  return { restrictions: r, hosts: hs.map((h, i) => ({ ...h, maxVMs: Math.max(count[i], fair) + 1 })) };
}
