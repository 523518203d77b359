// `ediv status`: the recorded scenarios joined with what the agents say now (load, VM state);
// an ordinary user's own labs, an administrator's every lab; --all adds what the cluster's hosts
// hold that the store does not record (other controllers' labs).
import type { DeploymentOwner, HostUsage, NetLinks, StatusResult, VmLink, VmState, VmUsage } from '../protocol/agent.ts';
import { VXLAN_DEFAULT_PORT, type Cluster, type ClusterHost } from '../protocol/cluster.ts';
import { BACKPLANES } from '../protocol/backplane.ts';
import { visibleLabs, type Caller } from './owners.ts';
import type { Progress } from './progress.ts';
import { errorMessage, settleAll, type HostSessions } from './sessions.ts';
import type { HostRecord, HostStatus, ScenarioRecord, ScenarioStatus, StateStore, VmStatus } from '../state/store.ts';

export interface ScenarioStatusReport {
  name: string;
  /** What the hosts know the lab by (`<name>.<uid>`). */
  key: string;
  owner: DeploymentOwner;
  status: ScenarioStatus;
  error?: string;
  source: string;
  clusterFile: string;
  segmentator: string;
  createdAt: string;
  updatedAt: string;
  ids: { net: string; id: number }[];
  /** The backplane the lab's spanning nets use, as its cluster was at deploy: its kind, VXLAN's UDP port, the trunk path's MTU when set. */
  backplane: { kind: string; port?: number; trunkMTU?: number };
  /** `driver`: what the recorded plan sends the host (absent for plans recorded before plans named it). */
  hosts: { host: string; status: HostStatus; error?: string; vms: number; driver?: string }[];
  /** Per VM: recorded and live state, and (container VMs) CPU seconds and MiB in use now; with a lab name, its links. */
  vms: ({ vm: string; host: string; recorded: VmStatus; live: VmState | 'unknown'; links?: VmLink[] } & VmUsage)[];
  /** With a lab name: per net, its bridge and backplane link on each host, and its backplane id. */
  nets?: { net: string; id?: number; hosts: ({ host: string } & Omit<NetLinks, 'net'>)[] }[];
}

/** A deployment found on the hosts that the state store does not record (`status --all`). */
export interface UnrecordedLab {
  key: string;
  name: string;
  owner?: DeploymentOwner;
  hosts: string[];
  vms: number;
  ids: { net: string; id: number }[];
}

export interface StatusReport {
  scenarios: ScenarioStatusReport[];
  /** `usage`: the host's CPUs and memory (absent from older agents). */
  hosts: { host: string; address: string; reachable: boolean; loadAvg?: [number, number, number]; usage?: HostUsage; error?: string }[];
  /** With --all: deployments on the cluster's hosts this store does not record. */
  unrecorded?: UnrecordedLab[];
  /** With --all: how many recorded labs of other owners the caller may not see. */
  hidden?: number;
}

export async function scenarioStatus(
  req: { name?: string; live?: boolean; caller?: Caller; all?: boolean; cluster?: Cluster; sampleMs?: number },
  deps: { store: StateStore; sessions: HostSessions; progress: Progress },
): Promise<StatusReport> {
  const { store, sessions, progress } = deps;
  const recorded = req.name ? [await store.requireScenario(req.name)] : await store.listScenarios();
  const recs = req.caller && !req.name ? visibleLabs(recorded, req.caller) : recorded;

  // Every host any listed scenario uses, once (keyed by name and address); with --all, every host of the cluster too.
  const hostsByKey = new Map<string, ClusterHost>();
  const labRecords = new Map<string, { cluster: Cluster; hosts: HostRecord[] }>();
  for (const rec of recs) {
    const cluster = await store.cluster(rec.name);
    const hosts = await store.hosts(rec.name);
    labRecords.set(rec.name, { cluster, hosts });
    const used = new Set(hosts.map((h) => h.host));
    for (const h of cluster.hosts) if (used.has(h.name)) hostsByKey.set(hostKey(h), h);
  }
  if (req.all) for (const h of req.cluster?.hosts ?? []) hostsByKey.set(hostKey(h), h);
  const live = new Map<string, StatusResult>();
  const hostReports: StatusReport['hosts'] = [];
  if (req.live !== false) {
    const one = req.name ? recs[0] : undefined;
    const results = await settleAll([...hostsByKey.values()], (h) =>
      sessions.run<StatusResult>(h, 'status', { host: h.name, ...(one ? { deployment: one.key, detail: true } : {}), ...(req.sampleMs ? { sampleMs: req.sampleMs } : {}) }, progress),
    );
    for (const r of results) {
      if (r.ok) {
        live.set(hostKey(r.item), r.value);
        hostReports.push({ host: r.item.name, address: r.item.address, reachable: true, loadAvg: r.value.loadAvg, ...(r.value.host ? { usage: r.value.host } : {}) });
      } else {
        hostReports.push({ host: r.item.name, address: r.item.address, reachable: false, error: errorMessage(r.error) });
      }
    }
  }

  const scenarios: ScenarioStatusReport[] = [];
  for (const rec of recs) scenarios.push(await labReport(store, rec, labRecords.get(rec.name)!, live));
  hostReports.sort((a, b) => a.host.localeCompare(b.host));
  progress.done();
  const report: StatusReport = { scenarios, hosts: hostReports };
  if (req.all) {
    report.unrecorded = unrecordedLabs(live, hostsByKey, new Set(recorded.map((r) => r.key)));
    report.hidden = recorded.length - recs.length;
  }
  return report;
}

