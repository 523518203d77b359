// Benchmark: discovery of 4 hosts × 250 VMs.
//   npx node bench/discovery.ts [--hosts 4] [--vms 250] [--runs 5] [--stub]
// First, in-process (no namespaces, no SSDP socket; --stub: only this part): how long one daemon
// serving hosts × vms VMs takes to be ready — its HTTP server serving the tree — and to send its
// announcements, with the SSDP sends stubbed (see readyBench).
// Hypervisor daemons run in test namespaces (edivdb-h1…, bridge in edivdb-sw) serving VM lists
// from a file: real netns VMs are not needed for the discovery figure (the daemon only lists
// them; actions are not timed). The control point runs in edivdb-cp.
// Figures: time from control-point start (M-SEARCH, MX 1) to the complete tree (every host with
// all its VMs and their actions), against a baseline of 1 host × 1 VM measured in the same run;
// SSDP traffic of one announcement round per host (what each re-announce cycle sends).
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { Lab, NODE } from '../test/integration/discovery/lab.ts';
import { writeVmFile } from '../src/discovery/provider.ts';
import { HypervisorDaemon, hypervisorDevice, vmDevice, vmManagementService } from '../src/discovery/hypervisor.ts';
import { SsdpAdvertiser, sendTo } from '../src/discovery/ssdp.ts';
import type { VmEntry, VmProvider } from '../src/discovery/types.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}
const HOSTS = arg('hosts', 4);
const VMS = arg('vms', 250);
const RUNS = arg('runs', 5);
const MAX_AGE = 1800;
const PROBE = path.join(import.meta.dirname, 'discovery-probe.ts');
const TS = [NODE, '--disable-warning=ExperimentalWarning', PROBE];

const stats = (xs: number[]) => {
  const s = [...xs].sort((p, q) => p - q);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
};
const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

// ---- in-process: ready and announced, SSDP sends stubbed ----------------------------------

interface StubSend {
  name: string;
  send: (msg: string, port: number, address: string) => Promise<void>;
  /** Datagrams the sink received (loopback), else undefined. */
  received(): number | undefined;
  close(): Promise<void>;
}

/** Completes each send on the next turn of the loop, as a socket's send callback comes. */
function immediateStub(): StubSend {
  return { name: 'immediate', send: () => new Promise((r) => setImmediate(r)), received: () => undefined, close: async () => {} };
}

/**
 * Sends each datagram for real, but to a sink socket on 127.0.0.1 whatever the SSDP address
 * (never multicast): the kernel's cost of a send, and whether the bursts lose any on the way.
 */
async function loopbackStub(): Promise<StubSend> {
  const bind = (s: dgram.Socket) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const sink = dgram.createSocket('udp4');
  const out = dgram.createSocket('udp4');
  let received = 0;
  sink.on('message', () => received++);
  await bind(sink);
  await bind(out);
  const port = sink.address().port;
  return {
    name: 'loopback',
    send: (msg) => sendTo(out, msg, port, '127.0.0.1'),
    received: () => received,
    close: async () => {
      await new Promise<void>((r) => out.close(() => r()));
      await new Promise<void>((r) => sink.close(() => r()));
    },
  };
}

const LOOPBACK = { name: 'lo', address: '127.0.0.1', netmask: '255.0.0.0' };
const entries = (n: number): VmEntry[] => Array.from({ length: n }, (_, i) => ({ deployment: 'bench', vm: `vm${i}`, state: 'running' }));

/**
 * One daemon with `total` VMs (HTTP on 127.0.0.1, SSDP sends to `stub`), per run:
 * - setDevice: the advertiser alone, time for setDevice to return, then until its announcements
 *   (2 copies of 3 + 3 × total datagrams, 200 ms apart) are sent;
 * - start: HypervisorDaemon.start() until it is ready (HTTP serving the tree; what the daemon's
 *   state file, which serve() waits for, follows), then until its announcements are sent;
 * - reload with one VM gone (byebye for its 3 adverts, the new set twice): ready, announced;
 * - stop (byebye for everything, twice).
 */
