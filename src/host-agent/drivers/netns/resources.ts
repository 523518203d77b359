// The netns driver's kernel resources: one network namespace per VM, one bridge per net in the
// agent's own namespace, a veth per VM interface, backplane links for spanning nets.
//
// apply compares the desired state with the journal and the kernel, journals what it is about
// to make (one fsync), then makes it in few processes: one `ip -batch` for everything on the
// host side, one `ip -n <ns> -batch` per VM namespace (run in parallel), one `bridge -batch`
// for VXLAN replication entries. destroy removes what the journal lists and verifies it is gone.
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../../../common/errors.ts';
import type { Resource } from '../../journal.ts';
import { isBackplaneKind } from '../../../protocol/backplane.ts';
import { bridgeKey, netSpecHash, vethKey, type DesiredState, type NetSpec, type VmSpec } from './desired.ts';
import { bridgeLines, bridgeUpLines, vmHostLines, vmInnerLines, vmSysctls } from './commands.ts';
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
  mustRun,
  nsBatches,
  cgroupPids,
  pidsInNetns,
  processStart,
  removeCgroupDir,
  signalPids,
  type LinkInfo,
} from '../../sys.ts';
import { overlayAnchors, startHolder } from './vm-holder.ts';
import { deploymentDir } from '../../store.ts';
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
  /** Makes the machine of a freshly configured VM, journaling what it makes first. */
  start(ctx: DriverContext, vm: VmSpec): Promise<void>;
}

/** A journaled process that is still the one that was recorded. */
export function journaledProcessAlive(ctx: Pick<DriverContext, 'journal'>, key: string): boolean {
  const p = ctx.journal.get(key);
  return p?.pid !== undefined && processStart(p.pid) === p.start;
}

/** The netns driver's machine: a holder process, for VMs with filetrees only. */
export const holderMachine: MachineLayer = {
  isCurrent: (ctx, vm) => vm.filetreeRoots.length === 0 || journaledProcessAlive(ctx, holderKey(vm.vm)),
  start: (ctx, vm) => (vm.filetreeRoots.length ? startVmHolder(ctx, vm) : Promise.resolve()),
};

/** Whether a VM is fully there as specified (then apply leaves it alone). */
function vmIsCurrent(vm: VmSpec, ctx: DriverContext, namespaces: Set<string>, links: Map<string, LinkInfo>, machine: MachineLayer): boolean {
  if (ctx.journal.configuredVms().get(vm.vm) !== vm.hash) return false;
  if (!namespaces.has(vm.netns)) return false;
  if (!vm.ifaces.every((i) => links.get(i.outer)?.master === i.bridge)) return false;
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
  ];
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

  // Nets: bridges missing, backplane links missing or changed.
  const newBridges = desired.nets.filter((n) => links.get(n.bridge)?.kind !== 'bridge');
  const newBackplanes = desired.nets.filter((n) => n.backplane && !backplaneIsCurrent(n, ctx, links));
  const oldBackplanes = newBackplanes.filter((n) => links.has(n.backplane!.dev));
  const mtuFixes = desired.nets.filter((n) => n.mtu && links.get(n.bridge)?.kind === 'bridge' && links.get(n.bridge)!.mtu !== n.mtu);
  // New bridges stay down until their VMs are configured (see bridgeLines); a bridge left down
  // by an interrupted apply is brought up too.
  const bridgesToUp = desired.nets.filter((n) => links.get(n.bridge)?.kind !== 'bridge' || !links.get(n.bridge)!.up);

  const resources: Resource[] = [
    ...newBridges.map((n): Resource => ({ key: bridgeKey(n.net), kind: 'bridge', name: n.bridge, net: n.net })),
    ...newBackplanes.map(
      (n): Resource => ({ key: backplaneKey(n.net), kind: n.backplane!.kind, name: n.backplane!.dev, net: n.net, params: netSpecHash(n) }),
    ),
    ...stale.flatMap(vmResources),
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
  for (const vm of stale) hostLines.push(...vmHostLines(vm));
  ctx.emit({ type: 'progress', step: 'host', message: `host side: ${hostLines.length} iproute2 command(s)` });
  await mustIpBatch(hostLines, 'creating bridges, namespaces and veths');

  const fdb = newBackplanes.flatMap((n) => backplaneFor(n.backplane!.kind).peerLines(n.backplane!));
  if (fdb.length) {
    const r = await bridgeBatch(fdb);
    if (r.exitCode !== 0) throw new OperationError(`adding VXLAN replication entries failed: ${r.stderr.trim()}`);
  }

  ctx.emit({ type: 'progress', step: 'vms', message: `configuring ${stale.length} VM namespace(s)`, total: stale.length });
  await nsBatches(
    stale.map((vm) => ({ netns: vm.netns, lines: vmInnerLines(vm) })),
    path.join(deploymentDir(ctx.stateDir, ctx.deployment), 'batches'),
    PARALLEL,
  );
  const routers = stale.filter((vm) => vmSysctls(vm).length > 0);
  await mapLimit(routers, PARALLEL, async (vm) => {
    // /proc/sys/net belongs to the namespace of the process that opens it.
    const settings = vmSysctls(vm).map(([k, v]) => `${k}=${v}`);
    await mustRun('nsenter', [`--net=/run/netns/${vm.netns}`, 'sysctl', '-q', '-w', ...settings]);
  });
  await mapLimit(stale, PARALLEL, (vm) => machine.start(ctx, vm));
  await mustIpBatch(bridgesToUp.flatMap(bridgeUpLines), 'bringing bridges up');
  ctx.emit({ type: 'progress', step: 'vms', done: stale.length, total: stale.length });

  journal.append(stale.map((vm) => ({ t: 'vm', vm: vm.vm, hash: vm.hash })));
  const remade = new Set(stale);
  return { created: resources.map((r) => r.name), unchanged: desired.vms.filter((v) => !remade.has(v)).map((v) => v.vm) };
}

