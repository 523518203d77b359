// Seeded generator of lab-shaped scenarios, shared by the plan tests and benchmarks.
//
// Shapes (n = number of VMs, approximately honoured exactly: every shape returns n VMs):
//   ring    routers in a ring of point-to-point nets
//   stars   hub routers on a backbone chain, each hub with a LAN of 8–30 end hosts
//   tiered  core ring → distribution routers (dual-homed) → access LANs of end hosts
//   mesh    random geometric mesh: routers in the unit square linked to ~3 nearest neighbours
//   mixed   a campus: one third each of tiered, stars and mesh, joined by a few links
//   sites   S sites (GenerateOptions.sites, default 8), each one LAN joining its gateway and
//           its other VMs (n/S VMs per site, the first n mod S sites one more), the gateways
//           in a ring of point-to-point nets; its optimum is known (sitesOptimum)
import type { Net, Scenario, Vm } from '../../src/scenario/model.ts';
import { mulberry32, randInt, type Rng } from '../../src/segmentators/prng.ts';

export const SHAPES = ['ring', 'stars', 'tiered', 'mesh', 'mixed', 'sites'] as const;
export type Shape = (typeof SHAPES)[number];

const noExtra = () => ({ attrs: {}, children: [] });

/** Builds a scenario from `vm name → nets it attaches to` (in order), VNX 2.0 dialect. */
export function scenarioFromSpec(name: string, spec: Record<string, string[]>, opts: { memMB?: Record<string, number> } = {}): Scenario {
  const netNames: string[] = [];
  const seen = new Set<string>();
  const vms: Vm[] = Object.entries(spec).map(([vm, nets]) => {
    for (const n of nets) if (!seen.has(n)) (seen.add(n), netNames.push(n));
    return {
      name: vm,
      type: 'lxc',
      memMB: opts.memMB?.[vm],
      ifaces: nets.map((net, i) => ({ id: i + 1, net, ipv4: [], ipv6: [], extra: noExtra() })),
      routes: [],
      execs: [],
      filetrees: [],
      extra: noExtra(),
    };
  });
  const nets: Net[] = netNames.map((n) => ({ name: n, mode: 'virtual_bridge', extra: noExtra() }));
  return {
    name,
    global: { version: '2.0', extra: noExtra() },
    nets,
    vms,
    cmdSeqs: new Map(),
    source: { format: 'vnx', path: `${name}.xml`, version: '2.0' },
    extra: noExtra(),
  };
}

/** Accumulates VMs and nets while a shape is built. */
class Builder {
  spec: Record<string, string[]> = {};
  count = 0;
  private nets = 0;
  readonly prefix: string;
  constructor(prefix: string) {
    this.prefix = prefix;
  }
  vm(): string {
    const name = `${this.prefix}v${++this.count}`;
    this.spec[name] = [];
    return name;
  }
  net(vms: string[]): string {
    const name = `${this.prefix}n${++this.nets}`;
    for (const v of vms) this.spec[v].push(name);
    return name;
  }
}

function ring(b: Builder, n: number): string[] {
  const r = Array.from({ length: n }, () => b.vm());
  if (n > 1) for (let i = 0; i < n; i++) if (n > 2 || i === 0) b.net([r[i], r[(i + 1) % n]]);
  return r;
}

function stars(b: Builder, n: number, rng: Rng): string[] {
  const hubs: string[] = [];
  let left = n;
  while (left > 0) {
    const hub = b.vm();
    left--;
    if (hubs.length) b.net([hubs[hubs.length - 1], hub]);
    hubs.push(hub);
    const size = Math.min(left, 8 + randInt(rng, 23));
    const lan = [hub];
    for (let i = 0; i < size; i++) lan.push(b.vm());
    left -= size;
    if (lan.length > 1) b.net(lan);
  }
  return hubs;
}

function tiered(b: Builder, n: number, rng: Rng): string[] {
  const cores = Math.max(1, Math.min(8, Math.round(n / 200)));
  const core = ring(b, cores);
  let left = n - cores;
  let d = 0;
  while (left > 0) {
    const dist = b.vm();
    left--;
    const c = d++ % cores;
    b.net([core[c], dist]);
    if (cores > 1 && rng() < 0.5) b.net([core[(c + 1) % cores], dist]); // dual-homed
    for (let lans = 1 + randInt(rng, 3); lans > 0 && left > 0; lans--) {
      const size = Math.min(left, 4 + randInt(rng, 13));
      const lan = [dist];
      for (let i = 0; i < size; i++) lan.push(b.vm());
      left -= size;
      b.net(lan);
    }
  }
  return core;
}

