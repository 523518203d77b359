// Benchmark: a course on one shared cluster. 30 copies of the tutorial (6 container VMs each)
// deployed by 3 controllers sharing one PostgreSQL state store (a private server started here),
// against the same 30 deployed one after another by one controller, on a 3-host emulated
// cluster (instance 10, real sshd), in one run:
//   - sequential:        30 deploys one after another (the baseline);
//   - 3 controllers:     each deploys its 10 labs one after another, the three at once;
//   - all at once:       the 30 deploys started together (30 controller processes).
// Printed per run: makespan, per-deploy p50/p95, and the makespan against the baseline; every
// run checks that no id is used twice. Everything is undeployed between runs and removed at the
// end (also on error): the labs, the emulated cluster, the PostgreSQL server.
//
//   npx node bench/shared-cluster.ts [--labs 30] [--controllers 3]
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { edivBin, edivRoot } from '../src/common/paths.ts';
import { clusterDown, clusterUp } from '../src/emulated/cluster.ts';
import { startPostgres, type PgServer } from '../test/helpers/postgres.ts';

const INSTANCE = 10;
function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}
const LABS = Number(arg('--labs', '30'));
const CONTROLLERS = Number(arg('--controllers', '3'));
const TUTORIAL = path.join(edivRoot, 'scenarios', 'tutorial.xml');

interface Timed {
  lab: string;
  secs: number;
  ids: number[];
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'ediv-bench-shared-'));
  let pg: PgServer | undefined;
  let clusterFile = '';
  const env = (): Record<string, string> => ({ ...(process.env as Record<string, string>), PGPASSWORD: pg!.password });
  const ediv = async (args: string[], controller = 0): Promise<{ secs: number; json: any; code: number; stderr: string }> => {
    const t0 = performance.now();
    const r = await execa(process.execPath, [edivBin, ...args, '--cluster', clusterFile, '--state', path.join(work, `state${controller}`), '--json'], {
      reject: false,
      env: env(),
      maxBuffer: 1 << 26,
    });
    let json: any;
    try {
      json = JSON.parse(String(r.stdout));
    } catch {
      json = undefined;
    }
    return { secs: (performance.now() - t0) / 1000, json, code: r.exitCode ?? -1, stderr: String(r.stderr) };
  };
  const deployOne = async (lab: string, controller: number): Promise<Timed> => {
    const r = await ediv(['deploy', TUTORIAL, '--name', lab], controller);
    if (r.code !== 0) throw new Error(`deploy ${lab} failed: ${r.json?.message ?? r.stderr.slice(-1500)}`);
    return { lab, secs: r.secs, ids: (r.json.spanning as { id: number }[]).map((s) => s.id) };
  };
  /** Undeploys every lab the shared store records; with `strict`, a failure stops the benchmark. */
  const undeployRecorded = async (strict: boolean): Promise<void> => {
    const st = await ediv(['status']);
    for (const s of (st.json?.scenarios ?? []) as { name: string }[]) {
      const r = await ediv(['undeploy', s.name, ...(strict ? [] : ['--purge'])]);
      if (r.code !== 0 && strict) throw new Error(`undeploy ${s.name} failed: ${r.json?.message ?? r.stderr.slice(-1500)}`);
      if (r.code !== 0) console.error(`cleanup: undeploy ${s.name}: ${r.json?.message ?? 'failed'}`);
    }
  };
  const labsOf = (c: number): string[] => Array.from({ length: LABS / CONTROLLERS }, (_, i) => `c${c}-lab${i + 1}`);
  const allLabs = Array.from({ length: CONTROLLERS }, (_, c) => labsOf(c)).flat();
  try {
    if (LABS % CONTROLLERS !== 0) throw new Error('--labs must be a multiple of --controllers');
    pg = await startPostgres();
    if (!pg) throw new Error('PostgreSQL cannot be started here (needs root and the postgresql package)');
    console.log(`building a 3-host emulated cluster (instance ${INSTANCE}), PostgreSQL on 127.0.0.1:${pg.port}...`);
    const up = await clusterUp({ hosts: 3, instance: INSTANCE, dir: path.join(work, 'cluster') });
    const doc = YAML.parse(readFileSync(up.clusterFile, 'utf8')) as Record<string, unknown>;
    doc.state = pg.url;
    clusterFile = path.join(work, 'cluster.yaml');
    writeFileSync(clusterFile, YAML.stringify(doc));

    const runs: { name: string; makespan: number; deploys: Timed[] }[] = [];
    const measure = async (name: string, fn: () => Promise<Timed[]>): Promise<void> => {
      const t0 = performance.now();
      const deploys = await fn();
      const makespan = (performance.now() - t0) / 1000;
      const ids = deploys.flatMap((d) => d.ids);
      if (new Set(ids).size !== ids.length) throw new Error(`${name}: an id was given twice`);
      runs.push({ name, makespan, deploys });
      console.log(`  ${name}: ${makespan.toFixed(1)} s`);
      await undeployRecorded(true);
    };
    await measure('sequential, 1 controller', async () => {
      const out: Timed[] = [];
      for (const lab of allLabs) out.push(await deployOne(lab, 0));
      return out;
    });
    await measure(`${CONTROLLERS} controllers at once, each ${LABS / CONTROLLERS} in a row`, async () =>
      (await Promise.all(Array.from({ length: CONTROLLERS }, async (_, c) => {
        const out: Timed[] = [];
        for (const lab of labsOf(c)) out.push(await deployOne(lab, c));
        return out;
      }))).flat(),
    );
    await measure(`all ${LABS} at once`, async () => {
      // Every deploy ends (or rolls back) before the run is judged or cleaned up.
      const settled = await Promise.allSettled(allLabs.map((lab, i) => deployOne(lab, i % CONTROLLERS)));
      const failed = settled.flatMap((s) => (s.status === 'rejected' ? [(s.reason as Error).message] : []));
      if (failed.length) throw new Error(`${failed.length} of ${LABS} deploys failed; first: ${failed[0]}`);
      return settled.map((s) => (s as PromiseFulfilledResult<Timed>).value);
    });

    const base = runs[0]!.makespan;
    const pct = (xs: number[], p: number): number => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
    };
    console.log(`\n${LABS} labs × 6 container VMs on 3 emulated hosts, one shared PostgreSQL store:\n`);
    console.log('| Run | Makespan | Per deploy p50 | p95 | Makespan / sequential |');
    console.log('|---|---|---|---|---|');
    for (const r of runs) {
      const secs = r.deploys.map((d) => d.secs);
      console.log(`| ${r.name} | ${r.makespan.toFixed(1)} s | ${pct(secs, 50).toFixed(2)} s | ${pct(secs, 95).toFixed(2)} s | ${(r.makespan / base).toFixed(2)} |`);
    }
    console.log(`\nids: ${LABS * 3} per run, none given twice.`);
  } finally {
    if (clusterFile) await undeployRecorded(false).catch((e: unknown) => console.error(`cleanup: ${(e as Error).message}`));
    await clusterDown({ instance: INSTANCE, dir: path.join(work, 'cluster') }).catch((e: unknown) => console.error(`cluster down: ${(e as Error).message}`));
    await pg?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
