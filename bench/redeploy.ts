// Benchmark: `ediv redeploy` of a running lab after a small edit (one VM's address changed, one
// VM added) against what a user would otherwise do (undeploy, then deploy the edited file), on
// a 4-host emulated cluster (instance 9, real sshd), container driver by default. Also a
// redeploy of the unchanged file (nothing to do: the floor of a redeploy) and how many VMs each
// host remade (the agents' word; the target is 2).
//
//   npx node bench/redeploy.ts [--vms 1000] [--hosts 4] [--nets 8] [--driver container]
//
// Everything is removed at the end (also on error): the lab and the emulated cluster.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { edivBin } from '../src/common/paths.ts';
import { clusterDown, clusterUp } from '../src/emulated/cluster.ts';
import { flatLabXml } from './lib/flat-lab.ts';

const INSTANCE = 9;
const NAME = 'bench9';
function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}
const VMS = Number(arg('--vms', '1000'));
const HOSTS = Number(arg('--hosts', '4'));
const NETS = Number(arg('--nets', '8'));
const DRIVER = arg('--driver', 'container');

async function ediv(args: string[]): Promise<{ secs: number; json: any; stderr: string; code: number }> {
  const t0 = performance.now();
  const r = await execa(process.execPath, [edivBin, ...args], { reject: false, maxBuffer: 1 << 28 });
  let json: any;
  try {
    json = JSON.parse(String(r.stdout));
  } catch {
    json = undefined;
  }
  return { secs: (performance.now() - t0) / 1000, json, stderr: String(r.stderr), code: r.exitCode ?? -1 };
}

function must(r: { code: number; json: any; stderr: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed: ${r.json?.message ?? r.json?.error?.message ?? r.stderr.slice(-2000)}`);
}

const fmt = (s: number): string => `${s.toFixed(2)} s`;

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'ediv-bench-redeploy-'));
  const clusterDir = path.join(work, 'cluster');
  const state = path.join(work, 'state');
  const original = path.join(work, 'lab.xml');
  const edited = path.join(work, 'lab-edited.xml');
  const xml = flatLabXml(NAME, VMS, NETS);
  writeFileSync(original, xml);
  // vm1's address changes; one VM joins Net0.
  const changed = xml.replace(/(<vm name="vm1" [^\n]*<ipv4>)10\.0\.0\.2\//, '$110.0.250.2/');
  if (changed === xml) throw new Error('the edit did not apply');
  writeFileSync(edited, changed.replace('</vnx>', '  <vm name="extra" type="lxc"><if id="1" net="Net0"><ipv4>10.0.250.3/16</ipv4></if></vm>\n</vnx>'));
  let deployed = false;
  try {
    console.log(`building a ${HOSTS}-host emulated cluster (instance ${INSTANCE})...`);
    const up = await clusterUp({ hosts: HOSTS, instance: INSTANCE, dir: clusterDir });
    const doc = YAML.parse(readFileSync(up.clusterFile, 'utf8')) as { driver?: string; hosts: { driver?: string }[] };
    doc.driver = DRIVER;
    for (const h of doc.hosts) h.driver = DRIVER;
    const clusterFile = path.join(work, 'cluster.yaml');
    writeFileSync(clusterFile, YAML.stringify(doc));
    const common = ['--state', state, '--json'];

    const dep = await ediv(['deploy', original, '--cluster', clusterFile, '--segmentator', 'round-robin', ...common]);
    must(dep, 'deploy');
    deployed = true;
    const same = await ediv(['redeploy', NAME, original, ...common]);
    must(same, 'redeploy (unchanged)');
    const red = await ediv(['redeploy', NAME, edited, ...common]);
    must(red, 'redeploy (edited)');
    const remade = (red.json.hosts as { made?: string[] }[]).flatMap((h) => h.made ?? []);
    // What a user would do without redeploy: undeploy, then deploy the edited file.
    const und = await ediv(['undeploy', NAME, ...common.slice(0, 2)]);
    must(und, 'undeploy');
    deployed = false;
    const dep2 = await ediv(['deploy', edited, '--cluster', clusterFile, '--segmentator', 'round-robin', ...common]);
    must(dep2, 'deploy (edited)');
    deployed = true;

    const fresh = und.secs + dep2.secs;
    console.log(`\n${VMS} VMs over ${HOSTS} emulated hosts, ${NETS} nets, driver ${DRIVER}; edit: one address changed, one VM added`);
    console.log(`  deploy                         ${fmt(dep.secs)}`);
    console.log(`  redeploy, nothing changed      ${fmt(same.secs)}   ratio to deploy ${(same.secs / dep.secs).toFixed(2)}`);
    console.log(`  redeploy of the edit           ${fmt(red.secs)}   VMs remade ${remade.length} (${remade.sort().join(', ')}; target 2)`);
    console.log(`  undeploy + deploy of the edit  ${fmt(fresh)} (${fmt(und.secs)} + ${fmt(dep2.secs)})`);
    console.log(`  redeploy / (undeploy + deploy) ${(red.secs / fresh).toFixed(3)}   (${(fresh / red.secs).toFixed(1)}x faster)`);
  } finally {
    if (deployed) await ediv(['undeploy', NAME, '--state', state, '--purge']);
    await clusterDown({ instance: INSTANCE, dir: clusterDir }).catch((e: unknown) => console.error(String(e)));
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
