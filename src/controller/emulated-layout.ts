// Layout of the built-in emulated cluster (`ediv cluster up --local N`): names and addresses
// shared by the code that builds it and by commands that plan for it without a cluster file.
//
// Management addresses come from 198.18.0.0/15 (RFC 2544, reserved for benchmarking test
// networks), so they never collide with a real network the machine is on.
import path from 'node:path';
import type { Cluster, ClusterHost } from './cluster-model.ts';
import { edivBin } from '../common/paths.ts';

export const EMULATED = {
  /** Root-namespace bridge standing for the cluster switch. */
  bridge: 'edivbr0',
  /** Controller's address on the bridge. */
  controllerAddress: '198.18.0.1',
  prefix: 24,
  network: '198.18.0.0/24',
  /** Management interface name inside each host namespace. */
  hostInterface: 'eth0',
  ids: { first: 1000, last: 1999 },
  maxHosts: 200,
} as const;

export function emulatedHostName(i: number): string {
  return `host${i}`;
}

export function emulatedHostAddress(i: number): string {
  return `198.18.0.${10 + i}`;
}

/** Network namespace of emulated host i. */
export function emulatedHostNamespace(i: number): string {
  return `ediv-host${i}`;
}

/**
 * The cluster model of an emulated cluster of n hosts, rooted at `dir` (where `cluster up`
 * keeps keys, known_hosts and per-host agent state). Used for planning without a cluster
 * file and by `cluster up` to write the cluster file.
 */
export function emulatedCluster(n: number, dir: string): Cluster {
  const hosts: ClusterHost[] = [];
  for (let i = 1; i <= n; i++) {
    const name = emulatedHostName(i);
    hosts.push({
      name,
      address: emulatedHostAddress(i),
      ssh: {
        user: 'root',
        port: 22,
        identity: path.join(dir, 'id_ed25519'),
        knownHosts: path.join(dir, 'known_hosts'),
      },
      trunk: EMULATED.hostInterface,
      trunkAddress: emulatedHostAddress(i),
      cpu: 100,
      labels: { emulated: 'true' },
      agentCommand: [process.execPath, edivBin],
      agentStateDir: path.join(dir, 'hosts', name, 'agent'),
      transport: 'ssh',
      driver: 'netns',
    });
  }
  return {
    hosts,
    ids: { ...EMULATED.ids },
    backplane: 'vxlan',
    management: { network: EMULATED.network, interface: EMULATED.bridge },
    segmentator: 'round-robin',
    source: { path: path.join(dir, 'cluster.yaml'), format: 'emulated' },
  };
}
