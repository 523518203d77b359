// The split: one fragment per host that receives VMs (DESIGN.md, "Plan").
//
// A fragment is the source scenario, in its own dialect, named `<name>_<host>`, holding that
// host's VMs (document order) and only the nets they use. Global sections, `<cmd-seq>`s and
// unnamed root elements are carried over to every fragment.
//
// The `<host>` section (the physical host's own interfaces, routes and commands) describes
// ONE machine, so it goes to exactly one fragment: the one of the host running the first VM
// (document order) attached to the net of the first `<hostif>` that has a VM; when no hostif
// net has a VM (or there is no hostif), the first host in cluster order that receives VMs.
// The nets of its hostifs are part of that fragment, and count as carried by that host —
// so a hostif net whose VMs run elsewhere spans hosts and is bound to the backplane.
// (EDIV silently dropped the section.)
//
// A private `<vm_mgmt>` (a /30 per VM at network + offset + 4n, n counting the fragment's VMs)
// gets, as in EDIV, a per-fragment offset: the scenario's offset plus 4 × the VMs of the earlier
// fragments (cluster order), so the management links of different hosts never overlap; with one
// host the addresses are VNX's (src/scenario/vm-mgmt.ts).
//
// A `<cmd-seq>` (a sequence made of other sequences) keeps only the sequences defined in the
// fragment (by its VMs' execs/filetrees, its host section, or its other kept cmd-seqs); one
// left with none is dropped. On that host the others would run nothing anyway, and the
// fragment stays a valid document.
//
// A net carried by more than one host gets a backplane id and is bound to it in every
// fragment that has it, as EDIV did: `external="<trunk>.<id>"` for the vlan backplane (the
// 802.1q subinterface of the host's trunk); for vxlan `external="vxlan<id>"` (VNI = id),
// naming the VXLAN device the net is bridged to. The host agent creates the actual devices
// from the BackplaneLink entries (kind, id, trunk, local and remote underlay addresses, and the
// cluster file's VXLAN port and trunk MTU).
import type { Net, Scenario } from '../scenario/model.ts';
import { seqNames } from '../scenario/sequences.ts';
import { isHostLocalNet } from '../scenario/reserved-nets.ts';
import type { Mapping } from '../segmentators/api.ts';
import { VXLAN_DEFAULT_PORT, type BackplaneKind, type Cluster, type ClusterHost } from '../protocol/cluster.ts';
import { BACKPLANES } from '../protocol/backplane.ts';
import { allocateIds, byName } from './ids.ts';
import type { BackplaneLink, SpanningNet } from '../protocol/plan.ts';
import { netCarriers } from './quality.ts';
import { vmMgmtOf, withMgmtOffset } from '../scenario/vm-mgmt.ts';

export interface SplitFragment {
  host: string;
  vms: string[];
  fragmentName: string;
  fragment: Scenario;
  backplane: BackplaneLink[];
}

export interface SplitResult {
  /** Hosts receiving VMs, in cluster order. */
  fragments: SplitFragment[];
  spanning: SpanningNet[];
  carriers: Map<string, Set<string>>;
  /** Host whose fragment holds the `<host>` section, when the scenario has one. */
  hostSectionHost?: string;
}

/** The host whose fragment keeps the `<host>` section (see the header comment). */
export function hostSectionHost(scenario: Scenario, mapping: Mapping, hostOrder: string[]): string | undefined {
  if (!scenario.host) return undefined;
  for (const hi of scenario.host.ifaces) {
    const vm = scenario.vms.find((v) => v.ifaces.some((f) => f.net === hi.net));
    if (vm) return mapping[vm.name];
  }
  const used = new Set(Object.values(mapping));
  return hostOrder.find((h) => used.has(h));
}

/** What a spanning net's `external` becomes in the fragment of a host. */
export function backplaneBinding(kind: BackplaneKind, host: ClusterHost, id: number): string {
  return BACKPLANES[kind].external(host.trunk, id);
}

/**
 * The cluster-wide settings every backplane link of the cluster carries: the VXLAN port (always,
 * for vxlan, so a plan shows it next to the id) and the trunk MTU (when the cluster file sets it).
 */
export function linkSettings(cluster: Pick<Cluster, 'backplane' | 'vxlan' | 'trunkMTU'>): Pick<BackplaneLink, 'port' | 'trunkMTU'> {
  return {
    ...(cluster.backplane === 'vxlan' ? { port: cluster.vxlan?.port ?? VXLAN_DEFAULT_PORT } : {}),
    ...(cluster.trunkMTU !== undefined ? { trunkMTU: cluster.trunkMTU } : {}),
  };
}

export function underlayAddress(host: ClusterHost): string {
  return host.trunkAddress ?? host.address;
}

