// `ediv cluster check`: can every host take its part? Each host's facts (over one connection per
// host) judged by host-requirements.ts, item by item, the clock from a second facts round trip
// (the first pays for the connection), and the cluster's free backplane ids (its range minus the
// ids the hosts and this store's labs use). With a scenario, its own needs too (FRR).
import type { FactsResult } from '../protocol/agent.ts';
import type { Cluster } from '../protocol/cluster.ts';
import type { StateStore } from '../state/store.ts';
import { hostRequirements, clockSkew, unmet, type LabNeeds, type Requirement } from './host-requirements.ts';
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
  /** Every item checked, met or not. */
  requirements: Requirement[];
  /** The required items that failed (or why the host could not be asked). */
  problems: string[];
}

export interface IdsCheck {
  first: number;
  last: number;
  total: number;
  used: number;
  free: number;
}

export interface ClusterCheckReport {
  ok: boolean;
  clusterFile: string;
  backplane: string;
  controllerVersion: string;
  hosts: HostCheck[];
  ids: IdsCheck;
  problems: { host: string; problem: string }[];
}

/** How many ids of the cluster's range(s) are not in `used`. */
export function freeIds(cluster: Cluster, used: ReadonlySet<number>): IdsCheck {
  const ranges = cluster.ids.ranges ?? [{ first: cluster.ids.first, last: cluster.ids.last }];
  const total = ranges.reduce((n, r) => n + (r.last - r.first + 1), 0);
  const inRange = [...used].filter((id) => ranges.some((r) => id >= r.first && id <= r.last)).length;
  return { first: cluster.ids.first, last: cluster.ids.last, total, used: inRange, free: total - inRange };
}

/** The backplane ids this store's labs hold. */
async function storeIds(store: StateStore | undefined): Promise<number[]> {
  if (!store) return [];
  const ids: number[] = [];
  for (const rec of await store.listScenarios()) {
    if (rec.status === 'planning') continue;
    ids.push(...(await store.plan(rec.name)).spanning.map((s) => s.id));
  }
  return ids;
}

export async function checkCluster(
  cluster: Cluster,
  deps: { sessions: HostSessions; progress: Progress; version: string; store?: StateStore; lab?: LabNeeds },
): Promise<ClusterCheckReport> {
  const results = await settleAll(cluster.hosts, async (h) => {
    await deps.sessions.run<FactsResult>(h, 'facts', {}, deps.progress);
    const sent = Date.now();
    const f = await deps.sessions.run<FactsResult>(h, 'facts', {});
    return { f, skewMs: clockSkew(f, sent, Date.now()) };
  });
  const used = new Set(await storeIds(deps.store));
  const hosts: HostCheck[] = results.map((r) => {
    const base = { host: r.item.name, address: r.item.address };
    if (!r.ok) {
      deps.progress.host(r.item.name, 'unreachable');
      return { ...base, reachable: false, requirements: [], problems: [`unreachable: ${errorMessage(r.error)}`] };
    }
    const { f, skewMs } = r.value;
    for (const u of f.backplaneIds ?? []) if (u.kind === cluster.backplane) used.add(u.id);
    const requirements = hostRequirements(cluster, r.item, f, { controllerVersion: deps.version, ...(skewMs !== undefined ? { skewMs } : {}), ...(deps.lab ? { lab: deps.lab } : {}) });
    const problems = unmet(requirements);
    deps.progress.host(r.item.name, problems.length ? 'problems' : 'ok');
    return { ...base, reachable: true, version: f.version, root: f.root, capabilities: f.capabilities, drivers: f.drivers, requirements, problems };
  });
  deps.progress.done();
  const ids = freeIds(cluster, used);
  const problems = hosts.flatMap((h) => h.problems.map((problem) => ({ host: h.host, problem })));
  if (ids.free === 0) problems.push({ host: '-', problem: `no free backplane id: all ${ids.total} of the cluster's ids (${ids.first}-${ids.last}) are in use` });
  return {
    ok: problems.length === 0,
    clusterFile: cluster.source.path,
    backplane: cluster.backplane,
    controllerVersion: deps.version,
    hosts,
    ids,
    problems,
  };
}
