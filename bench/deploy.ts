// Benchmark (issue 15): `ediv deploy` / `ediv undeploy` of the reference lab — the generator's
// `sites` shape (8 sites, one LAN each, the gateways in a ring; bench/lib/sites-lab.ts) — over a
// 4-host emulated cluster (instance 11, real sshd), with the mincut segmentator, for each driver
// (netns: bare network namespaces; container: each VM its own root, PID 1, cgroups) and each
// size, against two baselines measured in the same run:
//   - raw: the same mapping (computed in-process with the same segmentator and the lab's real
//     nets), made with hand-written iproute2 batches on every host in parallel, one
//     in-namespace spawn per VM (nsenter --net); its destroy is timed until everything is gone
//     (bench/deploy-baseline.ts);
//   - Mininet 2.3 building the same hosts on the same nets (bench/lib/mininet.ts).
// Before each timed step the machine is let settle (bench/lib/quiet.ts). Printed per driver: a
// table by size (ratios to raw and Mininet, controller overhead = deploy wall / slowest host's
// apply, ms per VM), the growth of the per-VM deploy time from the smallest size to the largest,
// the figures against the targets at the reference size (1 000 VMs, else the largest),
// and where the deploy's time went there.
//
//   npx node bench/deploy.ts [--scale 250,500,1000,2000 | --vms N] [--drivers netns,container]
//                            [--segmentator mincut] [--hosts 4] [--sites 8] [--no-mininet]
//                            [--settle-max 30]
//
// Everything made is removed at the end, on error and on SIGINT/SIGTERM, by exact name: the
// raw baseline's namespaces and links, the lab (`ediv undeploy --purge`), Mininet's namespace,
// the emulated cluster (clusterDown).
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { edivBin } from '../src/common/paths.ts';
import { loadCluster } from '../src/controller/cluster.ts';
import { makePlan } from '../src/controller/plan.ts';
import { clusterDown, clusterUp } from '../src/emulated/cluster.ts';
import { parseScenarioFile, writeScenario } from '../src/scenario/index.ts';
import { RAW_NS_PREFIX, rawApply, rawDestroy, rawPlan, type RawDestroyTimes, type RawHost, type RawPlan } from './deploy-baseline.ts';
import { mininetBuild, mininetMissing, scenarioTopology, type MininetTimes } from './lib/mininet.ts';
import { settle } from './lib/quiet.ts';
import { sitesLab } from './lib/sites-lab.ts';

const USAGE =
  'usage: npx node bench/deploy.ts [--scale 250,500,1000,2000 | --vms N] [--drivers netns,container]\n' +
  '         [--segmentator mincut] [--hosts 4] [--sites 8] [--no-mininet] [--settle-max 30]';
const DRIVERS_KNOWN = ['netns', 'container'];
const INSTANCE = 11;
const NAME = 'benchdep';
const MININET_NS = 'edivdm-mn';
const REFERENCE = 1000;
const TARGETS = { deploy: 1.3, undeploy: 1.5, mininet: 4, overhead: 1.1, growth: 1.2 };