function mesh(b: Builder, n: number, rng: Rng): string[] {
  const vms = Array.from({ length: n }, () => b.vm());
  const x = vms.map(() => rng());
  const y = vms.map(() => rng());
  const cells = Math.max(1, Math.floor(Math.sqrt(n / 4)));
  const grid = new Map<number, number[]>();
  const cellOf = (i: number) => Math.min(cells - 1, Math.floor(x[i] * cells)) * cells + Math.min(cells - 1, Math.floor(y[i] * cells));
  vms.forEach((_v, i) => {
    const c = cellOf(i);
    const list = grid.get(c) ?? [];
    list.push(i);
    grid.set(c, list);
  });
  const linked = new Set<string>();
  for (let i = 0; i < n; i++) {
    const cx = Math.min(cells - 1, Math.floor(x[i] * cells));
    const cy = Math.min(cells - 1, Math.floor(y[i] * cells));
    const near: { j: number; d: number }[] = [];
    for (let dx = -1; dx <= 1; dx++)
      for (let dy = -1; dy <= 1; dy++) {
        const gx = cx + dx;
        const gy = cy + dy;
        if (gx < 0 || gy < 0 || gx >= cells || gy >= cells) continue;
        for (const j of grid.get(gx * cells + gy) ?? []) if (j !== i) near.push({ j, d: (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2 });
      }
    near.sort((a, c) => a.d - c.d || a.j - c.j);
    for (const { j } of near.slice(0, 3)) {
      const key = i < j ? `${i}:${j}` : `${j}:${i}`;
      if (linked.has(key)) continue;
      linked.add(key);
      b.net([vms[i], vms[j]]);
    }
  }
  return vms.slice(0, 3);
}

/** Default number of sites of the `sites` shape. */
export const SITES = 8;

function sites(b: Builder, n: number, count: number): string[] {
  const s = Math.max(1, Math.min(count, n));
  const gateways = ring(b, s);
  gateways.forEach((gw, i) => {
    const size = Math.floor(n / s) + (i < n % s ? 1 : 0);
    const lan = [gw];
    while (lan.length < size) lan.push(b.vm());
    if (lan.length > 1) b.net(lan);
  });
  return gateways;
}

/**
 * The fewest nets spanning hosts for the `sites` shape of `sites` sites of `perSite` VMs over
 * `hosts` equal hosts of at most `maxLoad` VMs each — when a known placement reaches the lower
 * bound below; undefined otherwise.
 *
 * Lower bound, for gateways on g hosts: the ring is cut at least g times (never for g = 1, once
 * for a ring of 2), plus the LANs split: the hosts without a gateway hold ≥ n − g·maxLoad VMs,
 * all from split LANs (perSite − 1 each); and a whole LAN lies on a gateway host with the
 * gateways of the split ones, so at most ⌊(g·maxLoad − sites) / (perSite − 1)⌋ are whole.
 * Placements: `sites/hosts` consecutive whole sites per host (the ring cut `hosts` times), if
 * they fit; or every gateway on one host with as many whole sites as fit there, the other
 * LANs' VMs spread over the other hosts (only those LANs span).
 */
export function sitesOptimum(sites: number, perSite: number, hosts: number, maxLoad: number): number | undefined {
  if (hosts < 2) return 0;
  if (perSite < 2 || sites < 2 || sites * perSite > hosts * maxLoad) return undefined;
  const n = sites * perSite;
  const ringCut = (g: number) => (g < 2 ? 0 : sites === 2 ? 1 : g);
  let lower = Infinity;
  for (let g = 1; g <= Math.min(sites, hosts); g++) {
    const byFill = Math.ceil((n - g * maxLoad) / (perSite - 1));
    const byWhole = sites - Math.floor((g * maxLoad - sites) / (perSite - 1));
    lower = Math.min(lower, ringCut(g) + Math.max(0, byFill, byWhole));
  }
  const arcs = hosts <= sites && Math.ceil(sites / hosts) * perSite <= maxLoad ? ringCut(hosts) : Infinity;
  const gathered = sites - Math.max(0, Math.min(sites, Math.floor((maxLoad - sites) / (perSite - 1))));
  const upper = Math.min(arcs, gathered);
  return upper === lower ? upper : undefined;
}

function build(b: Builder, shape: Shape, n: number, rng: Rng, siteCount: number): string[] {
  switch (shape) {
    case 'ring':
      return ring(b, n);
    case 'stars':
      return stars(b, n, rng);
    case 'tiered':
      return tiered(b, n, rng);
    case 'mesh':
      return mesh(b, n, rng);
    case 'mixed': {
      const a = Math.floor(n / 3);
      const parts = [tiered(b, a, rng), stars(b, a, rng), mesh(b, n - 2 * a, rng)];
      for (let i = 0; i < parts.length; i++) {
        const next = parts[(i + 1) % parts.length];
        if (parts[i][0] && next[0]) b.net([parts[i][0], next[0]]);
      }
      return parts[0];
    }
    case 'sites':
      return sites(b, n, siteCount);
  }
}

export interface GenerateOptions {
  shape: Shape;
  vms: number;
  seed?: number;
  /** Sites of the `sites` shape (default SITES). */
  sites?: number;
  /** Memory per VM in MB (unset: no memory figures). */
  memMB?: number;
}

/** A generated scenario named `<shape>-<n>` with exactly `vms` VMs. */
export function generateScenario(o: GenerateOptions): Scenario {
  const rng = mulberry32(o.seed ?? 1);
  const b = new Builder('');
  build(b, o.shape, o.vms, rng, o.sites ?? SITES);
  const memMB = o.memMB ? Object.fromEntries(Object.keys(b.spec).map((v) => [v, o.memMB!])) : undefined;
  return scenarioFromSpec(`${o.shape}-${o.vms}`, b.spec, { memMB });
}