async function startVmHolder(ctx: DriverContext, vm: VmSpec): Promise<void> {
  const anchors = overlayAnchors(vm.filetreeRoots);
  const dir = ctx.vmDir(vm.vm);
  const privateDir = path.join(dir, 'view');
  ctx.journal.intend([
    { key: vmDirKey(vm.vm), kind: 'dir', name: dir, vm: vm.vm },
    // The mounts live in the holder's mount namespace and go with it.
    ...anchors.map((a): Resource => ({ key: `mount:${vm.vm}:${a}`, kind: 'mount', name: a, vm: vm.vm })),
    { key: holderKey(vm.vm), kind: 'process', name: 'holder', vm: vm.vm },
  ]);
  const pid = await startHolder(vm.netns, vm.vm, privateDir, anchors);
  ctx.journal.intend([{ key: holderKey(vm.vm), kind: 'process', name: 'holder', vm: vm.vm, pid, start: processStart(pid), boot: bootId() }]);
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
    const left = await removeOnce(res);
    ctx.journal.gone(res.filter((r) => !left.includes(r)).map((r) => r.key));
    if (left.length === 0) return;
    if (attempt === 3) throw new OperationError(`could not remove: ${left.map((r) => `${r.kind} ${r.name}`).join(', ')}`);
    res = left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** One removal pass; returns what is still there. */
async function removeOnce(res: Resource[]): Promise<Resource[]> {
  if (res.length === 0) return [];
  const boot = bootId();
  const namespaces = res.filter((r) => r.kind === 'netns').map((r) => r.name);
  // Processes: everything in the namespaces, plus recorded pids still alive in this boot.
  await killVmProcesses(namespaces);
  const recorded = res.filter((r) => r.kind === 'process' && r.pid && r.boot === boot && processStart(r.pid) === r.start);
  await signalPids(recorded.map((r) => r.pid!), 'SIGKILL');

  const isLink = (r: Resource) => r.kind === 'veth' || r.kind === 'bridge' || isBackplaneKind(r.kind);
  const before = await listLinks();
  const present = listNetns();
  // veths first (deleting one end deletes the pair at once; namespace clean-up is asynchronous).
  const order = [...res].reverse().sort((a, b) => rank(a) - rank(b));
  const lines: string[] = [];
  for (const r of order) {
    if (isLink(r) && before.has(r.name)) lines.push(`link del dev ${r.name}`);
    if (r.kind === 'netns' && present.has(r.name)) lines.push(`netns del ${r.name}`);
  }
  await ipBatch(lines, { force: true });

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
  const nsLeft = listNetns();
  return res.filter(
    (r) =>
      (isLink(r) && after.has(r.name)) ||
      (r.kind === 'netns' && nsLeft.has(r.name)) ||
      (r.kind === 'dir' && fs.existsSync(r.name)) ||
      cgroupsLeft.has(r),
  );
}

/** Removal order: processes, mounts, veths, namespaces, backplane links, bridges, directories. */
const RANK: Record<Exclude<Resource['kind'], BackplaneKind>, number> = { process: 0, mount: 1, veth: 2, netns: 3, bridge: 5, dir: 6, cgroup: 7 };
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
  const usedNets = new Set(journal.resources().filter((r) => r.kind === 'veth').map((r) => r.net));
  const orphanNets = journal.resources().filter((r) => !r.vm && r.net !== undefined && !usedNets.has(r.net));
  await removeResources(ctx, orphanNets);
  return [...removed, ...orphanNets.map((r) => r.name)];
}
