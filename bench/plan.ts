// Plan benchmarks: `npx node bench/plan.ts [--quick]`
//
// 1. Plan time (makePlan: segment + split + ids + fragment XML) on generated lab scenarios
//    of 1 000 … 10 000 VMs over 8 hosts, for round-robin and mincut; the time/(n log n)
//    column, normalised to the smallest size, shows the growth (flat = n log n).
// 2. mincut quality against METIS (gpmetis) on the same graphs, same part count and balance
//    (5 %, -ufactor=50): nets spanning hosts for both, their ratio, the optimum where it is
//    known (ring: one link per host; sites: sitesOptimum), and round-robin's cut for
//    contrast. See bench/lib/metis.ts for the graph expansion METIS is given.
import { generateScenario, SHAPES, SITES, sitesOptimum, type Shape } from './lib/generate.ts';
import { metisPartition } from './lib/metis.ts';
import { emulatedCluster } from '../src/emulated/layout.ts';
import { makePlan } from '../src/controller/plan.ts';
import { noRestrictions } from '../src/protocol/restrictions.ts';
import { prepare } from '../src/segmentators/greedy.ts';
import { DEFAULT_IMBALANCE, loadBounds, mincut } from '../src/segmentators/mincut.ts';
import { roundRobin } from '../src/segmentators/round-robin.ts';
import type { Mapping } from '../src/segmentators/api.ts';
import type { Scenario } from '../src/scenario/model.ts';

const quick = process.argv.includes('--quick');
const HOSTS = 8;
// vxlan VNIs: a range wide enough for round-robin's thousands of spanning nets.
const cluster = { ...emulatedCluster(HOSTS, '/nonexistent/ediv-bench'), ids: { first: 1, last: 16_777_215 } };

function table(rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map(String));
  const w = cells[0].map((_c, i) => Math.max(...cells.map((r) => r[i].length)));
  for (const r of cells) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
  console.log();
}

