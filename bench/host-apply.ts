// Benchmark: `ediv agent apply` / `destroy` of N netns VMs on one host namespace, against a raw
// iproute2 script that makes the same namespaces, bridges, veths and addresses (measured in the
// same run), and against Mininet 2.3 (LinuxBridge switches, no controller) building N hosts.
//
//   npx node bench/host-apply.ts [--vms 1000] [--scale 250,500,1000,2000] [--no-mininet]
//
// Everything runs inside a host namespace `edivb-bench` and is removed at the end (also on error).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bigFragment, namespacesWith, removeNamespaces } from '../test/integration/agent/helpers.ts';
import { flatTopology, mininetBuild } from './lib/mininet.ts';

const HOSTNS = 'edivb-bench';
const NETS = 4; // VMs spread over 4 nets: a Linux bridge takes at most 1024 ports
const RAW = 'edivb-raw';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const mainVms = Number(arg('--vms') ?? 1000);
const scale = (arg('--scale') ?? '250,500,1000,2000').split(',').map(Number);
const withMininet = !process.argv.includes('--no-mininet');
const repoRoot = path.resolve(import.meta.dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edivb-bench-'));

function inHost(cmd: string, args: string[], input?: string): string {
  return execFileSync('nsenter', [`--net=/run/netns/${HOSTNS}`, cmd, ...args], { input, encoding: 'utf8', maxBuffer: 1 << 26 });
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

/** The agent op in a fresh process inside the host namespace; returns [op seconds, process seconds]. */
function agentOp(op: string, request: unknown, stateDir: string): [number, number] {
  const t0 = performance.now();
  const r = spawnSync('nsenter', [`--net=/run/netns/${HOSTNS}`, process.execPath, path.join(repoRoot, 'bench/host-agent-runner.ts'), op, stateDir], {
    input: JSON.stringify(request),
    encoding: 'utf8',
  });
  const wall = (performance.now() - t0) / 1000;
  const out = JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as { ok?: boolean; ms?: number; error?: string };
  if (!out.ok) throw new Error(`agent ${op} failed: ${out.error ?? r.stderr}`);
  return [out.ms! / 1000, wall];
}

/**
 * The raw script: one `ip -batch` on the host side, one `nsenter --net=<ns> ip -batch` per
 * namespace (as bench/deploy-baseline.ts: `ip -n` would copy the whole mount table, one mount per
 * namespace, on every call, which makes the baseline quadratic); its destroy deletes the
 * namespaces and bridges and is timed until the last veth is gone.
 */
function rawScripts(n: number): { apply: string; destroy: string } {
  const dir = path.join(work, `raw-${n}`);
  fs.mkdirSync(path.join(dir, 'ns'), { recursive: true });
  const host: string[] = [];
  const destroy: string[] = [];
  const script: string[] = ['set -e', `ip -batch ${dir}/host.batch`];
  for (let j = 0; j < NETS; j++) host.push(`link add name rawbr${j} type bridge`, `link set dev rawbr${j} up`);
  for (let i = 0; i < n; i++) {
    const ns = `${RAW}.${i}`;
    const hostIdx = Math.floor(i / NETS) + 1;
    host.push(`netns add ${ns}`, `link add name rawv${i} type veth peer name eth1 netns ${ns}`, `link set dev rawv${i} master rawbr${i % NETS} up`);
    fs.writeFileSync(
      path.join(dir, 'ns', `${i}.batch`),
      ['link set dev lo up', `addr add 10.${100 + (i % NETS)}.${hostIdx >> 8}.${hostIdx & 255}/16 dev eth1`, 'link set dev eth1 up'].join('\n') + '\n',
    );
    script.push(`nsenter --net=/run/netns/${ns} ip -batch ${dir}/ns/${i}.batch`);
    destroy.push(`netns del ${ns}`); // its veth goes with it, in the kernel's batched clean-up
  }
  for (let j = 0; j < NETS; j++) destroy.push(`link del dev rawbr${j}`);
  fs.writeFileSync(path.join(dir, 'host.batch'), host.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'apply.sh'), script.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'destroy.batch'), destroy.join('\n') + '\n');
  return { apply: path.join(dir, 'apply.sh'), destroy: path.join(dir, 'destroy.batch') };
}

function countLinks(): number {
  return (JSON.parse(inHost('ip', ['-j', 'link', 'show'])) as unknown[]).length - 1;
}