async function readyBench(total: number, stub: StubSend): Promise<void> {
  const rows: Record<string, number>[] = [];
  let packets = 0;
  for (let run = 0; run < RUNS; run++) {
    const r: Record<string, number> = {};
    const tree = hypervisorDevice('bench', entries(total).map((e) => vmDevice('bench', e, vmManagementService(e, async () => 'running'))));
    const adv = new SsdpAdvertiser({ iface: LOOPBACK, maxAge: MAX_AGE, bootId: 1, send: stub.send });
    let t = performance.now();
    await adv.setDevice(tree, 'http://127.0.0.1:1/description.xml', 1);
    r.setDevice = performance.now() - t;
    await adv.announced();
    r.setDeviceAnnounced = performance.now() - t;
    await adv.stop();

    let list = entries(total);
    const provider: VmProvider = { list: async () => list, act: async () => 'running', watchPaths: () => [] };
    const daemon = new HypervisorDaemon({
      host: 'bench', iface: LOOPBACK, maxAge: MAX_AGE, bootId: 1, provider, log: () => {}, pollMs: 3_600_000, ssdpSend: stub.send,
    });
    t = performance.now();
    await daemon.start();
    r.start = performance.now() - t;
    await daemon.ssdp.announced();
    r.startAnnounced = performance.now() - t;
    list = entries(total - 1);
    t = performance.now();
    await daemon.reload();
    r.reload = performance.now() - t;
    await daemon.ssdp.announced();
    r.reloadAnnounced = performance.now() - t;
    t = performance.now();
    await daemon.stop();
    r.stop = performance.now() - t;
    packets += adv.sent.packets + daemon.ssdp.sent.packets;
    rows.push(r);
  }
  await new Promise((r) => setTimeout(r, 100)); // the sink reads what is still queued
  const m = (k: string) => fmt(stats(rows.map((r) => r[k]!)).median);
  const got = stub.received();
  console.log(`  stub ${stub.name.padEnd(9)}: setDevice returns ${m('setDevice')} (announced ${m('setDeviceAnnounced')}); ` +
    `daemon start -> ready ${m('start')} (announced ${m('startAnnounced')}); ` +
    `reload, 1 VM gone -> ready ${m('reload')} (announced ${m('reloadAnnounced')}); stop ${m('stop')}` +
    (got === undefined ? '' : `; sink received ${got} of ${packets} datagrams`));
}

{
  const total = HOSTS * VMS;
  console.log(`ready benchmark: 1 daemon x ${total} VMs in-process (HTTP on 127.0.0.1, SSDP sends stubbed), ${RUNS} runs, medians`);
  for (const make of [async () => immediateStub(), loopbackStub]) {
    const stub = await make();
    try {
      await readyBench(total, stub);
    } finally {
      await stub.close();
    }
  }
  if (process.argv.includes('--stub')) process.exit(0);
}

