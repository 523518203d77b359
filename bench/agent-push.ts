// Benchmark: what bringing the agent to a bare host costs (issue 16).
//   flock /tmp/ediv-ns.lock npx node bench/agent-push.ts [--runs 5]
// An emulated cluster of 2 hosts (instance 47): host1 runs the checkout's installed agent, host2 is
// bare (the checkout hidden from its sshd; the controller brings its bundle, run by the machine's
// Node.js). Each run opens a fresh connection (ssh2) and times the first `facts` (connect,
// session start, answer) and a following `status` over the same session:
//   installed    host1's installed agent (the baseline, measured in the same run)
//   push, first  host2 with its bundle cache emptied first: the bundle crosses SSH and is installed
//   push, cached host2 with the bundle already there
// Prints medians and ratios against the installed agent, and the bundle's size.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { clusterDown, clusterUp } from '../src/emulated/cluster.ts';
import { emulatedCluster } from '../src/emulated/layout.ts';
import type { ClusterHost } from '../src/protocol/cluster.ts';
import { agentBundle } from '../src/transport/agent-push.ts';
import { openTransport } from '../src/transport/index.ts';

const K = 47;
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
if (!Number.isInteger(RUNS) || RUNS < 1) {
  process.stderr.write('bench/agent-push: --runs must be a positive integer\n');
  process.exit(2);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function timed(host: ClusterHost): Promise<{ facts: number; status: number }> {
  const t0 = performance.now();
  const t = await openTransport(host, { sshConfig: false, agentSocket: false });
  try {
    await t.runAgent('facts', {});
    const t1 = performance.now();
    await t.runAgent('status', { host: host.name });
    return { facts: t1 - t0, status: performance.now() - t1 };
  } finally {
    await t.close();
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ediv${K}-push-bench-`));
try {
  await clusterUp({ hosts: 2, instance: K, dir, bare: [2] });
  const [installed, bare] = emulatedCluster(2, dir, K, [2]).hosts as [ClusterHost, ClusterHost];
  const bundles = path.join(bare.agentStateDir!, 'bundles');
  await timed(installed); // the facts caches (kernel probe) of both hosts, outside the figures
  await timed(bare);
  const rows: Record<string, { facts: number[]; status: number[] }> = { installed: { facts: [], status: [] }, 'push, first': { facts: [], status: [] }, 'push, cached': { facts: [], status: [] } };
  for (let i = 0; i < RUNS; i++) {
    const add = (name: string, r: { facts: number; status: number }) => {
      rows[name]!.facts.push(r.facts);
      rows[name]!.status.push(r.status);
    };
    add('installed', await timed(installed));
    fs.rmSync(bundles, { recursive: true, force: true });
    add('push, first', await timed(bare));
    add('push, cached', await timed(bare));
  }
  const base = median(rows.installed!.facts);
  console.log(`agent bundle: ${(agentBundle().bytes.length / 1024).toFixed(0)} KiB (${agentBundle().hash.slice(0, 12)}); host2's Node.js: ${bare.agentNode}; ${RUNS} runs, medians`);
  console.log(`${'agent'.padEnd(14)} ${'connect+facts'.padStart(14)} ${'x installed'.padStart(12)} ${'then status'.padStart(12)}`);
  for (const [name, r] of Object.entries(rows)) {
    const f = median(r.facts);
    console.log(`${name.padEnd(14)} ${ms(f).padStart(14)} ${`${(f / base).toFixed(2)}x`.padStart(12)} ${ms(median(r.status)).padStart(12)}`);
  }
  console.log(`bringing the bundle the first time costs ${ms(median(rows['push, first']!.facts) - median(rows['push, cached']!.facts))} once per host and version`);
} finally {
  await clusterDown({ instance: K, dir });
  fs.rmSync(dir, { recursive: true, force: true });
}
