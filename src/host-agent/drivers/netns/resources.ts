// The netns driver's kernel resources: one network namespace per VM, one bridge per net in the
// agent's own namespace, a veth per VM interface, backplane links for spanning nets.
//
// apply compares the desired state with the journal and the kernel, journals what it is about
// to make (one fsync), then makes it in few processes: one `ip -batch` for everything on the
// host side, one `ip -n <ns> -batch` per VM namespace (run in parallel), one `bridge -batch`
// for VXLAN replication entries; `tc -batch` runs for link shaping (host side, and per shaped VM
// inside its namespace); the <host> section is made after the VMs (host-section.ts). destroy
// removes what the journal lists and verifies it is gone.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../../../common/errors.ts';
import { Journal, type Resource } from '../../journal.ts';
import { isBackplaneKind } from '../../../protocol/backplane.ts';
import { bridgeKey, mgmtKey, netSpecHash, qdiscKey, vethKey, type DesiredState, type NetSpec, type VmSpec } from './desired.ts';
import { bridgeLines, bridgeUpLines, connectionLines, vmHostLines, vmInnerOps, vmShapingLines } from './commands.ts';
import { configureNamespaces } from './ns-config.ts';
import {
  hostConfigLines,
  hostLinkLines,
  hostLinkResources,
  hostSectionIsCurrent,
  hostSysctlKey,
  hostSysctls,
  journaledHostResources,
} from './host-section.ts';
import { SHAPING_ROOT_KINDS, shapingLines, unshapeLine } from './shaping.ts';
import { backplaneKey } from '../../backplanes/backplane.ts';
import { backplaneFor } from '../../backplanes/registry.ts';
import type { DriverContext } from '../driver.ts';
import type { BackplaneKind } from '../../../protocol/cluster.ts';
import {
  bootId,
  bridgeBatch,
  ipBatch,
  listLinks,
  listNetns,
  mustIpBatch,
  nsBatches,
  cgroupPids,
  pidsInNetns,
  processStart,
  readSysctl,
  removeCgroupDir,
  rootQdiscKind,
  run,
  signalPids,
  tcBatch,
  writeSysctl,
  NETNS_DIR,
  type LinkInfo,
} from '../../sys.ts';
import { overlayAnchors, startHolder } from './vm-holder.ts';
import { deploymentDir, listDeployments } from '../../store.ts';
import { mapLimit } from '../../../common/parallel.ts';

export const PARALLEL = Math.max(4, os.availableParallelism() * 2);

export function netnsKey(vm: string): string {
  return `netns:${vm}`;
}
export function holderKey(vm: string): string {
  return `process:${vm}:holder`;
}
function vmDirKey(vm: string): string {
  return `dir:${vm}`;
}

/**
 * What a driver makes of a VM besides its network, started once the VM's namespace and links
 * are configured: the netns driver's holder (private file views for filetrees), the container
 * driver's machine (its own root, hostname, PID 1).
 */
export interface MachineLayer {
  /** Whether the VM's machine is there as specified. */
  isCurrent(ctx: DriverContext, vm: VmSpec): boolean;
  /** What the VM's machine consists of: journaled with the VM's network, before anything is made. */
  resources(ctx: DriverContext, vm: VmSpec): Resource[];
  /** Makes the machines of freshly configured VMs; resolves with their resources as made (pids known), to journal again. */
  start(ctx: DriverContext, vms: VmSpec[]): Promise<Resource[]>;
  /**
   * Starts DHCP on the interfaces that ask for it, once the machines run; resolves with warnings.
   * A layer without it configures no DHCP (prepareNetworkApply says so).
   */
  dhcp?(ctx: DriverContext, vms: VmSpec[]): Promise<string[]>;
}

/** A journaled process that is still the one that was recorded. */
export function journaledProcessAlive(ctx: Pick<DriverContext, 'journal'>, key: string): boolean {
  const p = ctx.journal.get(key);
  return p?.pid !== undefined && processStart(p.pid) === p.start;
}

