// `ediv cluster check`: is every host ready to run a scenario? Reachable over SSH, the agent's
// version equal to the controller's, root, and the kernel capabilities the cluster's backplane
// and each host's driver need. Returns the list of what is wrong (empty = ready).
import type { FactsResult } from '../protocol/agent.ts';
import type { Cluster, ClusterHost } from '../protocol/cluster.ts';
import { BACKPLANES } from '../protocol/backplane.ts';
import { hostDrivers } from './drivers.ts';
import type { Progress } from './progress.ts';
import { errorMessage, settleAll, type HostSessions } from './sessions.ts';

export interface HostCheck {
  host: string;
  address: string;
  reachable: boolean;
  version?: string;
  root?: boolean;
  capabilities?: FactsResult['capabilities'];
  drivers?: string[];
  problems: string[];
}

export interface ClusterCheckReport {
  ok: boolean;
  clusterFile: string;
  backplane: string;
  controllerVersion: string;
  hosts: HostCheck[];
  problems: { host: string; problem: string }[];
}

/** What is wrong with one host's facts for this cluster (pure; unit-tested). */
export function factsProblems(cluster: Cluster, host: ClusterHost, f: FactsResult, controllerVersion: string): string[] {
  const p: string[] = [];
  if (f.version !== controllerVersion) p.push(`agent version ${f.version} differs from the controller's ${controllerVersion}`);
  if (!f.root) p.push('the agent does not run as root (it must create namespaces and links)');
  const caps = f.capabilities ?? ({} as Partial<FactsResult['capabilities']>);
  const need: [keyof FactsResult['capabilities'], string][] = [
    ['netns', 'network namespaces'],
    ['bridge', 'Linux bridges'],
    ['veth', 'veth pairs'],
  ];
  const backplane = BACKPLANES[cluster.backplane];
  if (backplane) need.push([backplane.capability, backplane.lacking]);
  for (const [cap, what] of need) if (!caps[cap]) p.push(`kernel lacks ${what}`);
  for (const driver of hostDrivers(cluster, host)) {
    if (!(f.drivers ?? []).includes(driver)) {
      p.push(`driver ${driver} is not available (available: ${(f.drivers ?? []).join(', ') || 'none'})`);
    }
  }
  return p;
}

export async function checkCluster(
  cluster: Cluster,
  deps: { sessions: HostSessions; progress: Progress; version: string },
): Promise<ClusterCheckReport> {
  const results = await settleAll(cluster.hosts, (h) => deps.sessions.run<FactsResult>(h, 'facts', {}, deps.progress));
  const hosts: HostCheck[] = results.map((r) => {
    const base = { host: r.item.name, address: r.item.address };
    if (!r.ok) return { ...base, reachable: false, problems: [`unreachable: ${errorMessage(r.error)}`] };
    const f = r.value;
    const problems = factsProblems(cluster, r.item, f, deps.version);
    deps.progress.host(r.item.name, problems.length ? 'problems' : 'ok');
    return { ...base, reachable: true, version: f.version, root: f.root, capabilities: f.capabilities, drivers: f.drivers, problems };
  });
  deps.progress.done();
  const problems = hosts.flatMap((h) => h.problems.map((problem) => ({ host: h.host, problem })));
  return {
    ok: problems.length === 0,
    clusterFile: cluster.source.path,
    backplane: cluster.backplane,
    controllerVersion: deps.version,
    hosts,
    problems,
  };
}