const lab = new Lab('edivdb');
const dirs: [string, string][] = [];
try {
  await lab.up();
  const cp = await lab.addNode('cp', 2);
  const hosts = [];
  for (let i = 1; i <= HOSTS + 1; i++) hosts.push(await lab.addNode(`h${i}`, 10 + i));

  // Baseline host (1 VM) is the last one; it is stopped before the big run.
  const listener = lab.spawnIn(cp.ns, [...TS, 'listen', cp.address, '300']);
  let listened = '';
  listener.stdout!.on('data', (d) => (listened += d));
  const listenDone = new Promise((r) => listener.once('close', r));
  await new Promise((r) => setTimeout(r, 800));
  for (let i = 0; i <= HOSTS; i++) {
    const name = `h${i + 1}`;
    const dir = path.join(lab.tmp, name);
    fs.mkdirSync(dir);
    const n = i === HOSTS ? 1 : VMS;
    writeVmFile(path.join(dir, 'vms.json'), {
      vms: Array.from({ length: n }, (_, k) => ({ deployment: 'bench', vm: `${name}-vm${k}`, state: 'running' as const })),
    });
    dirs.push([hosts[i]!.ns, dir]);
  }
  // Baseline first, alone.
  const [bNs, bDir] = dirs[HOSTS]!;
  await lab.serve(bNs, { host: `h${HOSTS + 1}`, interface: 'mgmt0', stateDir: bDir, vmsFile: path.join(bDir, 'vms.json'), maxAge: MAX_AGE });
  await new Promise((r) => setTimeout(r, 1000));
  const base = JSON.parse((await lab.runIn(cp.ns, [...TS, 'discover', cp.address, String(RUNS), '1', '1'])).stdout) as { ms: number }[];
  await lab.serve(bNs, { host: `h${HOSTS + 1}`, stateDir: bDir, stop: true });

  for (let i = 0; i < HOSTS; i++) {
    const [ns, dir] = dirs[i]!;
    await lab.serve(ns, { host: `h${i + 1}`, interface: 'mgmt0', stateDir: dir, vmsFile: path.join(dir, 'vms.json'), maxAge: MAX_AGE });
  }
  await new Promise((r) => setTimeout(r, 2000)); // the initial announcements (2 rounds, 200 ms apart) are over
  listener.kill('SIGTERM');
  await listenDone;
  const traffic = JSON.parse(listened) as Record<string, { packets: number; bytes: number }>;
  const big = JSON.parse((await lab.runIn(cp.ns, [...TS, 'discover', cp.address, String(RUNS), String(HOSTS), String(VMS)])).stdout) as
    { ms: number; vms: number; responses: number; fetches: number }[];

  const b = stats(base.map((r) => r.ms));
  const f = stats(big.map((r) => r.ms));
  console.log(`discovery benchmark: ${HOSTS} hosts x ${VMS} VMs (file-listed VMs; daemons in netns), ${RUNS} runs, MX 1`);
  console.log(`  baseline 1 host x 1 VM     : median ${fmt(b.median)} (min ${fmt(b.min)}, max ${fmt(b.max)})`);
  console.log(`  ${HOSTS} x ${VMS} complete tree     : median ${fmt(f.median)} (min ${fmt(f.min)}, max ${fmt(f.max)}) ` +
    `-> ratio to baseline ${(f.median / b.median).toFixed(2)}; target < 2 s: ${f.max < 2000 ? 'met' : 'NOT met'}`);
  console.log(`  per run: ${big.map((r) => `${r.vms} VMs/${r.responses} responses/${r.fetches} fetches`).join('; ')}`);
  const big1 = Object.entries(traffic).filter(([a]) => a !== `198.18.6.${10 + HOSTS + 1}`);
  for (const [addr, t] of big1) {
    // The initial announcement is 2 rounds; a re-announce cycle is 1 round.
    console.log(`  announcements from ${addr}: initial ${t.packets} packets / ${t.bytes} bytes; ` +
      `per re-announce cycle ${t.packets / 2} packets / ${t.bytes / 2} bytes (3 + 2d + k = ${3 + 3 * VMS} expected)`);
  }
  const perCycle = big1.reduce((n, [, t]) => n + t.bytes / 2, 0);
  const meanInterval = MAX_AGE * 0.375;
  console.log(`  cluster total per cycle: ${big1.reduce((n, [, t]) => n + t.packets / 2, 0)} packets / ${perCycle} bytes; ` +
    `max-age ${MAX_AGE} s, mean cycle ${meanInterval} s -> ${(perCycle / meanInterval).toFixed(0)} bytes/s on the management net`);
} finally {
  for (const [ns, dir] of dirs) await lab.serve(ns, { host: 'x', stateDir: dir, stop: true }).catch(() => {});
  await lab.down();
}