/** The netns driver's machine: a holder process, for VMs with filetrees only. */
export const holderMachine: MachineLayer = {
  isCurrent: (ctx, vm) => vm.filetreeRoots.length === 0 || journaledProcessAlive(ctx, holderKey(vm.vm)),
  resources: (ctx, vm) => (vm.filetreeRoots.length ? holderResources(ctx, vm) : []),
  start: (ctx, vms) => mapLimit(vms.filter((vm) => vm.filetreeRoots.length), PARALLEL, (vm) => startVmHolder(ctx, vm)),
};

/** Whether a VM is fully there as specified (then apply leaves it alone). */
function vmIsCurrent(vm: VmSpec, ctx: DriverContext, namespaces: Set<string>, links: Map<string, LinkInfo>, machine: MachineLayer): boolean {
  if (ctx.journal.configuredVms().get(vm.vm) !== vm.hash) return false;
  if (!namespaces.has(vm.netns)) return false;
  if (!vm.ifaces.every((i) => links.has(i.outer) && links.get(i.outer)!.master === i.bridge)) return false;
  if (vm.mgmt && !links.has(vm.mgmt.outer)) return false;
  return machine.isCurrent(ctx, vm);
}

function backplaneIsCurrent(net: NetSpec, ctx: DriverContext, links: Map<string, LinkInfo>): boolean {
  const b = net.backplane!;
  const res = ctx.journal.get(backplaneKey(net.net));
  return res?.params === netSpecHash(net) && links.get(b.dev)?.master === net.bridge;
}

/** Resources a VM consists of, in creation order. */
function vmResources(vm: VmSpec): Resource[] {
  return [
    { key: netnsKey(vm.vm), kind: 'netns', name: vm.netns, vm: vm.vm },
    ...vm.ifaces.map((i): Resource => ({ key: vethKey(vm.vm, i.id), kind: 'veth', name: i.outer, vm: vm.vm, net: i.net, params: i.inner })),
    ...(vm.mgmt ? [{ key: mgmtKey(vm.vm), kind: 'veth', name: vm.mgmt.outer, vm: vm.vm, params: vm.mgmt.inner } satisfies Resource] : []),
    ...vm.ifaces.flatMap((i): Resource[] => {
      if (!i.shaping) return [];
      const out: Resource[] = [];
      if (shapingLines(i.outer, i.shaping, 'host').length) out.push({ key: qdiscKey(vm.vm, i.id, 'host'), kind: 'qdisc', name: i.outer, vm: vm.vm, net: i.net, params: 'host' });
      if (shapingLines(i.inner, i.shaping, 'vm').length) out.push({ key: qdiscKey(vm.vm, i.id, 'vm'), kind: 'qdisc', name: i.inner, vm: vm.vm, net: i.net, params: 'vm' });
      return out;
    }),
  ];
}

/** Another deployment of this agent that journals the same sysctl (then its value is kept). */
function otherSysctlHolder(ctx: Pick<DriverContext, 'stateDir' | 'deployment'>, name: string): Resource | undefined {
  for (const d of listDeployments(ctx.stateDir)) {
    if (d === ctx.deployment) continue;
    const r = Journal.open(deploymentDir(ctx.stateDir, d)).resources().find((x) => x.kind === 'sysctl' && x.name === name);
    if (r) return r;
  }
  return undefined;
}

/**
 * The host section's sysctls, journaled with the value to restore: the value now, or, when
 * another deployment already set it, the value that one will restore (the host's own).
 */
function hostSysctlResources(ctx: DriverContext, settings: [string, string][]): Resource[] {
  return settings.map(([name]) => ({ key: hostSysctlKey(name), kind: 'sysctl', name, params: otherSysctlHolder(ctx, name)?.params ?? readSysctl(name) }));
}

export interface ApplyOutcome {
  created: string[];
  unchanged: string[];
}

