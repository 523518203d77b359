// Resolves the host a restriction names to a cluster host. EDIV files name hosts however the
// cluster.conf of the day did (03d says "kofy.dit.upm.es" where the 0.9.4 cluster.conf says
// "kofy"), so the match is tried in order: exact host name, host address, then the first DNS
// label of the written name against host names. A match that is not unique is an error.
import type { Cluster } from '../protocol/cluster.ts';

export type HostResolution = { host: string } | { problem: string };

export function resolveHostName(written: string, cluster: Cluster): HostResolution {
  const hosts = cluster.hosts;
  const exact = hosts.find((h) => h.name === written);
  if (exact) return { host: exact.name };
  const lower = written.toLowerCase().replace(/\.$/, '');
  const byAddress = hosts.filter((h) => h.address.toLowerCase().replace(/\.$/, '') === lower);
  if (byAddress.length === 1) return { host: byAddress[0]!.name };
  const label = lower.split('.')[0]!;
  const byLabel = byAddress.length > 1 ? byAddress : hosts.filter((h) => h.name.toLowerCase() === label);
  if (byLabel.length === 1) return { host: byLabel[0]!.name };
  const valid = hosts.map((h) => (h.address !== h.name ? `${h.name} (${h.address})` : h.name)).join(', ');
  if (byLabel.length > 1) {
    return { problem: `host "${written}" matches several cluster hosts (${byLabel.map((h) => h.name).join(', ')}); use one of: ${valid}` };
  }
  return { problem: `host "${written}" is not in the cluster; valid hosts: ${valid}` };
}
