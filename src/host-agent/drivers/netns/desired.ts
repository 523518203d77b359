// The netns driver's spec: what a fragment asks of this host, in kernel terms: one namespace
// per VM, one bridge per net, one veth per VM interface, addresses, routes, forwarding,
// backplane links; the links' shaping (shaping.ts), each VM's management link (<vm_mgmt>,
// src/scenario/vm-mgmt.ts) and the <host> section (host-section.ts). Pure: names come from the
// allocator (journal + existing links), nothing is touched here. Readable link names are made
// from the lab's display name, the rest from the deployment key (NamedAfter, naming.ts).
import { createHash } from 'node:crypto';
import type { Scenario, Vm } from '../../../scenario/model.ts';
import type { BackplaneLink } from '../../../protocol/plan.ts';
import { InputError, type InputProblem } from '../../../common/errors.ts';
import { MAX_IFNAME, NameAllocator, netnsName, readableLinkName, stableMac, vmIfaceName, type NamedAfter } from '../../naming.ts';
import { backplaneMtu, specPort, type BackplaneSpec } from '../../backplanes/backplane.ts';
import { backplaneFor } from '../../backplanes/registry.ts';
import { MGMT_IFACE, mgmtDisabled, privateMgmtAddresses, vmMgmtOf, type VmMgmt } from '../../../scenario/vm-mgmt.ts';
import { vmMgmtProblems } from '../../../scenario/checks.ts';
import { LOOPBACK_NET, MGMT_NET, UNCONNECTED_NET, isHostLocalNet, netIfaces } from '../../../scenario/reserved-nets.ts';
import { netConnections } from '../../../scenario/net-connections.ts';
import { hostSectionProblems, hostSpec, type HostSpec } from './host-section.ts';
import { ifaceShaping, netShaping, shapingProblems, supportedShaping, type Shaping, type ShapingSupport } from './shaping.ts';

export interface NetSpec {
  net: string;
  bridge: string;
  /**
   * The bridge is the host's own (`<net managed="no">`, e.g. libvirt's virbr0): VMs are plugged
   * into it; the agent never makes, changes or removes it.
   */
  hostOwned?: boolean;
  mtu?: number;
  backplane?: BackplaneSpec;
}

export interface IfaceSpec {
  id: number;
  /** Name inside the VM. */
  inner: string;
  /** veth end on the host, enslaved to the bridge. */
  outer: string;
  net: string;
  /** The net's bridge; none for an interface on `unconnected` (its host end is plugged into nothing). */
  bridge?: string;
  mac?: string;
  /** Addresses in CIDR form. */
  ipv4: string[];
  ipv6: string[];
  mtu?: number;
  /** Link shaping (tc) of this interface, as this host can apply it (shaping.ts). */
  shaping?: Shaping;
  /** Families the VM configures by DHCP (`<ipv4>dhcp</ipv4>`): its driver runs the VM's client. */
  dhcp?: ('ipv4' | 'ipv6')[];
}

/** A VM's management link (<vm_mgmt type="private">): a veth from the agent's namespace into the VM. */
export interface MgmtSpec {
  /** The host's end (in the agent's namespace). */
  outer: string;
  /** The VM's end (eth0). */
  inner: string;
  /** Addresses in CIDR form (/30). */
  host: string;
  vm: string;
}

export interface RouteSpec {
  family: 'ipv4' | 'ipv6';
  destination: string;
  gateway: string;
}

export interface VmSpec {
  vm: string;
  netns: string;
  ifaces: IfaceSpec[];
  routes: RouteSpec[];
  forwarding: { ipv4: boolean; ipv6: boolean };
  /** Directories (as the VM sees them) that filetrees write into: the VM gets private views. */
  filetreeRoots: string[];
  /** Its management link, with a private <vm_mgmt>. */
  mgmt?: MgmtSpec;
  /** Addresses (CIDR) of its loopback, from interfaces on the reserved net `lo`. */
  loopback?: string[];
  /** What a driver makes of the VM besides its network (the container driver's machine), if anything. */
  machine?: Record<string, unknown>;
  /** Hash of everything above: a configured VM whose hash differs is remade. */
  hash: string;
}