export async function applyNetns(
  ctx: DriverContext,
  desired: DesiredState,
  removeOthers: boolean,
  machine: MachineLayer = holderMachine,
): Promise<ApplyOutcome> {
  const { journal } = ctx;
  const namespaces = listNetns();
  let links = await listLinks();

  // VMs to (re)make, and VMs of this deployment that are no longer wanted.
  const stale = desired.vms.filter((v) => !vmIsCurrent(v, ctx, namespaces, links, machine));
  const wanted = new Set(desired.vms.map((v) => v.vm));
  const known = new Set([...journal.configuredVms().keys(), ...journal.resources().flatMap((r) => (r.vm ? [r.vm] : []))]);
  const unwanted = removeOthers ? [...known].filter((vm) => !wanted.has(vm)) : [];
  const remake = [...stale.map((v) => v.vm).filter((vm) => known.has(vm)), ...unwanted];
  if (remake.length) {
    ctx.emit({ type: 'progress', step: 'remove-stale', message: `removing ${remake.length} changed or unwanted VM(s)`, total: remake.length });
    await removeVms(ctx, remake);
    links = await listLinks();
  }

  // The <host> section: remade when it changed; on a full apply also removed when the fragment has none.
  const hostRemake = !hostSectionIsCurrent(ctx, desired.host, links) && (desired.host !== undefined || removeOthers);
  const oldHost = hostRemake ? journaledHostResources(ctx) : [];
  if (oldHost.length) {
    ctx.emit({ type: 'progress', step: 'remove-stale', message: 'removing the changed <host> section' });
    await removeResources(ctx, oldHost);
    links = await listLinks();
  }
  const newHost = hostRemake ? desired.host : undefined;

  // Nets the fragment no longer has (an edited scenario re-applied), or whose backplane link it
  // no longer asks for (the net stopped spanning hosts): their links go. Only on a full apply.
  const oldNets = removeOthers ? unwantedNetResources(ctx, desired) : [];
  if (oldNets.length) {
    ctx.emit({ type: 'progress', step: 'remove-stale', message: `removing ${oldNets.length} link(s) of nets no longer in the fragment` });
    await removeResources(ctx, oldNets);
    links = await listLinks();
  }

  // Nets: bridges missing, backplane links missing or changed.
  const newBridges = desired.nets.filter((n) => links.get(n.bridge)?.kind !== 'bridge');
  const newBackplanes = desired.nets.filter((n) => n.backplane && !backplaneIsCurrent(n, ctx, links));
  const oldBackplanes = newBackplanes.filter((n) => links.has(n.backplane!.dev));
  // The host's own bridges (managed="no") are used as they are.
  const ours = desired.nets.filter((n) => !n.hostOwned);
  const mtuFixes = ours.filter((n) => n.mtu && links.get(n.bridge)?.kind === 'bridge' && links.get(n.bridge)!.mtu !== n.mtu);
  // New bridges stay down until their VMs are configured (see bridgeLines); a bridge left down
  // by an interrupted apply is brought up too.
  const bridgesToUp = ours.filter((n) => links.get(n.bridge)?.kind !== 'bridge' || !links.get(n.bridge)!.up);

  // Links between nets (<connection>): made when missing or not on their bridges.
  const newConnections = desired.connections.filter((c) => links.get(c.a)?.master !== c.bridgeA || links.get(c.b)?.master !== c.bridgeB);

  const resources: Resource[] = [
    ...newConnections.map((c): Resource => ({ key: c.key, kind: 'veth', name: c.a, net: c.from, params: c.b })),
    ...newBridges.map((n): Resource => ({ key: bridgeKey(n.net), kind: 'bridge', name: n.bridge, net: n.net })),
    ...newBackplanes.map(
      (n): Resource => ({ key: backplaneKey(n.net), kind: n.backplane!.kind, name: n.backplane!.dev, net: n.net, params: netSpecHash(n) }),
    ),
    ...stale.flatMap(vmResources),
    ...stale.flatMap((vm) => machine.resources(ctx, vm)),
    ...(newHost ? [...hostLinkResources(newHost), ...hostSysctlResources(ctx, hostSysctls(newHost))] : []),
  ];
  const total = resources.length;
  ctx.emit({ type: 'progress', step: 'plan', message: `${total} resource(s) to create, ${desired.vms.length - stale.length} VM(s) unchanged`, total });
  if (total === 0 && mtuFixes.length === 0 && bridgesToUp.length === 0) return { created: [], unchanged: desired.vms.map((v) => v.vm) };

  journal.intend(resources);

  const hostLines: string[] = [];
  for (const n of oldBackplanes) hostLines.push(`link del dev ${n.backplane!.dev}`);
  for (const n of newBridges) hostLines.push(...bridgeLines(n));
  for (const n of mtuFixes) hostLines.push(`link set dev ${n.bridge} mtu ${n.mtu}`);
  for (const n of newBackplanes) hostLines.push(...backplaneFor(n.backplane!.kind).linkLines(n, n.backplane!));
  for (const c of newConnections) hostLines.push(...connectionLines(c, links.has(c.a)));
  for (const vm of stale) hostLines.push(...vmHostLines(vm));
  if (newHost) hostLines.push(...hostLinkLines(newHost));
  ctx.emit({ type: 'progress', step: 'host', message: `host side: ${hostLines.length} iproute2 command(s)` });
  await mustIpBatch(hostLines, 'creating bridges, namespaces and veths');

  const fdb = newBackplanes.flatMap((n) => backplaneFor(n.backplane!.kind).peerLines(n.backplane!));
  if (fdb.length) {
    const r = await bridgeBatch(fdb);
    if (r.exitCode !== 0) throw new OperationError(`adding VXLAN replication entries failed: ${r.stderr.trim()}`);
  }

  ctx.emit({ type: 'progress', step: 'vms', message: `configuring ${stale.length} VM namespace(s)`, total: stale.length });
  await configureNamespaces(
    stale.map((vm) => ({ netns: vm.netns, ops: vmInnerOps(vm) })),
    { dir: path.join(deploymentDir(ctx.stateDir, ctx.deployment), 'batches'), workers: PARALLEL },
  );
  // Link shaping: host-side ends in one tc batch, VM-side ends in their namespaces.
  const shaped = stale.map((vm) => ({ vm, ...vmShapingLines(vm) })).filter((x) => x.host.length || x.inner.length);
  if (shaped.length) {
    ctx.emit({ type: 'progress', step: 'shaping', message: `shaping the interfaces of ${shaped.length} VM(s)` });
    const r = await tcBatch(shaped.flatMap((x) => x.host));
    if (r.exitCode !== 0) throw new OperationError(`shaping the VMs' links failed: ${r.stderr.trim()}`);
    await nsBatches(
      shaped.filter((x) => x.inner.length).map((x) => ({ netns: x.vm.netns, lines: x.inner })),
      path.join(deploymentDir(ctx.stateDir, ctx.deployment), 'tc-batches'),
      PARALLEL,
      'tc',
    );
  }
  journal.intend(await machine.start(ctx, stale));
  for (const message of (await machine.dhcp?.(ctx, stale)) ?? []) ctx.emit({ type: 'progress', step: 'warning', message });
  await mustIpBatch(bridgesToUp.flatMap(bridgeUpLines), 'bringing bridges up');
  ctx.emit({ type: 'progress', step: 'vms', done: stale.length, total: stale.length });

  if (newHost) {
    ctx.emit({ type: 'progress', step: 'host-section', message: `the <host> section: ${newHost.ifaces.length} interface(s), ${newHost.routes.length} route(s)` });
    await mustIpBatch(hostConfigLines(newHost), "configuring the <host> section's interfaces and routes");
    for (const [k, v] of hostSysctls(newHost)) writeSysctl(k, v);
    journal.intend(hostLinkResources(newHost, newHost.hash).filter((r) => r.params !== undefined));
  }

  journal.append(stale.map((vm) => ({ t: 'vm', vm: vm.vm, hash: vm.hash })));
  const remade = new Set(stale);
  return { created: resources.map((r) => r.name), unchanged: desired.vms.filter((v) => !remade.has(v)).map((v) => v.vm) };
}

