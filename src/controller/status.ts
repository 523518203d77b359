// `ediv status`: the recorded scenarios joined with what the agents say now (load, VM state).
import type { NetLinks, StatusResult, VmLink, VmState, VmUsage } from '../protocol/agent.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import type { Progress } from './progress.ts';
import { errorMessage, settleAll, type HostSessions } from './sessions.ts';
import type { HostStatus, ScenarioStatus, StateStore, VmStatus } from './state.ts';

export interface ScenarioStatusReport {
  name: string;
  status: ScenarioStatus;
  error?: string;
  source: string;
  clusterFile: string;
  segmentator: string;
  createdAt: string;
  updatedAt: string;
  ids: { net: string; id: number }[];
  /** `driver`: what the recorded plan sends the host (absent for plans recorded before plans named it). */
  hosts: { host: string; status: HostStatus; error?: string; vms: number; driver?: string }[];
  /** Per VM: recorded and live state, and (container VMs) CPU seconds and MiB in use now; with a lab name, its links. */
  vms: ({ vm: string; host: string; recorded: VmStatus; live: VmState | 'unknown'; links?: VmLink[] } & VmUsage)[];
  /** With a lab name: per net, its bridge and backplane link on each host, and its backplane id. */
  nets?: { net: string; id?: number; hosts: ({ host: string } & Omit<NetLinks, 'net'>)[] }[];
}

export interface StatusReport {
  scenarios: ScenarioStatusReport[];
  hosts: { host: string; address: string; reachable: boolean; loadAvg?: [number, number, number]; error?: string }[];
}

export async function scenarioStatus(
  req: { name?: string; live?: boolean },
  deps: { store: StateStore; sessions: HostSessions; progress: Progress },
): Promise<StatusReport> {
  const { store, sessions, progress } = deps;
  const recs = req.name ? [store.requireScenario(req.name)] : store.listScenarios();

  // Every host any listed scenario uses, once (keyed by name and address).
  const hostsByKey = new Map<string, ClusterHost>();
  for (const rec of recs) {
    const used = new Set(store.hosts(rec.name).map((h) => h.host));
    for (const h of store.cluster(rec.name).hosts) if (used.has(h.name)) hostsByKey.set(hostKey(h), h);
  }
  const live = new Map<string, StatusResult>();
  const hostReports: StatusReport['hosts'] = [];
  if (req.live !== false) {
    const results = await settleAll([...hostsByKey.values()], (h) =>
      sessions.run<StatusResult>(h, 'status', { host: h.name, deployment: req.name, ...(req.name ? { detail: true } : {}) }, progress),
    );
    for (const r of results) {
      if (r.ok) {
        live.set(hostKey(r.item), r.value);
        hostReports.push({ host: r.item.name, address: r.item.address, reachable: true, loadAvg: r.value.loadAvg });
      } else {
        hostReports.push({ host: r.item.name, address: r.item.address, reachable: false, error: errorMessage(r.error) });
      }
    }
  }

  const scenarios = recs.map((rec): ScenarioStatusReport => {
    const cluster = new Map(store.cluster(rec.name).hosts.map((h) => [h.name, h]));
    const vmRecs = store.vms(rec.name);
    const planned = store.plan(rec.name).hosts;
    const liveVm = (vm: string, host: string): { live: VmState | 'unknown' } & VmUsage => {
      const h = cluster.get(host);
      const st = h && live.get(hostKey(h));
      if (!st) return { live: 'unknown' };
      const found = st.deployments.find((d) => d.name === rec.name)?.vms.find((v) => v.name === vm);
      if (!found) return { live: 'missing' };
      const { name: _name, state, ...rest } = found;
      return { live: state, ...rest };
    };
    // With a lab name the agents sent each net's links on their host: gathered per net.
    const netLinks = new Map<string, ({ host: string } & Omit<NetLinks, 'net'>)[]>();
    for (const [host, h] of cluster) {
      for (const n of (h && live.get(hostKey(h)))?.deployments.find((d) => d.name === rec.name)?.nets ?? []) {
        const { net, ...where } = n;
        netLinks.set(net, [...(netLinks.get(net) ?? []), { host, ...where }]);
      }
    }
    const ids = new Map(store.ids(rec.name).map((i) => [i.net, i.id]));
    return {
      name: rec.name,
      status: rec.status,
      error: rec.error,
      source: rec.sourcePath,
      clusterFile: rec.clusterFile,
      segmentator: rec.segmentator,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      ids: store.ids(rec.name).map((i) => ({ net: i.net, id: i.id })),
      hosts: store.hosts(rec.name).map((h) => ({
        host: h.host,
        status: h.status,
        error: h.error,
        vms: vmRecs.filter((v) => v.host === h.host).length,
        driver: planned[h.host]?.driver,
      })),
      vms: vmRecs.map((v) => ({ vm: v.vm, host: v.host, recorded: v.status, ...liveVm(v.vm, v.host) })),
      ...(netLinks.size ? { nets: [...netLinks].sort(([a], [b]) => a.localeCompare(b)).map(([net, hosts]) => ({ net, ...(ids.has(net) ? { id: ids.get(net) } : {}), hosts })) } : {}),
    };
  });
  hostReports.sort((a, b) => a.host.localeCompare(b.host));
  progress.done();
  return { scenarios, hosts: hostReports };
}

function hostKey(h: ClusterHost): string {
  return `${h.name}@${h.address}:${h.ssh?.port ?? ''}`;
}