/** The cmd-seqs of a fragment: members restricted to sequences the fragment defines. */
export function fragmentCmdSeqs(cmdSeqs: Scenario['cmdSeqs'], vms: Scenario['vms'], host: Scenario['host']): Scenario['cmdSeqs'] {
  const defined = new Set<string>();
  for (const vm of vms) {
    for (const x of [...vm.execs, ...vm.filetrees]) for (const q of seqNames(x.seq)) defined.add(q);
  }
  for (const x of host?.execs ?? []) for (const q of seqNames(x.seq)) defined.add(q);
  // Fixpoint: a cmd-seq is kept when one of its members is defined or is a kept cmd-seq; an
  // empty one (it does nothing anywhere) is in every fragment.
  const kept = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [seq, parts] of cmdSeqs) {
      if (!kept.has(seq) && (parts.length === 0 || parts.some((p) => defined.has(p) || kept.has(p)))) {
        kept.add(seq);
        changed = true;
      }
    }
  }
  const out: Scenario['cmdSeqs'] = new Map();
  for (const [seq, parts] of cmdSeqs) {
    if (kept.has(seq)) out.set(seq, parts.filter((p) => defined.has(p) || kept.has(p)));
  }
  return out;
}

function withoutConnections(n: Net): Net {
  if (!n.extra.children.some((c) => c.node.tag === 'connection')) return n;
  return { ...n, extra: { ...n.extra, children: n.extra.children.filter((c) => c.node.tag !== 'connection') } };
}

export function splitScenario(
  scenario: Scenario,
  mapping: Mapping,
  cluster: Cluster,
  idsInUse?: Set<number>,
  keepIds?: ReadonlyMap<string, number>,
): SplitResult {
  const hostOrder = cluster.hosts.map((h) => h.name);
  const byHostName = new Map(cluster.hosts.map((h) => [h.name, h]));
  const sectionHost = hostSectionHost(scenario, mapping, hostOrder);
  const carriers = netCarriers(scenario, mapping, sectionHost);

  // A host's own bridge (managed="no") is per host: it never spans.
  const hostLocal = new Set(scenario.nets.filter(isHostLocalNet).map((n) => n.name));
  const spanningNames = [...carriers].filter(([n, hs]) => hs.size > 1 && !hostLocal.has(n)).map(([n]) => n);
  const ids = allocateIds(spanningNames, cluster.ids, idsInUse, keepIds);
  const spanning: SpanningNet[] = spanningNames.sort(byName).map((net) => ({
    net,
    id: ids.get(net)!,
    hosts: [...carriers.get(net)!].sort(byName),
  }));

  const vmsOf = new Map<string, string[]>();
  for (const vm of scenario.vms) {
    const h = mapping[vm.name];
    const list = vmsOf.get(h) ?? [];
    list.push(vm.name);
    vmsOf.set(h, list);
  }
  // A <connection> between nets is made on one host only, the first that carries the nets
  // (connected nets are carried together; a link on every host would close a layer-2 loop over
  // the backplane): the other fragments have the nets without it.
  const firstCarrier = (net: string) => hostOrder.find((h) => carriers.get(net)?.has(h)) ?? homeOfUnused;
  // A declared net no VM or hostif is on still exists (VNX makes it): on the host of the
  // <host> section, else the first host that gets VMs.
  const homeOfUnused = sectionHost ?? hostOrder.find((h) => vmsOf.has(h));
  const fragments: SplitFragment[] = [];
  const mgmt = vmMgmtOf(scenario);
  let mgmtVmsBefore = 0;
  for (const hostName of hostOrder) {
    const vms = vmsOf.get(hostName);
    if (!vms) continue;
    const host = byHostName.get(hostName)!;
    const fragmentName = `${scenario.name}_${hostName}`;
    const nets: Net[] = [];
    for (const net of scenario.nets) {
      if (!carriers.get(net.name)?.has(hostName) && !(hostName === homeOfUnused && !carriers.has(net.name))) continue;
      const id = ids.get(net.name);
      // A spanning net's fragment names its backplane binding as `external` (what VNX would
      // build), unless the scenario gives the net an uplink of its own: that is kept (the agent
      // gets the backplane from the apply request either way).
      const bound = id === undefined || net.external ? net : { ...net, external: backplaneBinding(cluster.backplane, host, id) };
      nets.push(hostName === firstCarrier(net.name) ? bound : withoutConnections(bound));
    }
    const keep = new Set(vms);
    const fragmentVms = scenario.vms.filter((vm) => keep.has(vm.name));
    const host_ = hostName === sectionHost ? scenario.host : undefined;
    const global =
      mgmt?.type === 'private' && Number.isInteger(mgmt.offset) && mgmtVmsBefore > 0 ? withMgmtOffset(scenario.global, mgmt.offset + 4 * mgmtVmsBefore) : scenario.global;
    mgmtVmsBefore += fragmentVms.length;
    const fragment: Scenario = {
      ...scenario,
      global,
      name: fragmentName,
      nets,
      vms: fragmentVms,
      host: host_,
      cmdSeqs: fragmentCmdSeqs(scenario.cmdSeqs, fragmentVms, host_),
    };
    const backplane: BackplaneLink[] = spanning
      .filter((s) => s.hosts.includes(hostName))
      .map((s) => ({
        kind: cluster.backplane,
        net: s.net,
        id: s.id,
        trunk: host.trunk,
        localAddress: underlayAddress(host),
        remotes: s.hosts
          .filter((h) => h !== hostName)
          .map((h) => underlayAddress(byHostName.get(h)!))
          .sort(byName),
        ...linkSettings(cluster),
      }));
    fragments.push({ host: hostName, vms, fragmentName, fragment, backplane });
  }
  return { fragments, spanning, carriers, hostSectionHost: sectionHost };
}