/** Journaled net links (bridges, backplane links, net-to-net connections) the desired state does not have. */
function unwantedNetResources(ctx: DriverContext, desired: DesiredState): Resource[] {
  const wanted = new Set([
    ...desired.nets.filter((n) => !n.hostOwned).map((n) => bridgeKey(n.net)),
    ...desired.nets.filter((n) => n.backplane).map((n) => backplaneKey(n.net)),
    ...desired.connections.map((c) => c.key),
  ]);
  const isNetLink = (r: Resource): boolean => r.kind === 'bridge' || isBackplaneKind(r.kind) || r.key.startsWith('connection:');
  return ctx.journal.resources().filter((r) => r.vm === undefined && isNetLink(r) && !wanted.has(r.key));
}

function holderResources(ctx: DriverContext, vm: VmSpec): Resource[] {
  return [
    { key: vmDirKey(vm.vm), kind: 'dir', name: ctx.vmDir(vm.vm), vm: vm.vm },
    // The mounts live in the holder's mount namespace and go with it.
    ...overlayAnchors(vm.filetreeRoots).map((a): Resource => ({ key: `mount:${vm.vm}:${a}`, kind: 'mount', name: a, vm: vm.vm })),
    { key: holderKey(vm.vm), kind: 'process', name: 'holder', vm: vm.vm },
  ];
}