function usageError(message: string): never {
  process.stderr.write(`bench/deploy: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function options() {
  let v;
  try {
    v = parseArgs({
      strict: true,
      allowPositionals: false,
      options: {
        scale: { type: 'string' },
        vms: { type: 'string' },
        drivers: { type: 'string', default: 'netns,container' },
        segmentator: { type: 'string', default: 'mincut' },
        hosts: { type: 'string', default: '4' },
        sites: { type: 'string', default: '8' },
        'no-mininet': { type: 'boolean', default: false },
        'settle-max': { type: 'string', default: '30' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    usageError((err as Error).message);
  }
  if (v.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const int = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) usageError(`--${name} ${text}: a whole number >= ${min} is needed`);
    return n;
  };
  if (v.vms !== undefined && v.scale !== undefined) usageError('give --vms N (one size) or --scale a,b,... (several), not both');
  const sites = int('sites', v.sites, 2);
  const sizeList = v.vms !== undefined ? [v.vms] : (v.scale ?? '250,500,1000,2000').split(',');
  const sizes = [...new Set(sizeList.map((s) => int(v.vms !== undefined ? 'vms' : 'scale', s.trim(), 2 * sites)))].sort((a, b) => a - b);
  const drivers = v.drivers.split(',').map((d) => d.trim());
  for (const d of drivers) if (!DRIVERS_KNOWN.includes(d)) usageError(`--drivers: unknown driver "${d}" (${DRIVERS_KNOWN.join(', ')})`);
  const settleMax = Number(v['settle-max']);
  if (!(settleMax >= 0)) usageError(`--settle-max ${v['settle-max']}: seconds >= 0 are needed`);
  return {
    sizes,
    drivers: [...new Set(drivers)],
    segmentator: v.segmentator,
    hosts: int('hosts', v.hosts, 1),
    sites,
    mininet: !v['no-mininet'],
    settleMaxMs: settleMax * 1000,
  };
}

const O = options();

// Interrupts: the first SIGINT/SIGTERM stops the run after the step in progress (forwarded to
// the child running it), then everything made is removed; later ones only say so.
const stop = new AbortController();
const children = new Set<ResultPromise>();
function track<T extends ResultPromise>(child: T): T {
  children.add(child);
  void child.finally(() => children.delete(child)).catch(() => {});
  return child;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stop.signal.aborted) {
      process.stderr.write(`${sig}: still removing what the benchmark made; please wait\n`);
      return;
    }
    process.stderr.write(`${sig}: stopping after the current step, then removing everything the benchmark made\n`);
    stop.abort();
    for (const c of children) c.kill('SIGINT');
  });
}
class Interrupted extends Error {}
function checkStop(): void {
  if (stop.signal.aborted) throw new Interrupted('interrupted');
}

const say = (line: string) => process.stderr.write(line + '\n');

/**
 * Waits for a quiet machine before timing `label`, then says what is being timed; false when
 * the machine never was quiet (a noisy figure).
 */
async function quiet(label: string, progress: string): Promise<boolean> {
  checkStop();
  const r = await settle({ maxMs: O.settleMaxMs, label, signal: stop.signal });
  checkStop();
  say(`  ${progress}... (${(r.waitedMs / 1000).toFixed(1)} s waiting for a quiet machine)`);
  return r.quiet;
}

/** MiB the machine has available now (what the VMs cost is the drop across a deploy). */
function memAvailableMB(): number {
  const kb = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** A copy of the cluster file whose hosts all use `driver`, over the vxlan backplane. */
function clusterWithDriver(clusterFile: string, driver: string, dir: string): string {
  const doc = YAML.parse(readFileSync(clusterFile, 'utf8')) as { driver?: string; backplane?: string; hosts: { driver?: string }[] };
  doc.driver = driver;
  doc.backplane = 'vxlan';
  for (const h of doc.hosts) h.driver = driver;
  const out = path.join(dir, `cluster-${driver}.yaml`);
  writeFileSync(out, YAML.stringify(doc));
  return out;
}

interface EdivRun {
  secs: number;
  json: any;
  stderr: string;
  code: number;
}

async function ediv(args: string[]): Promise<EdivRun> {
  const t0 = performance.now();
  const r = await track(execa(process.execPath, [edivBin, ...args], { reject: false, maxBuffer: 1 << 28 }));
  const secs = (performance.now() - t0) / 1000;
  let json: any;
  try {
    json = JSON.parse(String(r.stdout));
  } catch {
    json = undefined;
  }
  return { secs, json, stderr: String(r.stderr), code: r.exitCode ?? -1 };
}

function failure(what: string, r: EdivRun): Error {
  const msg = r.json?.error?.message ?? r.json?.message ?? r.stderr.trim().split('\n').slice(-5).join('\n');
  return new Error(`${what} failed (exit ${r.code}): ${msg}`);
}

interface DriverRow {
  deploy: number;
  undeploy: number;
  applyMs: Record<string, number>;
  destroyMs: Record<string, number>;
  elapsedMs: number;
  phasesMs: Record<string, number>;
  memPerVmMB: number;
  connections: { deploy: unknown; undeploy: unknown };
  moved: number;
  noisy: boolean;
}

interface SizeRow {
  vms: number;
  rawApply: number;
  rawDestroy: number;
  rawDestroyTimes: RawDestroyTimes;
  rawNoisy: boolean;
  loads: string;
  spanning: number;
  rawSpanning: number;
  drivers: Map<string, DriverRow>;
  mininet?: MininetTimes | string;
  mininetNoisy?: boolean;
}

// What is up at any moment, for the clean-up.
let rawUp: RawPlan | undefined;
let labUp = false;
let mininetNs = false;
let clusterMade = false;

const work = mkdtempSync(path.join(os.tmpdir(), 'ediv-bench-deploy-'));
const clusterDir = path.join(work, 'cluster');
const state = path.join(work, 'state');

async function measureSize(n: number, clusterFiles: Map<string, string>, rawHosts: RawHost[]): Promise<SizeRow> {
  const file = path.join(work, `${NAME}-${n}.xml`);
  writeFileSync(file, writeScenario(sitesLab(NAME, n, O.sites)));
  // The mapping ediv's deploy will compute: the scenario as ediv reads it, the same segmentator.
  const scenario = await parseScenarioFile(file);
  const plan = await makePlan({ scenario, cluster: await loadCluster(clusterFiles.get(O.drivers[0]!)!), segmentator: O.segmentator });
  const count = new Map<string, number>();
  for (const h of Object.values(plan.mapping)) count.set(h, (count.get(h) ?? 0) + 1);
  const loads = rawHosts.map((h) => count.get(h.name) ?? 0).join('/');
  say(`\n${n} VMs (${O.sites} sites): ${O.segmentator} puts ${loads} VMs on ${rawHosts.map((h) => h.name).join('/')}, ${plan.spanning.length} nets span hosts`);

  const raw = rawPlan({ scenario, mapping: plan.mapping, hosts: rawHosts, work: path.join(work, `raw-${n}`) });
  let rawNoisy = !(await quiet(`raw apply (${n})`, 'raw apply'));
  rawUp = raw;
  const rawApplySecs = await rawApply(raw);
  rawNoisy = !(await quiet(`raw destroy (${n})`, 'raw destroy, until gone')) || rawNoisy;
  const rawDestroyTimes = await rawDestroy(raw);
  rawUp = undefined;
  checkStop();

  const row: SizeRow = { vms: n, rawApply: rawApplySecs, rawDestroy: rawDestroyTimes.secs, rawDestroyTimes, rawNoisy, loads, spanning: plan.spanning.length, rawSpanning: raw.spanning, drivers: new Map() };
  for (const driver of O.drivers) {
    const cf = clusterFiles.get(driver)!;
    let noisy = !(await quiet(`ediv deploy (${driver}, ${n})`, `ediv deploy, ${driver} driver`));
    const memBefore = memAvailableMB();
    labUp = true; // from here on the clean-up runs `ediv undeploy --purge` (harmless if the deploy rolled back)
    const dep = await ediv(['deploy', file, '--cluster', cf, '--state', state, '--segmentator', O.segmentator, '--json']);
    checkStop();
    if (dep.code !== 0 || !dep.json?.ok) throw failure(`ediv deploy (${driver}, ${n} VMs)`, dep);
    const memPerVmMB = (memBefore - memAvailableMB()) / n;
    const placed = new Map((dep.json.mapping as { vm: string; host: string }[]).map((m) => [m.vm, m.host]));
    const moved = Object.entries(plan.mapping).filter(([vm, h]) => placed.get(vm) !== h).length;
    if (moved > 0) say(`  warning: the deploy placed ${moved} VMs elsewhere than the in-process plan: the raw baseline did other work`);
    noisy = !(await quiet(`ediv undeploy (${driver}, ${n})`, `ediv undeploy, ${driver} driver`)) || noisy;
    const und = await ediv(['undeploy', NAME, '--state', state, '--json']);
    checkStop();
    if (und.code !== 0 || und.json?.ok === false) throw failure(`ediv undeploy (${driver}, ${n} VMs)`, und);
    labUp = false;
    row.drivers.set(driver, {
      deploy: dep.secs,
      undeploy: und.secs,
      applyMs: Object.fromEntries((dep.json.hosts as { host: string; applyMs?: number }[]).map((h) => [h.host, h.applyMs ?? NaN])),
      destroyMs: (und.json?.destroyMs ?? {}) as Record<string, number>,
      elapsedMs: dep.json.elapsedMs,
      phasesMs: dep.json.phasesMs ?? {},
      memPerVmMB,
      connections: { deploy: dep.json.connections, undeploy: und.json?.connections },
      moved,
      noisy,
    });
  }

  if (O.mininet) {
    const missing = await mininetMissing();
    if (missing) row.mininet = missing;
    else {
      if (!mininetNs) {
        mininetNs = true;
        await execa('ip', ['netns', 'add', MININET_NS]);
        await execa('ip', ['-n', MININET_NS, 'link', 'set', 'lo', 'up']);
      }
      row.mininetNoisy = !(await quiet(`Mininet (${n})`, `Mininet building ${n} hosts`));
      row.mininet = await mininetBuild({ netns: MININET_NS, topology: scenarioTopology(scenario), work, onChild: (c) => void track(c) });
      checkStop();
    }
  }
  return row;
}

// ---------------------------------------------------------------------------------------------
// Printing.

const s2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '—');

function table(rows: string[][]): void {
  const w = rows[0]!.map((_c, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log('  ' + r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd());
}

const slowest = (ms: Record<string, number>) => Math.max(...Object.values(ms)) / 1000;
const mininetBuildOf = (r: SizeRow) => (typeof r.mininet === 'object' ? r.mininet.build : NaN);
const verdict = (value: number, target: number, atMost: boolean) =>
  !Number.isFinite(value) ? 'not measured' : (atMost ? value <= target : value >= target) ? 'met' : 'missed';

function report(rows: SizeRow[]): void {
  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  const ref = rows.find((r) => r.vms === REFERENCE) ?? last;
  const noisyAny = rows.some((r) => r.rawNoisy || r.mininetNoisy || [...r.drivers.values()].some((d) => d.noisy));
  console.log(
    `\nediv deploy / undeploy of the sites lab (${O.sites} sites, one LAN each, gateways in a ring) over ${O.hosts} emulated hosts, ` +
      `${O.segmentator}, vxlan; times in seconds, wall clock`,
  );
  console.log('  raw = iproute2 batches on every host in parallel, one in-namespace spawn per VM (nsenter --net), same mapping; its destroy counted until the last link is gone');
  for (const r of rows) {
    const t = r.rawDestroyTimes;
    console.log(
      `  ${r.vms} VMs: ${r.loads} VMs per host, ${r.spanning} nets span hosts (the raw baseline's: ${r.rawSpanning}); ` +
        `raw destroy ${s2(t.secs)} s = deletions ${s2(t.batchSecs)} s + waiting until gone ${s2(t.secs - t.batchSecs)} s (${t.rounds} listing rounds)`,
    );
  }
  for (const m of new Set(rows.map((r) => r.mininet).filter((m): m is string => typeof m === 'string'))) console.log(`  ${m}`);
  if (!O.mininet) console.log('  Mininet: not run (--no-mininet)');

  for (const driver of O.drivers) {
    console.log(`\n driver ${driver}`);
    const t: string[][] = [
      ['VMs', 'raw apply', 'ediv deploy', 'deploy/raw', 'raw destroy', 'ediv undeploy', 'undeploy/raw', 'Mininet build', 'Mininet/ediv', 'overhead', 'ms/VM', 'marginal ms/VM'],
    ];
    // Marginal cost: the deploy time the VMs added since the previous size, per added VM (the
    // fixed cost taken out, so superlinear growth shows even while the fixed cost dominates).
    const marginal = (k: number) => {
      const a = rows[k - 1]!;
      const b = rows[k]!;
      return ((b.drivers.get(driver)!.deploy - a.drivers.get(driver)!.deploy) / (b.vms - a.vms)) * 1000;
    };
    for (const [k, r] of rows.entries()) {
      const d = r.drivers.get(driver)!;
      const mn = mininetBuildOf(r);
      const noisy = r.rawNoisy || d.noisy || r.mininetNoisy ? '*' : '';
      t.push([
        `${r.vms}${noisy}`,
        s2(r.rawApply),
        s2(d.deploy),
        ratio(d.deploy / r.rawApply),
        s2(r.rawDestroy),
        s2(d.undeploy),
        ratio(d.undeploy / r.rawDestroy),
        s2(mn),
        ratio(mn / d.deploy),
        s2(d.deploy / slowest(d.applyMs)),
        ((d.deploy / r.vms) * 1000).toFixed(2),
        k > 0 ? marginal(k).toFixed(2) : '—',
      ]);
    }
    table(t);
    const perVm = (r: SizeRow) => r.drivers.get(driver)!.deploy / r.vms;
    const growth = rows.length > 1 ? perVm(last) / perVm(first) : NaN;
    if (rows.length > 1) {
      const rawGrowth = last.rawApply / last.vms / (first.rawApply / first.vms);
      const undGrowth = last.drivers.get(driver)!.undeploy / last.vms / (first.drivers.get(driver)!.undeploy / first.vms);
      console.log(
        `  growth ${first.vms} -> ${last.vms} VMs, time per VM: deploy x${growth.toFixed(2)} (target <= ${TARGETS.growth}: ${verdict(growth, TARGETS.growth, true)}), ` +
          `undeploy x${undGrowth.toFixed(2)}, raw apply x${rawGrowth.toFixed(2)} (1.00 = linear)` +
          (rows.length > 2 ? `; marginal deploy ms/VM, last step / first step x${s2(marginal(rows.length - 1) / marginal(1))}` : ''),
      );
    } else console.log('  growth: one size only (give --scale for the growth per VM)');
    for (const r of rows) {
      const d = r.drivers.get(driver)!;
      const hosts = Object.keys(d.applyMs);
      console.log(
        `  ${r.vms} VMs: apply per host ${hosts.map((h) => s2(d.applyMs[h]! / 1000)).join(' / ')} s, destroy per host ${hosts.map((h) => s2((d.destroyMs[h] ?? NaN) / 1000)).join(' / ')} s; ` +
          `undeploy wall / slowest destroy ${s2(d.undeploy / slowest(d.destroyMs))}; memory ${d.memPerVmMB.toFixed(2)} MiB/VM; ` +
          `SSH connections per host: deploy ${JSON.stringify(d.connections.deploy)}, undeploy ${JSON.stringify(d.connections.undeploy)}`,
      );
    }
    const d = ref.drivers.get(driver)!;
    const p = d.phasesMs;
    const processStart = d.deploy - d.elapsedMs / 1000;
    const rest = d.elapsedMs - (p.facts ?? 0) - (p.plan ?? 0) - (p.apply ?? 0);
    console.log(
      `  deploy phases at ${ref.vms} VMs: process start ${s2(processStart)} (wall - elapsedMs), facts ${s2((p.facts ?? NaN) / 1000)}, ` +
        `plan ${s2((p.plan ?? NaN) / 1000)}, apply ${s2((p.apply ?? NaN) / 1000)} (slowest host), discovery ${s2((p.discovery ?? NaN) / 1000)} (slowest host, after its apply), ` +
        `after the slowest apply ${s2(rest / 1000)}; wall ${s2(d.deploy)}`,
    );
    const mn = mininetBuildOf(ref) / d.deploy;
    const parts = [
      `deploy/raw ${ratio(d.deploy / ref.rawApply)} (<= ${TARGETS.deploy}: ${verdict(d.deploy / ref.rawApply, TARGETS.deploy, true)})`,
      `undeploy/raw ${ratio(d.undeploy / ref.rawDestroy)} (<= ${TARGETS.undeploy}: ${verdict(d.undeploy / ref.rawDestroy, TARGETS.undeploy, true)})`,
      `Mininet/ediv ${ratio(mn)} (>= ${TARGETS.mininet}: ${verdict(mn, TARGETS.mininet, false)})`,
      `overhead ${s2(d.deploy / slowest(d.applyMs))} (<= ${TARGETS.overhead.toFixed(2)}: ${verdict(d.deploy / slowest(d.applyMs), TARGETS.overhead, true)})`,
      `growth x${s2(growth)} (<= ${TARGETS.growth}: ${verdict(growth, TARGETS.growth, true)})`,
    ];
    console.log(`  summary ${driver} at ${ref.vms} VMs: ${parts.join(', ')}`);
  }
  if (noisyAny) console.log('\n  * the machine was not quiet before a step of that row (see the warnings): its figures are noisy');
  const moved = rows.flatMap((r) => [...r.drivers.entries()].filter(([, d]) => d.moved > 0).map(([drv, d]) => `${drv} ${r.vms}: ${d.moved}`));
  if (moved.length) console.log(`  the deploy's mapping differed from the in-process plan (VMs moved): ${moved.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------

async function cleanup(): Promise<void> {
  if (labUp) {
    say('removing the lab (ediv undeploy --purge)...');
    const r = await ediv(['undeploy', NAME, '--state', state, '--purge']);
    if (r.code !== 0 && !/no scenario named|no such|not found/i.test(r.stderr)) say(`  undeploy --purge: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  }
  if (rawUp) {
    say('removing the raw baseline...');
    await rawDestroy(rawUp, 60_000).catch((e: unknown) => say(`  ${String(e)}`));
  }
  if (mininetNs) await execa('ip', ['netns', 'del', MININET_NS], { reject: false });
  if (clusterMade) await clusterDown({ instance: INSTANCE, dir: clusterDir }).catch((e: unknown) => say(`clusterDown: ${String(e)}`));
  rmSync(work, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const leftovers = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(RAW_NS_PREFIX) || n === MININET_NS) : [];
  if (leftovers.length > 0) {
    throw new Error(
      `namespaces of an earlier run of this benchmark are still there (${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', …' : ''}, ${leftovers.length} in all); ` +
        `remove them first (ip netns del <name>)`,
    );
  }
  say(`building a ${O.hosts}-host emulated cluster (instance ${INSTANCE})...`);
  clusterMade = true;
  const up = await clusterUp({ hosts: O.hosts, instance: INSTANCE, dir: clusterDir });
  mkdirSync(state, { recursive: true });
  const clusterFiles = new Map(O.drivers.map((d) => [d, clusterWithDriver(up.clusterFile, d, work)]));
  const model = await loadCluster(clusterFiles.get(O.drivers[0]!)!);
  const rawHosts: RawHost[] = model.hosts.map((h) => {
    const st = up.hosts.find((s) => s.name === h.name);
    if (!st) throw new Error(`host ${h.name} of the cluster file is not an emulated host`);
    return { name: h.name, netns: st.netns, address: h.trunkAddress ?? h.address, trunk: h.trunk ?? 'eth0' };
  });
  const rows: SizeRow[] = [];
  for (const n of O.sizes) rows.push(await measureSize(n, clusterFiles, rawHosts));
  report(rows);
}

let code = 0;
try {
  await main();
} catch (err) {
  if (err instanceof Interrupted || stop.signal.aborted) code = 130;
  else {
    say(`bench/deploy: ${err instanceof Error ? err.message : String(err)}`);
    code = 1;
  }
} finally {
  await cleanup();
}
process.exit(code);