/** A `<net><connection>` on this host: a veth whose ends are ports of the two nets' bridges. */
export interface ConnectionSpec {
  key: string;
  from: string;
  to: string;
  /** The veth's ends: `a` on from's bridge, `b` on to's. */
  a: string;
  b: string;
  bridgeA: string;
  bridgeB: string;
}

export function connectionKey(from: string, to: string): string {
  return `connection:${from}:${to}`;
}

export interface DesiredState {
  nets: NetSpec[];
  vms: VmSpec[];
  /** Links between nets (`<connection>`), where the fragment has both. */
  connections: ConnectionSpec[];
  /** The <host> section, when this host holds it. */
  host?: HostSpec;
  /** What the fragment asks that this host cannot apply (said as progress warnings). */
  warnings?: string[];
}

export function bridgeKey(net: string): string {
  return `bridge:${net}`;
}
export function vethKey(vm: string, id: number): string {
  return `veth:${vm}:${id}`;
}
export function mgmtKey(vm: string): string {
  return `veth:${vm}:mgmt`;
}
export function qdiscKey(vm: string, id: number, side: 'host' | 'vm'): string {
  return `qdisc:${vm}:${id}:${side}`;
}

/** Per VM: what the network layer adds besides its interfaces (management link, shaping). */
export interface VmNetworkExtras {
  mgmt?: MgmtSpec;
  /** The shaping of each interface (by id), as this host applies it. */
  shaping?: Map<number, Shaping>;
}

/**
 * What the fragment's network features ask that cannot be made, at the element's line: a
 * <vm_mgmt> of type "net" or with bad values, shaping values that do not parse, a <host> section
 * this host cannot build. desiredState throws them (one InputError), so every driver on the netns
 * network layer refuses them in prepareApply, before anything is made. (Not in scenarioProblems:
 * exec on a deployment applied before these features were built must still run.)
 */
export function networkProblems(s: Scenario): InputProblem[] {
  const file = s.source.path;
  const out: InputProblem[] = [...shapingProblems(s.nets, s.vms, file), ...hostSectionProblems(s)];
  const m = vmMgmtOf(s);
  if (m?.type === 'net') {
    out.push({
      loc: m.loc ?? s.global.loc ?? { file },
      message:
        '<vm_mgmt type="net"> (one management bridge shared by the host and the VMs) is not built by ediv: ' +
        'use type="private" (a point-to-point management link per VM) or type="none"',
    });
  }
  // A private one: the same checks as `ediv validate` (src/scenario/checks.ts).
  return [...out, ...vmMgmtProblems(s)];
}