async function startVmHolder(ctx: DriverContext, vm: VmSpec): Promise<Resource> {
  const privateDir = path.join(ctx.vmDir(vm.vm), 'view');
  const pid = await startHolder(vm.netns, vm.vm, privateDir, overlayAnchors(vm.filetreeRoots));
  return { key: holderKey(vm.vm), kind: 'process', name: 'holder', vm: vm.vm, pid, start: processStart(pid), boot: bootId() };
}

/** Kills every process in the given VMs' namespaces (holders and whatever exec started). */
export async function killVmProcesses(netns: string[], except: number[] = []): Promise<void> {
  const pids = [...pidsInNetns(netns).values()].flat().filter((p) => !except.includes(p));
  await signalPids(pids, 'SIGKILL');
}

/**
 * Removes VMs (all of their journaled resources). Tolerates resources that are half-made or
 * already gone; fails only if something is still there afterwards.
 */
export async function removeVms(ctx: DriverContext, vms: string[]): Promise<string[]> {
  const set = new Set(vms);
  const res = ctx.journal.resources().filter((r) => r.vm !== undefined && set.has(r.vm));
  await removeResources(ctx, res);
  ctx.journal.append(vms.map((vm) => ({ t: 'vm-gone', vm })));
  return res.map((r) => r.name);
}

