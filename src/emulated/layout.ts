// Layout of the built-in emulated cluster (`ediv cluster up --local N`): names and addresses
// shared by the code that builds it and by commands that plan for it without a cluster file.
//
// Management addresses come from 198.18.0.0/15 (RFC 2544, reserved for benchmarking test
// networks), so they never collide with a real network the machine is on.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, realpathSync, renameSync } from 'node:fs';
import path from 'node:path';
import { AGENT_NODE_MAJOR } from '../protocol/agent.ts';
import { AUTO_DRIVER, type Cluster, type ClusterHost } from '../protocol/cluster.ts';
import { BACKPLANES } from '../protocol/backplane.ts';
import { edivBin, edivRoot } from '../common/paths.ts';

//
// Several emulated clusters can exist side by side (tests run their own): each has an
// instance number k (0 = the user's default) that selects its bridge, subnet and namespaces.
export const EMULATED = {
  prefix: 24,
  /** Management interface name inside each host namespace. */
  hostInterface: 'eth0',
  ids: { first: 1000, last: 1999 },
  maxHosts: 200,
  maxInstance: 255,
} as const;

export interface EmulatedInstance {
  k: number;
  /** Root-namespace bridge standing for the cluster switch. */
  bridge: string;
  /** Controller's address on the bridge. */
  controllerAddress: string;
  network: string;
}

export function emulatedInstance(k = 0): EmulatedInstance {
  if (!Number.isInteger(k) || k < 0 || k > EMULATED.maxInstance) {
    throw new RangeError(`emulated cluster instance must be 0..${EMULATED.maxInstance}`);
  }
  return { k, bridge: `edivbr${k}`, controllerAddress: `198.18.${k}.1`, network: `198.18.${k}.0/24` };
}

/** Where the controller keeps its emulated cluster (instance 0): `<stateDir>/local-cluster`. */
export function localClusterDir(stateDir: string): string {
  return path.join(stateDir, 'local-cluster');
}

export function emulatedHostName(i: number): string {
  return `host${i}`;
}

export function emulatedHostAddress(i: number, k = 0): string {
  return `198.18.${k}.${10 + i}`;
}

/** Network namespace of emulated host i of instance k. */
export function emulatedHostNamespace(i: number, k = 0): string {
  return k === 0 ? `ediv-host${i}` : `ediv${k}-host${i}`;
}

/**
 * The cluster model of an emulated cluster of n hosts, rooted at `dir` (where `cluster up`
 * keeps keys, known_hosts and per-host agent state). Used for planning without a cluster
 * file and by `cluster up` to write the cluster file.
 */
export function emulatedCluster(n: number, dir: string, k = 0, bare: readonly number[] = []): Cluster {
  const inst = emulatedInstance(k);
  const hosts: ClusterHost[] = [];
  for (let i = 1; i <= n; i++) {
    const name = emulatedHostName(i);
    hosts.push({
      name,
      address: emulatedHostAddress(i, k),
      ssh: {
        user: 'root',
        port: 22,
        identity: path.join(dir, 'id_ed25519'),
        knownHosts: path.join(dir, 'known_hosts'),
      },
      trunk: EMULATED.hostInterface,
      trunkAddress: emulatedHostAddress(i, k),
      cpu: 100,
      labels: { emulated: 'true' },
      ...(bare.includes(i) ? { agentCommand: [], agentNode: bareHostNode(dir) } : { agentCommand: [process.execPath, edivBin] }),
      agentStateDir: path.join(dir, 'hosts', name, 'agent'),
      transport: 'ssh',
      driver: AUTO_DRIVER,
    });
  }
  return {
    hosts,
    ids: { ...EMULATED.ids },
    backplane: BACKPLANES.vxlan.kind,
    management: { network: inst.network, interface: inst.bridge },
    segmentator: 'round-robin',
    driver: AUTO_DRIVER,
    drivers: {},
    source: { path: path.join(dir, 'cluster.yaml'), format: 'emulated' },
  };
}

let bareNode: string | undefined;

/**
 * The Node.js a bare emulated host runs the agent with: one its sshd can see, outside the ediv
 * package that is hidden from it. This Node when it is outside (an installed ediv), else the
 * machine's own (/usr/bin/node, /usr/local/bin/node) when it is recent enough, else a copy of
 * this one in the cluster directory `dir` (made once).
 */
export function bareHostNode(dir: string): string {
  if (bareNode) return bareNode;
  const inside = (file: string) => {
    const rel = path.relative(realpathSync(edivRoot), realpathSync(file));
    return !rel.startsWith('..') && !path.isAbsolute(rel);
  };
  const major = (node: string) => {
    const r = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 ? Number(/^v(\d+)\./.exec(r.stdout)?.[1] ?? 0) : 0;
  };
  for (const node of [process.execPath, '/usr/bin/node', '/usr/local/bin/node']) {
    try {
      if (!inside(node) && major(node) >= AGENT_NODE_MAJOR) return (bareNode = node);
    } catch {
      /* not there */
    }
  }
  const copy = path.join(dir, 'node');
  if (!existsSync(copy)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    copyFileSync(process.execPath, `${copy}.tmp`);
    chmodSync(`${copy}.tmp`, 0o755);
    renameSync(`${copy}.tmp`, copy);
  }
  return copy;
}
