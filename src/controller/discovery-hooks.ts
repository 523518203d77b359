// Keeping each host's UPnP discovery daemon (`ediv agent serve`, docs/discovery.md) in step with
// what the host runs: started (or told to reload) after a deploy applied there, told to reload
// after an undeploy removed something, stopped when the host runs no scenario any more.
import type { StatusResult } from '../host-agent/protocol.ts';
import type { ClusterHost } from './cluster-model.ts';
import type { HostSessions } from './sessions.ts';

export function discoveryHooks(sessions: HostSessions): {
  afterApply: (host: ClusterHost) => Promise<void>;
  afterDestroy: (host: ClusterHost) => Promise<void>;
} {
  return {
    // Starts the daemon when it is not running; a running one re-reads the VM list.
    afterApply: async (host) => {
      await sessions.run(host, 'serve', { host: host.name, address: host.trunkAddress ?? host.address });
    },
    afterDestroy: async (host) => {
      const st = await sessions.run<StatusResult>(host, 'status', { host: host.name });
      const busy = st.deployments.some((d) => d.vms.length > 0);
      await sessions.run(host, 'serve', busy ? { host: host.name, reload: true } : { host: host.name, stop: true });
    },
  };
}