interface Row {
  vms: number;
  agentApply: number;
  agentApplyProc: number;
  agentDestroy: number;
  rawApply: number;
  rawDestroy: number;
  again: number;
}

function measure(n: number): Row {
  const stateDir = path.join(work, `state-${n}`);
  const deployment = `edivb-bench${n}`;
  const fragmentXml = bigFragment(deployment, n, NETS);
  const raw = rawScripts(n);
  const rawApply = timed(() => inHost('sh', [raw.apply]));
  if (namespacesWith(`${RAW}.`).length !== n) throw new Error('raw script did not make every namespace');
  const rawDestroy = timed(() => {
    inHost('ip', ['-batch', raw.destroy]);
    while (countLinks() > 0) spawnSync('sleep', ['0.01']); // counted until the last veth is gone
  });
  const req = { deployment, host: 'bench', fragmentXml, backplane: [] };
  const [agentApply, agentApplyProc] = agentOp('apply', req, stateDir);
  if (namespacesWith(`${deployment}.`).length !== n || countLinks() !== n + NETS) throw new Error('agent apply did not make everything');
  const [again] = agentOp('apply', req, stateDir);
  const [agentDestroy] = agentOp('destroy', { deployment, host: 'bench' }, stateDir);
  if (namespacesWith(`${deployment}.`).length !== 0 || countLinks() !== 0) throw new Error('agent destroy left something');
  return { vms: n, agentApply, agentApplyProc, agentDestroy, rawApply, rawDestroy, again };
}

function cleanup(): void {
  removeNamespaces([...namespacesWith(`${RAW}.`), ...namespacesWith('edivb-bench'), HOSTNS].filter((n, i, a) => a.indexOf(n) === i));
  fs.rmSync(work, { recursive: true, force: true });
}

const f = (s: number) => s.toFixed(2).padStart(7);
const per = (s: number, n: number) => ((s / n) * 1000).toFixed(2).padStart(6);

try {
  removeNamespaces([HOSTNS, ...namespacesWith(`${RAW}.`)]);
  execFileSync('ip', ['netns', 'add', HOSTNS]);
  execFileSync('ip', ['-n', HOSTNS, 'link', 'set', 'lo', 'up']);
  const sizes = [...new Set([...scale, mainVms])].sort((a, b) => a - b);
  const rows = sizes.map((n) => {
    process.stderr.write(`measuring ${n} VMs...\n`);
    return measure(n);
  });
  console.log(`\nnetns VMs on one host namespace (${NETS} nets; times in seconds; ms/VM = per VM)`);
  console.log('   VMs | raw apply  agent apply (+process) ratio  ms/VM | raw destroy  agent destroy ratio | re-apply');
  for (const r of rows) {
    console.log(
      `${String(r.vms).padStart(6)} | ${f(r.rawApply)}  ${f(r.agentApply)} (${f(r.agentApplyProc)}) ${(r.agentApply / r.rawApply).toFixed(2).padStart(5)}x ${per(r.agentApply, r.vms)} |` +
        `  ${f(r.rawDestroy)}      ${f(r.agentDestroy)}  ${(r.agentDestroy / r.rawDestroy).toFixed(2).padStart(5)}x | ${f(r.again)}`,
    );
  }
  const first = rows[0];
  const last = rows[rows.length - 1];
  console.log(
    `growth ${first.vms} -> ${last.vms} VMs: agent apply time per VM x${(last.agentApply / last.vms / (first.agentApply / first.vms)).toFixed(2)}, ` +
      `raw x${(last.rawApply / last.vms / (first.rawApply / first.vms)).toFixed(2)} (1.00 = linear)`,
  );
  if (withMininet) {
    process.stderr.write(`Mininet with ${mainVms} hosts...\n`);
    const m = await mininetBuild({ netns: HOSTNS, topology: flatTopology(mainVms, NETS), work });
    const main = rows.find((r) => r.vms === mainVms)!;
    if (typeof m === 'string') console.log(m);
    else {
      console.log(
        `Mininet 2.3 (LinuxBridge, no controller), ${mainVms} hosts: build ${m.build.toFixed(2)} s, stop ${m.stop.toFixed(2)} s; ` +
          `agent apply is ${(m.build / main.agentApply).toFixed(1)}x faster (${(m.build / main.agentApplyProc).toFixed(1)}x counting its process start), ` +
          `destroy ${(m.stop / main.agentDestroy).toFixed(1)}x faster`,
      );
    }
  }
} finally {
  cleanup();
}
