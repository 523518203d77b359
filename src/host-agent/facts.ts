// `facts`: what this host is and can do. Kernel capabilities are probed for real (a throwaway
// namespace in which each link type, and the qdiscs link shaping uses, are tried) and cached per
// boot in the state directory. The backplane ids the deployments here use are read from their
// applied.json files (backplane-ids.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Capabilities, FactsResult, HostUsage } from '../protocol/agent.ts';
import { version } from '../protocol/version.ts';
import { isRoot } from '../common/root.ts';
import { bootId, run } from './sys.ts';
import { shortHash } from './naming.ts';
import { backplanes } from './backplanes/registry.ts';
import { driverNames } from './drivers/registry.ts';
import { backplaneIdsInUse } from './backplane-ids.ts';
import { hostTools } from './host-tools.ts';

/** Tries each link type in a throwaway namespace; nothing outlives the probe. */
export async function probeCapabilities(): Promise<Capabilities> {
  const caps: Capabilities = { netns: false, bridge: false, veth: false, vxlan: false, vlan8021q: false, tbf: false, netem: false };
  if (!isRoot()) {
    for (const b of backplanes()) caps[b.descriptor.capability] = b.presentWithoutRoot();
    return caps;
  }
  const ns = `ediv-probe-${process.pid}-${shortHash(String(Date.now()), 4)}`;
  if ((await run('ip', ['netns', 'add', ns])).exitCode !== 0) return caps;
  caps.netns = true;
  try {
    const ip = (...args: string[]) => run('ip', ['-n', ns, ...args]).then((r) => r.exitCode === 0);
    caps.bridge = await ip('link', 'add', 'pbr', 'type', 'bridge');
    caps.veth = await ip('link', 'add', 'pva', 'type', 'veth', 'peer', 'name', 'pvb');
    // Each backplane's link kind, on a parent link when it needs one.
    const parent = caps.veth ? 'pva' : caps.bridge ? 'pbr' : undefined;
    for (const [i, b] of backplanes().entries()) {
      const line = b.probeLine(`pbp${i}`, parent);
      caps[b.descriptor.capability] = line ? await ip(...line.split(' ')) : false;
    }
    // The qdiscs of link shaping (drivers/netns/shaping.ts), on the probe's veth.
    if (caps.veth) {
      const tc = (...args: string[]) => run('tc', ['-n', ns, 'qdisc', 'replace', 'dev', 'pva', 'root', ...args]).then((r) => r.exitCode === 0);
      caps.tbf = await tc('tbf', 'rate', '1mbit', 'burst', '4000', 'latency', '50ms');
      caps.netem = await tc('netem', 'delay', '1ms');
    }
  } finally {
    await run('ip', ['netns', 'del', ns]);
  }
  return caps;
}

/** Capabilities, probed once per boot and cached in `<stateDir>/facts-cache.json`. */
export async function capabilities(stateDir: string): Promise<Capabilities> {
  const file = path.join(stateDir, 'facts-cache.json');
  const boot = bootId();
  try {
    const cached = JSON.parse(fs.readFileSync(file, 'utf8')) as { boot: string; root: boolean; caps: Capabilities };
    // A cache written before the qdiscs were probed is probed again.
    if (cached.boot === boot && cached.root === isRoot() && 'netem' in cached.caps) return cached.caps;
  } catch {
    /* no cache yet */
  }
  const caps = await probeCapabilities();
  try {
    fs.mkdirSync(stateDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ boot, root: isRoot(), caps }) + '\n');
  } catch {
    /* a read-only state dir only costs a probe next time */
  }
  return caps;
}

export async function facts(stateDir: string): Promise<FactsResult> {
  const [l1, l5, l15] = os.loadavg();
  return {
    version: version(),
    hostname: os.hostname(),
    cpus: os.availableParallelism(),
    memMB: Math.round(os.totalmem() / 2 ** 20),
    loadAvg: [l1, l5, l15],
    root: isRoot(),
    capabilities: await capabilities(stateDir),
    drivers: driverNames(),
    node: process.version,
    tools: await hostTools(),
    ...pushedBundle(),
    clockMs: Date.now(),
    backplaneIds: backplaneIdsInUse(stateDir),
  };
}

/** The content hash of the bundle this agent runs from, when the controller brought it (<stateDir>/bundles/<hash>/). */
function pushedBundle(): { bundle?: string } {
  const dir = import.meta.dirname;
  const hash = path.basename(dir);
  return path.basename(path.dirname(dir)) === 'bundles' && /^[0-9a-f]{64}$/.test(hash) ? { bundle: hash } : {};
}

export function loadAverage(): [number, number, number] {
  const [l1, l5, l15] = os.loadavg();
  return [l1, l5, l15];
}

/** CPUs and memory (MemTotal, MemAvailable of /proc/meminfo; os.totalmem/freemem where it cannot be read). */
export function hostUsage(meminfo?: string): HostUsage {
  let text = meminfo;
  try {
    text ??= fs.readFileSync('/proc/meminfo', 'utf8');
  } catch {
    /* not Linux's /proc */
  }
  const kB = (key: string) => {
    const m = text && new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 : undefined;
  };
  return {
    cpus: os.availableParallelism(),
    memTotalMB: Math.round(kB('MemTotal') ?? os.totalmem() / 2 ** 20),
    memAvailableMB: Math.round(kB('MemAvailable') ?? os.freemem() / 2 ** 20),
  };
}