function cidr(a: { address: string; prefix: number }): string {
  return `${a.address}/${a.prefix}`;
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

export function vmSpec(
  vm: Vm,
  { deployment, lab }: NamedAfter,
  tag: string,
  nets: Map<string, NetSpec>,
  names: NameAllocator,
  machineOf?: (vm: Vm) => Record<string, unknown>,
  extras: VmNetworkExtras = {},
): VmSpec {
  // `lo` adds loopback addresses; `vm_mgmt` is the management link (extras.mgmt), made apart.
  const ifaces: IfaceSpec[] = vm.ifaces.filter((i) => i.net !== LOOPBACK_NET && i.net !== MGMT_NET).map((i) => {
    const net = i.net === UNCONNECTED_NET ? undefined : nets.get(i.net);
    if (!net && i.net !== UNCONNECTED_NET) throw new Error(`net ${i.net} of VM ${vm.name} has no spec`);
    const inner = vmIfaceName(i);
    if (inner.length > MAX_IFNAME || !/^[A-Za-z0-9_.-]+$/.test(inner)) {
      throw InputError.at(
        i.loc?.file ?? 'fragment',
        i.loc?.line,
        i.loc?.column,
        `interface name ${JSON.stringify(inner)} of VM ${vm.name} is not a valid Linux interface name (at most 15 letters, digits, '_', '-', '.')`,
      );
    }
    return {
      id: i.id,
      inner,
      outer: names.name('veth', `${deployment}|${vethKey(vm.name, i.id)}`, readableLinkName(lab, vm.name, i.id)),
      net: i.net,
      ...(net ? { bridge: net.bridge } : {}),
      mac: i.mac ?? stableMac(deployment, vm.name, i.id),
      ipv4: i.ipv4.map(cidr),
      ipv6: i.ipv6.map(cidr),
      mtu: net?.mtu,
      ...(extras.shaping?.has(i.id) ? { shaping: extras.shaping.get(i.id) } : {}),
      ...(i.dhcp ? { dhcp: (['ipv4', 'ipv6'] as const).filter((f) => i.dhcp![f] !== undefined) } : {}),
    };
  });
  const loopback = vm.ifaces.filter((i) => i.net === LOOPBACK_NET).flatMap((i) => [...i.ipv4, ...i.ipv6].map(cidr));
  const spec = {
    vm: vm.name,
    netns: netnsName(deployment, vm.name, tag),
    ifaces,
    routes: vm.routes.map((r) => ({ family: r.family, destination: r.destination, gateway: r.gateway })),
    forwarding: { ipv4: vm.forwarding?.ipv4 ?? false, ipv6: vm.forwarding?.ipv6 ?? false },
    filetreeRoots: [...new Set(vm.filetrees.map((f) => f.root))].sort(),
    ...(extras.mgmt ? { mgmt: extras.mgmt } : {}),
    ...(loopback.length ? { loopback } : {}),
    ...(machineOf ? { machine: machineOf(vm) } : {}),
  };
  return { ...spec, hash: hashOf(spec) };
}

export interface DesiredInput {
  scenario: Scenario;
  deployment: string;
  /** The lab's display name (readable link names); default the deployment. */
  lab?: string;
  tag: string;
  backplane: BackplaneLink[];
  /** Only these VMs (default all). */
  vms?: string[];
  names: NameAllocator;
  /** MTU of each trunk, for the backplane MTU. */
  trunkMtu: (trunk: string) => number | undefined;
  /** Whether this host has a bridge of that name (for `<net managed="no">`). */
  hostBridge?: (name: string) => boolean;
  /** The driver's machine spec of each VM (hashed with the rest: a change remakes the VM). */
  machineOf?: (vm: Vm) => Record<string, unknown>;
  /** Which qdiscs this host has (facts); default both. */
  shapingSupport?: ShapingSupport;
  /** The cluster host name, for warnings. */
  host?: string;
}

function mgmtSpec(m: VmMgmt, vm: Vm, index: number, { deployment, lab }: NamedAfter, names: NameAllocator): MgmtSpec {
  const a = privateMgmtAddresses(m, index);
  return { outer: names.name('mgmt', `${deployment}|${mgmtKey(vm.name)}`, readableLinkName(lab, vm.name, 'm')), inner: MGMT_IFACE, host: a.host, vm: a.vm };
}

function shapingText(s: Shaping): string {
  const parts: string[] = [];
  if (s.rate !== undefined) parts.push(`bw ${s.rate} bit/s`);
  if (s.delayUs !== undefined) parts.push(`delay ${s.delayUs / 1000} ms`);
  if (s.lossPct !== undefined) parts.push(`loss ${s.lossPct}%`);
  return parts.join(', ');
}

export function desiredState(input: DesiredInput): DesiredState {
  const { scenario, deployment, tag, names } = input;
  const of: NamedAfter = { deployment, lab: input.lab ?? deployment };
  const problems = networkProblems(scenario);
  if (problems.length) throw new InputError(problems);
  const wanted = input.vms ? new Set(input.vms) : undefined;
  const vms = scenario.vms.filter((v) => !wanted || wanted.has(v.name));
  const usedNets = new Set([...vms.flatMap((v) => netIfaces(v).map((i) => i.net)), ...(scenario.host?.ifaces ?? []).map((h) => h.net)]);
  const links = new Map(input.backplane.map((b) => [b.net, b]));
  const nets = new Map<string, NetSpec>();
  const warnings: string[] = [];
  const onHost = input.host ? ` on host ${input.host}` : '';
  for (const n of scenario.nets) {
    // Every net of the fragment, VM-less ones too (VNX makes them); a partial apply (input.vms)
    // only the nets of its VMs.
    if (wanted && !usedNets.has(n.name) && !links.has(n.name)) continue;
    if (isHostLocalNet(n)) {
      // An existing bridge of the host's, per host (the controller never spans it).
      if (input.hostBridge?.(n.name)) {
        nets.set(n.name, { net: n.name, bridge: n.name, hostOwned: true });
        continue;
      }
      warnings.push(`net ${n.name}: managed="no" names a bridge of the host's own, but there is no bridge ${n.name}${onHost}: its VMs here are on a bridge of their own`);
    }
    const spec: NetSpec = { net: n.name, bridge: names.name('bridge', `${deployment}|${bridgeKey(n.name)}`, readableLinkName(of.lab, n.name)) };
    const link = links.get(n.name);
    if (link) {
      const backplane = backplaneFor(link.kind);
      const mtu = backplaneMtu(backplane, link, input.trunkMtu(link.trunk));
      spec.mtu = mtu;
      spec.backplane = {
        kind: link.kind,
        dev: backplane.linkName(link, { tag, deployment, names }),
        id: link.id,
        trunk: link.trunk,
        localAddress: link.localAddress,
        remotes: [...link.remotes].sort(),
        mtu,
        ...specPort(backplane, link),
      };
    }
    nets.set(n.name, spec);
  }
  for (const b of input.backplane) {
    if (!nets.has(b.net)) throw new InputError({ loc: { file: 'request' }, message: `backplane net ${b.net} is not a net of the fragment` });
  }

  // Shaping: what each net and interface asks, as this host can apply it.
  const support = input.shapingSupport ?? { tbf: true, netem: true };
  const netShapes = new Map(scenario.nets.map((n) => [n.name, netShaping(n)]));
  const warned = new Set<string>();
  const shapingOf = (vm: Vm): Map<number, Shaping> | undefined => {
    const out = new Map<number, Shaping>();
    for (const i of vm.ifaces) {
      const asked = ifaceShaping(netShapes.get(i.net), i);
      if (!asked) continue;
      const { applied, dropped } = supportedShaping(asked, support);
      if (applied) out.set(i.id, applied);
      for (const q of dropped) {
        const own = SHAPING_OWN.some((a) => i.extra.attrs[a] !== undefined);
        const subject = own ? `vm ${vm.name}, interface ${i.id}` : `net ${i.net}`;
        const what = q === 'tbf' ? 'bw' : 'delay and loss';
        const message = `${subject}: ${what} (${shapingText(asked)}) not applied (no ${q}${onHost})`;
        if (!warned.has(message)) warnings.push(message);
        warned.add(message);
      }
    }
    return out.size ? out : undefined;
  };

  // Management links: the counter is the VM's position in the whole fragment (VNX's order).
  const m = vmMgmtOf(scenario);
  const index = new Map(scenario.vms.map((v, i) => [v.name, i]));
  const extrasOf = (vm: Vm): VmNetworkExtras => {
    const e: VmNetworkExtras = {};
    if (m?.type === 'private' && !mgmtDisabled(vm, scenario)) e.mgmt = mgmtSpec(m, vm, index.get(vm.name)!, of, names);
    const shaping = shapingOf(vm);
    if (shaping) e.shaping = shaping;
    return e;
  };
  const vmSpecs = vms.map((v) => vmSpec(v, of, tag, nets, names, input.machineOf, extrasOf(v)));
  for (const v of vmSpecs) {
    const asked = vms.find((x) => x.name === v.vm)!.ifaces.find((i) => i.net === MGMT_NET);
    if (asked && !v.mgmt) warnings.push(`vm ${v.vm}, interface ${asked.id}: on vm_mgmt, but the VM has no management interface (no <vm_mgmt type="private">): not made`);
  }
  const host = hostSpec(scenario, of, nets, names);
  const connections = netConnections(scenario.nets)
    .filter((c) => nets.has(c.from) && nets.has(c.to))
    .map((c): ConnectionSpec => {
      const key = connectionKey(c.from, c.to);
      return { key, from: c.from, to: c.to, a: names.name('veth', `${deployment}|${key}|a`), b: names.name('veth', `${deployment}|${key}|b`), bridgeA: nets.get(c.from)!.bridge, bridgeB: nets.get(c.to)!.bridge };
    });
  return { nets: [...nets.values()], vms: vmSpecs, connections, ...(host ? { host } : {}), warnings };
}

/** The shaping attributes an <if> may carry itself. */
const SHAPING_OWN = ['bw', 'delay', 'loss'];

export function netSpecHash(n: NetSpec): string {
  return hashOf(n);
}
