// The netns driver's spec: what a fragment asks of this host, in kernel terms: one namespace
// per VM, one bridge per net, one veth per VM interface, addresses, routes, forwarding,
// backplane links. Pure: names come from the allocator (journal + existing links), nothing is
// touched here.
import { createHash } from 'node:crypto';
import type { Scenario, Vm } from '../../../scenario/model.ts';
import type { BackplaneLink } from '../../../protocol/plan.ts';
import { InputError } from '../../../common/errors.ts';
import { MAX_IFNAME, NameAllocator, netnsName, vmIfaceName } from '../../naming.ts';
import type { BackplaneSpec } from '../../backplanes/backplane.ts';
import { backplaneFor } from '../../backplanes/registry.ts';

export interface NetSpec {
  net: string;
  bridge: string;
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
  bridge: string;
  mac?: string;
  /** Addresses in CIDR form. */
  ipv4: string[];
  ipv6: string[];
  mtu?: number;
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
  /** What a driver makes of the VM besides its network (the container driver's machine), if anything. */
  machine?: Record<string, unknown>;
  /** Hash of everything above: a configured VM whose hash differs is remade. */
  hash: string;
}

export interface DesiredState {
  nets: NetSpec[];
  vms: VmSpec[];
}

export function bridgeKey(net: string): string {
  return `bridge:${net}`;
}
export function vethKey(vm: string, id: number): string {
  return `veth:${vm}:${id}`;
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

export function vmSpec(
  vm: Vm,
  deployment: string,
  tag: string,
  nets: Map<string, NetSpec>,
  names: NameAllocator,
  machineOf?: (vm: Vm) => Record<string, unknown>,
): VmSpec {
  const ifaces: IfaceSpec[] = vm.ifaces.map((i) => {
    const net = nets.get(i.net);
    if (!net) throw new Error(`net ${i.net} of VM ${vm.name} has no spec`);
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
      outer: names.name('veth', `${deployment}|${vethKey(vm.name, i.id)}`),
      net: i.net,
      bridge: net.bridge,
      mac: i.mac,
      ipv4: i.ipv4.map((a) => `${a.address}/${a.prefix}`),
      ipv6: i.ipv6.map((a) => `${a.address}/${a.prefix}`),
      mtu: net.mtu,
    };
  });
  const spec = {
    vm: vm.name,
    netns: netnsName(deployment, vm.name, tag),
    ifaces,
    routes: vm.routes.map((r) => ({ family: r.family, destination: r.destination, gateway: r.gateway })),
    forwarding: { ipv4: vm.forwarding?.ipv4 ?? false, ipv6: vm.forwarding?.ipv6 ?? false },
    filetreeRoots: [...new Set(vm.filetrees.map((f) => f.root))].sort(),
    ...(machineOf ? { machine: machineOf(vm) } : {}),
  };
  return { ...spec, hash: hashOf(spec) };
}

export interface DesiredInput {
  scenario: Scenario;
  deployment: string;
  tag: string;
  backplane: BackplaneLink[];
  /** Only these VMs (default all). */
  vms?: string[];
  names: NameAllocator;
  /** MTU of each trunk, for the backplane MTU. */
  trunkMtu: (trunk: string) => number | undefined;
  /** The driver's machine spec of each VM (hashed with the rest: a change remakes the VM). */
  machineOf?: (vm: Vm) => Record<string, unknown>;
}

export function desiredState(input: DesiredInput): DesiredState {
  const { scenario, deployment, tag, names } = input;
  const wanted = input.vms ? new Set(input.vms) : undefined;
  const vms = scenario.vms.filter((v) => !wanted || wanted.has(v.name));
  const usedNets = new Set(vms.flatMap((v) => v.ifaces.map((i) => i.net)));
  const links = new Map(input.backplane.map((b) => [b.net, b]));
  const nets = new Map<string, NetSpec>();
  for (const n of scenario.nets) {
    if (!usedNets.has(n.name) && !links.has(n.name)) continue;
    const spec: NetSpec = { net: n.name, bridge: names.name('bridge', `${deployment}|${bridgeKey(n.name)}`) };
    const link = links.get(n.name);
    if (link) {
      const backplane = backplaneFor(link.kind);
      const trunkMtu = input.trunkMtu(link.trunk);
      const overhead = backplane.mtuOverhead(link);
      const mtu = overhead && trunkMtu ? trunkMtu - overhead : undefined;
      spec.mtu = mtu;
      spec.backplane = {
        kind: link.kind,
        dev: backplane.linkName(link, { tag, deployment, names }),
        id: link.id,
        trunk: link.trunk,
        localAddress: link.localAddress,
        remotes: [...link.remotes].sort(),
        mtu,
      };
    }
    nets.set(n.name, spec);
  }
  for (const b of input.backplane) {
    if (!nets.has(b.net)) throw new InputError({ loc: { file: 'request' }, message: `backplane net ${b.net} is not a net of the fragment` });
  }
  return { nets: [...nets.values()], vms: vms.map((v) => vmSpec(v, deployment, tag, nets, names, input.machineOf)) };
}

export function netSpecHash(n: NetSpec): string {
  return hashOf(n);
}
