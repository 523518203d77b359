// Benchmark: `ediv deploy` / `ediv undeploy` of 1 000 VMs over a 4-host emulated cluster
// (instance 7, real sshd), with each driver (netns: bare network namespaces; container: each VM
// its own root, PID 1, cgroups), against a raw iproute2 baseline that makes the same namespaces,
// bridges, veths, VXLAN links and addresses on each host (all hosts in parallel, same run).
// Also: memory per VM (the machine's MemAvailable before and after the deploy), the
// controller's overhead (deploy wall time / slowest host's apply time, target ≤ 1.10) and SSH
// connections opened per host per command (target 1).
//
//   npx node bench/deploy.ts [--vms 1000] [--hosts 4] [--nets 8] [--drivers netns,container]
//
// Everything is removed at the end (also on error): the deployment, the raw baseline's
// namespaces and links, the emulated cluster.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import YAML from 'yaml';
import os from 'node:os';
import path from 'node:path';
import { edivBin } from '../src/common/paths.ts';
import { clusterDown, clusterUp } from '../src/emulated/cluster.ts';
import { emulatedHostNamespace } from '../src/emulated/layout.ts';
import { rawApply, rawDestroy, rawPlan } from './deploy-baseline.ts';
import { flatLabXml } from './lib/flat-lab.ts';

const INSTANCE = 7;
function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const VMS = arg('--vms', 1000);
const HOSTS = arg('--hosts', 4);
const NETS = arg('--nets', 8);
const NAME = 'bench7';
const DRIVERS = (process.argv.includes('--drivers') ? process.argv[process.argv.indexOf('--drivers') + 1]! : 'netns,container').split(',');

