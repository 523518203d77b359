// Before an emulated cluster is removed, deployments still on its hosts are destroyed: their VM
// namespaces live machine-wide and would outlive the host namespaces, unreachable by any later
// `ediv undeploy`. The agent runs inside each host's network namespace, as it would over SSH,
// but without needing that host's sshd to be alive.
import { existsSync } from 'node:fs';
import { edivBin } from '../common/paths.ts';
import { emulatedCluster, emulatedHostNamespace } from './layout.ts';
import { netnsList } from './sys.ts';
import { LocalTransport } from '../transport/local.ts';
import type { StatusResult } from '../protocol/agent.ts';

/** Destroys every deployment the agents of hosts 1..n still hold; returns "host/deployment" per one destroyed. */
export async function destroyLeftoverDeployments(
  dir: string,
  k: number,
  n: number,
  say: (message: string, host?: string) => void,
): Promise<{ destroyed: string[]; failed: string[] }> {
  const destroyed: string[] = [];
  const failed: string[] = [];
  const present = await netnsList();
  const hosts = emulatedCluster(n, dir, k).hosts;
  await Promise.all(
    hosts.map(async (host, idx) => {
      const ns = emulatedHostNamespace(idx + 1, k);
      if (!present.has(ns) || !existsSync(host.agentStateDir!)) return;
      // This controller's own agent (a bare host's pushed one is the same code), in the host's namespace.
      const { agentNode: _pushed, ...installed } = host;
      const inNs = new LocalTransport({ ...installed, agentCommand: ['nsenter', `--net=/run/netns/${ns}`, '--', process.execPath, edivBin] });
      let deployments: string[];
      try {
        const status = await inNs.runAgent<StatusResult>('status', { host: host.name }, undefined, { timeoutMs: 60_000 });
        deployments = status.deployments.map((d) => d.name);
      } catch (err) {
        failed.push(`${host.name}: cannot list its deployments: ${(err as Error).message}`);
        return;
      }
      for (const deployment of deployments) {
        say(`destroying deployment ${deployment} left on the host`, host.name);
        try {
          await inNs.runAgent('destroy', { deployment, host: host.name }, undefined, { timeoutMs: 10 * 60_000 });
          destroyed.push(`${host.name}/${deployment}`);
        } catch (err) {
          failed.push(`${host.name}/${deployment}: ${(err as Error).message}`);
        }
      }
    }),
  );
  return { destroyed, failed };
}
