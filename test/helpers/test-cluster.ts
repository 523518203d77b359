// A cluster of n hosts for controller unit tests (fake transports): documentation addresses, vxlan, round-robin.
import type { Cluster, ClusterHost } from '../../src/protocol/cluster.ts';

export function testCluster(n: number): Cluster {
  const hosts: ClusterHost[] = [];
  for (let i = 1; i <= n; i++) {
    hosts.push({
      name: `host${i}`, address: `192.0.2.${i}`, ssh: { user: 'root', port: 22 }, trunk: 'eth0', cpu: 100, labels: {},
      agentCommand: ['ediv'], transport: 'ssh', driver: 'netns',
    });
  }
  return { hosts, ids: { first: 1000, last: 1999 }, backplane: 'vxlan', management: {}, segmentator: 'round-robin', source: { path: 'c.yaml', format: 'yaml' } };
}
