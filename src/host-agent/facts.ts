// `facts`: what this host is and can do. Kernel capabilities are probed for real (a throwaway
// namespace in which each link type is tried) and cached per boot in the state directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FactsResult } from '../protocol/agent.ts';
import { version } from '../protocol/version.ts';
import { isRoot } from '../common/root.ts';
import { bootId, run } from './sys.ts';
import { shortHash } from './naming.ts';

export type Capabilities = FactsResult['capabilities'];

export const DRIVERS = ['netns'];


/** Tries each link type in a throwaway namespace; nothing outlives the probe. */
export async function probeCapabilities(): Promise<Capabilities> {
  const caps: Capabilities = { netns: false, bridge: false, veth: false, vxlan: false, vlan8021q: false };
  if (!isRoot()) {
    caps.vlan8021q = fs.existsSync('/proc/net/vlan/config');
    return caps;
  }
  const ns = `ediv-probe-${process.pid}-${shortHash(String(Date.now()), 4)}`;
  if ((await run('ip', ['netns', 'add', ns])).exitCode !== 0) return caps;
  caps.netns = true;
  try {
    const ip = (...args: string[]) => run('ip', ['-n', ns, ...args]).then((r) => r.exitCode === 0);
    caps.bridge = await ip('link', 'add', 'pbr', 'type', 'bridge');
    caps.veth = await ip('link', 'add', 'pva', 'type', 'veth', 'peer', 'name', 'pvb');
    caps.vxlan = await ip('link', 'add', 'pvx', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '127.0.0.1');
    const parent = caps.veth ? 'pva' : caps.bridge ? 'pbr' : undefined;
    caps.vlan8021q = parent ? await ip('link', 'add', 'link', parent, 'name', 'pvl', 'type', 'vlan', 'id', '42') : false;
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
    if (cached.boot === boot && cached.root === isRoot()) return cached.caps;
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
    drivers: DRIVERS,
  };
}

export function loadAverage(): [number, number, number] {
  const [l1, l5, l15] = os.loadavg();
  return [l1, l5, l15];
}