async function median(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

function spanning(s: Scenario, hostOf: (vm: number) => number | string): number {
  const by = new Map<string, Set<number | string>>();
  s.vms.forEach((vm, i) => {
    for (const f of vm.ifaces) {
      let set = by.get(f.net);
      if (!set) by.set(f.net, (set = new Set()));
      set.add(hostOf(i));
    }
  });
  let n = 0;
  for (const set of by.values()) if (set.size > 1) n++;
  return n;
}

function imbalanceOf(loads: number[], n: number): number {
  return Math.max(...loads) / (n / loads.length) - 1;
}

async function planTimes(): Promise<void> {
  console.log(`Plan time, shape "mixed", ${HOSTS} hosts (median of 5, after a warm-up):`);
  const sizes = quick ? [1000, 2500] : [1000, 2500, 5000, 10000];
  const rows: (string | number)[][] = [['VMs', 'nets', 'round-robin ms', 'mincut ms', 'mincut segment ms', 'mincut t/(n log n) vs 1000']];
  let base = 0;
  const scenarios = sizes.map((n) => generateScenario({ shape: 'mixed', vms: n, seed: 11 }));
  for (const s of scenarios) for (const seg of ['round-robin', 'mincut']) await makePlan({ scenario: s, cluster, segmentator: seg }); // warm-up (JIT)
  for (const s of scenarios) {
    const n = s.vms.length;
    const rr = await median(() => makePlan({ scenario: s, cluster, segmentator: 'round-robin' }), 5);
    const mc = await median(() => makePlan({ scenario: s, cluster, segmentator: 'mincut' }), 5);
    const hosts = cluster.hosts.map((h) => ({ name: h.name, cpu: h.cpu, labels: h.labels }));
    const seg = await median(async () => mincut.segment({ scenario: s, hosts, restrictions: noRestrictions() }), 5);
    const per = mc / (n * Math.log2(n));
    if (!base) base = per;
    rows.push([n, s.nets.length, rr.toFixed(0), mc.toFixed(0), seg.toFixed(0), (per / base).toFixed(2)]);
  }
  table(rows);
  console.log(`Plan time per shape at ${quick ? 2000 : 10000} VMs (mincut, full makePlan):`);
  const rows2: (string | number)[][] = [['shape', 'nets', 'ms']];
  for (const shape of SHAPES) {
    const s = generateScenario({ shape, vms: quick ? 2000 : 10000, seed: 11 });
    rows2.push([shape, s.nets.length, (await median(() => makePlan({ scenario: s, cluster, segmentator: 'mincut' }), 3)).toFixed(0)]);
  }
  table(rows2);
}

interface QualityCase {
  label: string;
  scenario: Scenario;
  hosts: number;
  /** Fewest spanning nets possible, where known. */
  optimum?: number;
}

/** The fewest spanning nets of s over k equal hosts, where known: a ring cut into arcs, or sitesOptimum. */
function optimumOf(shape: Shape, s: Scenario, k: number): number | undefined {
  const n = s.vms.length;
  if (shape === 'ring') return k;
  if (shape !== 'sites' || n % SITES !== 0) return undefined;
  const hosts = Array.from({ length: k }, (_, i) => ({ name: `h${i}`, cpu: 100, labels: {} }));
  const { maxLoad } = loadBounds(prepare({ scenario: s, hosts, restrictions: noRestrictions() }), n, DEFAULT_IMBALANCE);
  return sitesOptimum(SITES, n / SITES, k, Math.max(...maxLoad));
}

function qualityCases(): QualityCase[] {
  const cases: QualityCase[] = [];
  const add = (shape: Shape, n: number, k: number) => {
    const scenario = generateScenario({ shape, vms: n, seed: 7 });
    const label = shape === 'sites' ? `sites ${SITES}×${n / SITES}` : shape;
    cases.push({ label, scenario, hosts: k, optimum: optimumOf(shape, scenario, k) });
  };
  for (const shape of SHAPES) for (const n of quick ? [1000] : [1000, 10000]) for (const k of [4, 8]) add(shape, n, k);
  add('sites', 96, 4); // the small sites shape, which mincut already placed at the optimum
  return cases;
}

async function quality(): Promise<void> {
  console.log('Nets spanning hosts: mincut vs METIS (gpmetis -ufactor=50) vs the optimum (where known) vs round-robin, 5 % balance:');
  const rows: (string | number)[][] = [['shape', 'VMs', 'hosts', 'mincut', 'METIS', 'optimum', 'ratio', 'round-robin', 'mincut imb %', 'METIS imb %', 'mincut ms', 'METIS ms']];
  const ratios: number[] = [];
  let sumMc = 0;
  let sumMt = 0;
  let known = 0;
  let atOptimum = 0;
  for (const { label, scenario: s, hosts: k, optimum } of qualityCases()) {
    const n = s.vms.length;
    const hosts = Array.from({ length: k }, (_, i) => ({ name: `h${i}`, cpu: 100, labels: {} }));
    const inp = { scenario: s, hosts, restrictions: noRestrictions() };
    const t = performance.now();
    const m = mincut.segment(inp) as Mapping;
    const mcMs = performance.now() - t;
    const rr = roundRobin.segment(inp) as Mapping;
    const mc = spanning(s, (i) => m[s.vms[i].name]);
    const metis = await metisPartition(s, k, 0.05);
    const mt = spanning(s, (i) => metis.part[i]);
    const loadsMc = hosts.map((h) => Object.values(m).filter((x) => x === h.name).length);
    const loadsMt = hosts.map((_h, p) => metis.part.filter((x) => x === p).length);
    const ratio = mt === 0 ? (mc === 0 ? 1 : Infinity) : mc / mt;
    ratios.push(ratio);
    sumMc += mc;
    sumMt += mt;
    if (optimum !== undefined) {
      known++;
      if (mc === optimum) atOptimum++;
    }
    rows.push([
      label, n, k, mc, mt, optimum ?? '—', ratio.toFixed(3), spanning(s, (i) => rr[s.vms[i].name]),
      (imbalanceOf(loadsMc, n) * 100).toFixed(1), (imbalanceOf(loadsMt, n) * 100).toFixed(1), mcMs.toFixed(0), metis.ms.toFixed(0),
    ]);
  }
  table(rows);
  const geo = Math.exp(ratios.reduce((a, r) => a + Math.log(r), 0) / ratios.length);
  console.log(`cut ratio mincut/METIS: geometric mean ${geo.toFixed(3)}, total ${(sumMc / sumMt).toFixed(3)} (${sumMc} vs ${sumMt} spanning nets), worst ${Math.max(...ratios).toFixed(3)}`);
  console.log(`mincut at the optimum in ${atOptimum} of the ${known} cases where it is known`);
}

await planTimes();
await quality();
