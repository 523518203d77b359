// Keeping each host's UPnP discovery daemon (`ediv agent serve`, docs/discovery.md) in step with
// what the host runs: started (or told to reload) after a deploy applied there, told to reload
// after an undeploy removed something, stopped when the host runs no scenario any more.
import { isIPv4 } from 'node:net';
import type { StatusResult } from '../protocol/agent.ts';
import type { Cluster, ClusterHost } from '../protocol/cluster.ts';
import type { HostSessions } from './sessions.ts';

/**
 * Where the host's daemon listens: its management address when the cluster file gives an IPv4
 * address, else its address inside the cluster's management network (a DNS name cannot be bound).
 */
export function managementOf(host: ClusterHost, cluster: Cluster): { address: string } | { network: string } | undefined {
  if (isIPv4(host.address)) return { address: host.address };
  return cluster.management.network ? { network: cluster.management.network } : undefined;
}

/** After a deploy applied on a host: start its daemon, or make a running one re-read the VM list. */
export function startDiscoveryAfterApply(sessions: HostSessions, cluster: Cluster): (host: ClusterHost) => Promise<void> {
  return async (host) => {
    const where = managementOf(host, cluster);
    if (!where) throw new Error(`${host.name}: its address is a name and the cluster file gives no management network to serve UPnP on`);
    await sessions.run(host, 'serve', { host: host.name, ...where });
  };
}

/** After an undeploy removed something on a host: reload its daemon, or stop it when the host runs nothing. */
export function syncDiscoveryAfterDestroy(sessions: HostSessions): (host: ClusterHost) => Promise<void> {
  return async (host) => {
    const st = await sessions.run<StatusResult>(host, 'status', { host: host.name });
    const busy = st.deployments.some((d) => d.vms.length > 0);
    await sessions.run(host, 'serve', busy ? { host: host.name, reload: true } : { host: host.name, stop: true });
  };
}