/** MiB the machine has available now (what the VMs cost is the drop across a deploy). */
function memAvailableMB(): number {
  const kb = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** A copy of the cluster file whose hosts all use `driver`. */
function clusterWithDriver(clusterFile: string, driver: string, dir: string): string {
  const doc = YAML.parse(readFileSync(clusterFile, 'utf8')) as { driver?: string; hosts: { driver?: string }[] };
  doc.driver = driver;
  for (const h of doc.hosts) h.driver = driver;
  const out = path.join(dir, `cluster-${driver}.yaml`);
  writeFileSync(out, YAML.stringify(doc));
  return out;
}

interface DriverRun {
  driver: string;
  deploySecs: number;
  undeploySecs: number;
  slowestApply: number;
  applyMs: number[];
  memPerVmMB: number;
  elapsedMs: number;
  phasesMs: Record<string, number>;
  depConn?: Record<string, number>;
  undConn?: Record<string, number>;
  undDestroyMs: number[];
}

async function ediv(args: string[]): Promise<{ secs: number; json: any; stderr: string; code: number }> {
  const t0 = performance.now();
  const r = await execa(process.execPath, [edivBin, ...args], { reject: false, maxBuffer: 1 << 28 });
  const secs = (performance.now() - t0) / 1000;
  let json: any;
  try {
    json = JSON.parse(String(r.stdout));
  } catch {
    json = undefined;
  }
  return { secs, json, stderr: String(r.stderr), code: r.exitCode ?? -1 };
}

const fmt = (s: number): string => `${s.toFixed(2)} s`;

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'ediv-bench-'));
  const clusterDir = path.join(work, 'cluster');
  const state = path.join(work, 'state');
  const scenarioFile = path.join(work, `${NAME}.xml`);
  writeFileSync(scenarioFile, flatLabXml(NAME, VMS, NETS));
  const hostNs = Array.from({ length: HOSTS }, (_, i) => emulatedHostNamespace(i + 1, INSTANCE));
  let deployed = false;
  let raw: ReturnType<typeof rawPlan> | undefined;
  try {
    console.log(`building a ${HOSTS}-host emulated cluster (instance ${INSTANCE})...`);
    const up = await clusterUp({ hosts: HOSTS, instance: INSTANCE, dir: clusterDir });
    const runs: DriverRun[] = [];
    let mapping: Record<string, string> = {};
    for (const driver of DRIVERS) {
      const common = ['--cluster', clusterWithDriver(up.clusterFile, driver, work), '--state', state, '--json'];
      // ediv deploy (round-robin: every net spans every host, so each host also makes VXLAN links).
      const memBefore = memAvailableMB();
      const dep = await ediv(['deploy', scenarioFile, ...common, '--segmentator', 'round-robin']);
      if (dep.code !== 0) throw new Error(`deploy (${driver}) failed: ${dep.json?.message ?? dep.stderr.slice(-2000)}`);
      deployed = true;
      const memPerVmMB = (memBefore - memAvailableMB()) / VMS;
      const applyMs = (dep.json.hosts as { host: string; applyMs: number }[]).map((h) => h.applyMs);
      mapping = Object.fromEntries((dep.json.mapping as { vm: string; host: string }[]).map((m) => [m.vm, m.host]));
      const und = await ediv(['undeploy', NAME, ...common.slice(2)]);
      if (und.code !== 0) throw new Error(`undeploy (${driver}) failed: ${und.json?.message ?? und.stderr.slice(-2000)}`);
      deployed = false;
      runs.push({
        driver,
        deploySecs: dep.secs,
        undeploySecs: und.secs,
        slowestApply: Math.max(...applyMs) / 1000,
        applyMs,
        memPerVmMB,
        elapsedMs: dep.json.elapsedMs,
        phasesMs: dep.json.phasesMs,
        depConn: dep.json.connections,
        undConn: und.json.connections,
        undDestroyMs: und.json.destroyMs ? (Object.values(und.json.destroyMs as Record<string, number>) as number[]) : [],
      });
    }

    // The raw baseline: the same per-host work as iproute2 batches, every host in parallel.
    raw = rawPlan({ vms: VMS, nets: NETS, mapping, hosts: hostNs.map((ns, i) => ({ name: `host${i + 1}`, netns: ns, address: `198.18.${INSTANCE}.${11 + i}` })), work });
    const rawUp = await rawApply(raw);
    const rawDown = await rawDestroy(raw);
    raw = undefined;

    console.log(`\n${VMS} VMs over ${HOSTS} emulated hosts, ${NETS} nets (all spanning), round-robin, vxlan`);
    console.log(`  raw ip -batch: apply ${fmt(rawUp)}, destroy ${fmt(rawDown)}`);
    for (const r of runs) {
      console.log(`\n  driver ${r.driver}`);
      console.log(`    deploy    ${fmt(r.deploySecs)}   ratio to raw ${(r.deploySecs / rawUp).toFixed(2)}`);
      console.log(`    undeploy  ${fmt(r.undeploySecs)}   ratio to raw ${(r.undeploySecs / rawDown).toFixed(2)}`);
      console.log(`    memory per VM ${r.memPerVmMB.toFixed(2)} MiB (MemAvailable drop across the deploy / VMs)`);
      console.log(`    slowest host apply (remote op) ${fmt(r.slowestApply)}; per host ${r.applyMs.map((m) => (m / 1000).toFixed(2)).join(', ')} s`);
      console.log(`    controller overhead: deploy wall / slowest host apply = ${(r.deploySecs / r.slowestApply).toFixed(2)} (target <= 1.10); inside the command ${(r.elapsedMs / 1000 / r.slowestApply).toFixed(2)}`);
      console.log(`    deploy phases: ${Object.entries(r.phasesMs).map(([k, v]) => `${k} ${fmt(v / 1000)}`).join(', ')}; process start ${fmt(r.deploySecs - r.elapsedMs / 1000)}`);
      if (r.undDestroyMs.length) console.log(`    undeploy wall / slowest host destroy = ${(r.undeploySecs / (Math.max(...r.undDestroyMs) / 1000)).toFixed(2)}`);
      console.log(`    SSH connections per host: deploy ${JSON.stringify(r.depConn)}, undeploy ${JSON.stringify(r.undConn)} (target 1)`);
    }
    const base = runs.find((r) => r.driver === 'netns');
    for (const r of runs.filter((x) => x !== base && base)) {
      console.log(`\n  ${r.driver} / netns: deploy ${(r.deploySecs / base!.deploySecs).toFixed(2)} (target <= 1.5), undeploy ${(r.undeploySecs / base!.undeploySecs).toFixed(2)}, memory per VM ${(r.memPerVmMB / Math.max(0.01, base!.memPerVmMB)).toFixed(1)}x`);
    }
  } finally {
    if (deployed) await ediv(['undeploy', NAME, '--state', state, '--purge']);
    if (raw) await rawDestroy(raw).catch(() => {});
    await clusterDown({ instance: INSTANCE, dir: clusterDir }).catch((e: unknown) => console.error(String(e)));
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