function backplaneOf(c: Cluster): ScenarioStatusReport['backplane'] {
  return {
    kind: c.backplane,
    ...(c.backplane === BACKPLANES.vxlan.kind ? { port: c.vxlan?.port ?? VXLAN_DEFAULT_PORT } : {}),
    ...(c.trunkMTU !== undefined ? { trunkMTU: c.trunkMTU } : {}),
  };
}

/** One recorded lab: its record joined with what its hosts report now. */
async function labReport(
  store: StateStore,
  rec: ScenarioRecord,
  recorded: { cluster: Cluster; hosts: HostRecord[] },
  live: Map<string, StatusResult>,
): Promise<ScenarioStatusReport> {
  const cluster = new Map(recorded.cluster.hosts.map((h) => [h.name, h]));
  const vmRecs = await store.vms(rec.name);
  const planned = (await store.plan(rec.name)).hosts;
  const idRecs = await store.ids(rec.name);
  const onHost = (h: ClusterHost | undefined) => (h && live.get(hostKey(h)))?.deployments.find((d) => d.name === rec.key);
  const liveVm = (vm: string, host: string): { live: VmState | 'unknown' } & VmUsage => {
    const h = cluster.get(host);
    if (!h || !live.get(hostKey(h))) return { live: 'unknown' };
    const found = onHost(h)?.vms.find((v) => v.name === vm);
    if (!found) return { live: 'missing' };
    const { name: _name, state, ...rest } = found;
    return { live: state, ...rest };
  };
  // With a lab name the agents sent each net's links on their host: gathered per net.
  const netLinks = new Map<string, ({ host: string } & Omit<NetLinks, 'net'>)[]>();
  for (const [host, h] of cluster) {
    for (const n of onHost(h)?.nets ?? []) {
      const { net, ...where } = n;
      netLinks.set(net, [...(netLinks.get(net) ?? []), { host, ...where }]);
    }
  }
  const ids = new Map(idRecs.map((i) => [i.net, i.id]));
  return {
    name: rec.name,
    key: rec.key,
    owner: rec.owner,
    status: rec.status,
    error: rec.error,
    source: rec.sourcePath,
    clusterFile: rec.clusterFile,
    segmentator: rec.segmentator,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    ids: idRecs.map((i) => ({ net: i.net, id: i.id })),
    backplane: backplaneOf(recorded.cluster),
    hosts: recorded.hosts.map((h) => ({
      host: h.host,
      status: h.status,
      error: h.error,
      vms: vmRecs.filter((v) => v.host === h.host).length,
      driver: planned[h.host]?.driver,
    })),
    vms: vmRecs.map((v) => ({ vm: v.vm, host: v.host, recorded: v.status, ...liveVm(v.vm, v.host) })),
    ...(netLinks.size ? { nets: [...netLinks].sort(([a], [b]) => a.localeCompare(b)).map(([net, hosts]) => ({ net, ...(ids.has(net) ? { id: ids.get(net) } : {}), hosts })) } : {}),
  };
}

/** Deployments the hosts hold that this store does not record (another controller's, or left behind), merged per key. */
function unrecordedLabs(live: Map<string, StatusResult>, hosts: Map<string, ClusterHost>, known: Set<string>): UnrecordedLab[] {
  const found = new Map<string, UnrecordedLab>();
  for (const [key, st] of live) {
    const host = hosts.get(key)!.name;
    for (const d of st.deployments) {
      if (known.has(d.name)) continue;
      const lab = found.get(d.name) ?? { key: d.name, name: d.lab ?? d.name, owner: d.owner, hosts: [], vms: 0, ids: [] };
      lab.hosts.push(host);
      lab.vms += d.vms.length;
      for (const b of d.backplane ?? []) if (!lab.ids.some((i) => i.net === b.net && i.id === b.id)) lab.ids.push({ net: b.net, id: b.id });
      found.set(d.name, lab);
    }
  }
  return [...found.values()].sort((a, b) => a.key.localeCompare(b.key));
}

function hostKey(h: ClusterHost): string {
  return `${h.name}@${h.address}:${h.ssh?.port ?? ''}`;
}