/** Removes resources in reverse creation order, verifies, and journals them as gone. */
export async function removeResources(ctx: DriverContext, res: Resource[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const left = await removeOnce(ctx, res);
    ctx.journal.gone(res.filter((r) => !left.includes(r)).map((r) => r.key));
    if (left.length === 0) return;
    if (attempt === 3) throw new OperationError(`could not remove: ${left.map((r) => `${r.kind} ${r.name}`).join(', ')}`);
    res = left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The namespace of a VM-side qdisc (from its VM's journaled namespace; undefined when that is gone). */
function qdiscNetns(ctx: DriverContext, r: Resource): string | undefined {
  return r.params === 'vm' && r.vm !== undefined ? ctx.journal.get(netnsKey(r.vm))?.name : undefined;
}

/** Whether a journaled qdisc is still in place (its link, or its VM's namespace, is there with our root qdisc). */
async function qdiscPresent(ctx: DriverContext, r: Resource, links: Map<string, LinkInfo>, namespaces: Set<string>): Promise<boolean> {
  if (r.params === 'vm') {
    const ns = qdiscNetns(ctx, r);
    return ns !== undefined && namespaces.has(ns) && SHAPING_ROOT_KINDS.has((await rootQdiscKind(r.name, ns)) ?? '');
  }
  return links.has(r.name) && SHAPING_ROOT_KINDS.has((await rootQdiscKind(r.name)) ?? '');
}

/** Whether a journaled sysctl still holds a value to restore (not when another deployment of this agent sets it too). */
function sysctlLeft(ctx: DriverContext, r: Resource): boolean {
  if (r.params === undefined || otherSysctlHolder(ctx, r.name)) return false;
  try {
    return readSysctl(r.name) !== r.params;
  } catch {
    return false;
  }
}

/** One removal pass; returns what is still there. */
async function removeOnce(ctx: DriverContext, res: Resource[]): Promise<Resource[]> {
  if (res.length === 0) return [];
  const boot = bootId();
  const namespaces = res.filter((r) => r.kind === 'netns').map((r) => r.name);
  // Processes: everything in the namespaces, plus recorded pids still alive in this boot.
  await killVmProcesses(namespaces);
  const recorded = res.filter((r) => r.kind === 'process' && r.pid && r.boot === boot && processStart(r.pid) === r.start);
  await signalPids(recorded.map((r) => r.pid!), 'SIGKILL');

  const isLink = (r: Resource) => r.kind === 'veth' || r.kind === 'hostif' || r.kind === 'bridge' || isBackplaneKind(r.kind);
  const before = await listLinks();
  const present = listNetns();
  // Shaping whose link (or namespace) stays: removed explicitly; the rest goes with its link.
  const goingLinks = new Set(res.filter(isLink).map((r) => r.name));
  const qdiscs = res.filter((r) => r.kind === 'qdisc');
  await tcBatch(qdiscs.filter((r) => r.params === 'host' && before.has(r.name) && !goingLinks.has(r.name)).map((r) => unshapeLine(r.name)), true);
  for (const r of qdiscs) {
    const ns = qdiscNetns(ctx, r);
    if (ns && present.has(ns) && !namespaces.includes(ns)) await run('nsenter', [`--net=${path.join(NETNS_DIR, ns)}`, 'tc', 'qdisc', 'del', 'dev', r.name, 'root']);
  }
  // Settings of the agent's namespace: back to the value they had.
  for (const r of res.filter((x) => x.kind === 'sysctl')) {
    if (sysctlLeft(ctx, r)) {
      try {
        writeSysctl(r.name, r.params!);
      } catch {
        /* verified below */
      }
    }
  }
  // A VM's veths go with its namespace: the kernel removes a dying namespace's links in one
  // batched clean-up, where deleting them one by one waits for its synchronisation each time
  // (18 s against 0.6 s for 1 000 VMs). Other links (bridges, backplane, <host>) go explicitly.
  const dying = new Set(namespaces.filter((n) => present.has(n)));
  const goesWithNamespace = (r: Resource): boolean => r.kind === 'veth' && r.vm !== undefined && dying.has(ctx.journal.get(netnsKey(r.vm))?.name ?? '');
  const order = [...res].reverse().sort((a, b) => rank(a) - rank(b));
  const lines: string[] = [];
  for (const r of order) {
    if (isLink(r) && before.has(r.name) && !goesWithNamespace(r)) lines.push(`link del dev ${r.name}`);
    if (r.kind === 'netns' && present.has(r.name)) lines.push(`netns del ${r.name}`);
  }
  await ipBatch(lines, { force: true });
  await linksGone(res.filter((r) => goesWithNamespace(r) && before.has(r.name)).map((r) => r.name), NAMESPACE_CLEANUP_MS);

  const after = await listLinks();
  const nsAfter = listNetns();
  for (const r of res) {
    if (r.kind === 'netns' && nsAfter.has(r.name)) {
      // A namespace file whose mount is gone (crash between creating and mounting it).
      try {
        fs.unlinkSync(`/run/netns/${r.name}`);
      } catch {
        /* verified below */
      }
    }
    if (r.kind === 'dir') {
      try {
        fs.rmSync(r.name, { recursive: true, force: true });
      } catch {
        /* a mount not yet released with its namespace: verified below, retried */
      }
    }
  }
  // A cgroup empties once its processes are gone; a straggler (not in the VM's namespaces) goes too.
  const cgroups = res.filter((r) => r.kind === 'cgroup');
  await signalPids(cgroups.flatMap((r) => cgroupPids(r.name)), 'SIGKILL');
  const cgroupsLeft = new Set(cgroups.filter((r) => !removeCgroupDir(r.name)));
  // The shared parent (`ediv/`) goes with the last VM of the host (it stays while others use it).
  for (const parent of new Set(cgroups.filter((r) => !cgroupsLeft.has(r)).map((r) => path.dirname(r.name)))) removeCgroupDir(parent);
  const nsLeft = listNetns();
  const qdiscsLeft = new Set<Resource>();
  for (const r of qdiscs) if (await qdiscPresent(ctx, r, after, nsLeft)) qdiscsLeft.add(r);
  return res.filter(
    (r) =>
      (isLink(r) && after.has(r.name)) ||
      (r.kind === 'netns' && nsLeft.has(r.name)) ||
      (r.kind === 'dir' && fs.existsSync(r.name)) ||
      (r.kind === 'sysctl' && sysctlLeft(ctx, r)) ||
      qdiscsLeft.has(r) ||
      cgroupsLeft.has(r),
  );
}

/** How long the kernel's clean-up of deleted namespaces is waited for before what is left is removed by name. */
const NAMESPACE_CLEANUP_MS = 10_000;

/** Waits until none of `names` is a link any more (one listing per round), at most `ms`. */
async function linksGone(names: string[], ms: number): Promise<void> {
  if (names.length === 0) return;
  const deadline = Date.now() + ms;
  for (let wait = 10; Date.now() < deadline; wait = Math.min(wait * 2, 200)) {
    const links = await listLinks();
    if (!names.some((n) => links.has(n))) return;
    await new Promise((r) => setTimeout(r, wait));
  }
}

/** Removal order: processes, mounts, shaping, veths, namespaces, backplane links, bridges, directories, settings. */
const RANK: Record<Exclude<Resource['kind'], BackplaneKind>, number> = {
  process: 0,
  mount: 1,
  qdisc: 1,
  veth: 2,
  hostif: 2,
  netns: 3,
  bridge: 5,
  dir: 6,
  cgroup: 7,
  sysctl: 8,
};
const BACKPLANE_RANK = 4;

function rank(r: Resource): number {
  return isBackplaneKind(r.kind) ? BACKPLANE_RANK : RANK[r.kind];
}

/** Removes the whole deployment (or only `vms`, then nets no VM uses any more). */
export async function destroyNetns(ctx: DriverContext, vms?: string[]): Promise<string[]> {
  const { journal } = ctx;
  const all = journal.resources();
  if (!vms) {
    const names = all.map((r) => `${r.kind} ${r.name}`);
    await removeResources(ctx, all);
    journal.append([...journal.configuredVms().keys()].map((vm) => ({ t: 'vm-gone', vm })));
    return names;
  }
  const removed = await removeVms(ctx, vms);
  // The <host> section stays (it is no VM's), and so do the bridges of its nets.
  const usedNets = new Set(journal.resources().filter((r) => r.kind === 'veth' || r.kind === 'hostif').map((r) => r.net));
  const orphanNets = journal.resources().filter((r) => !r.vm && r.net !== undefined && r.kind !== 'hostif' && !usedNets.has(r.net));
  await removeResources(ctx, orphanNets);
  return [...removed, ...orphanNets.map((r) => r.name)];
}
