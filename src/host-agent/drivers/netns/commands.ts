// iproute2 batch lines for the netns driver. Pure functions of the desired state, so what the
// agent executes can be unit-tested. Every name in them comes from the allocator or is a
// validated scenario name; addresses come from the parsed model.
import type { ConnectionSpec, IfaceSpec, NetSpec, VmSpec } from './desired.ts';
import { shapingLines } from './shaping.ts';

/**
 * Host-side lines creating a net's bridge, left down: apply brings it up (bridgeUpLines) after
 * the VMs on it are configured. A port of a down bridge drops what it receives, so the IPv6
 * start-up traffic of each new VM interface (DAD, MLD, router solicitations) is not flooded to
 * every VM already on the bridge: flooding made configuring N VMs cost O(N²) in the kernel.
 */
export function bridgeLines(net: NetSpec): string[] {
  return [`link add name ${net.bridge}${net.mtu ? ` mtu ${net.mtu}` : ''} type bridge`];
}

export function bridgeUpLines(net: NetSpec): string[] {
  return [`link set dev ${net.bridge} up`];
}

function vethLine(vm: VmSpec, i: IfaceSpec): string {
  const mtu = i.mtu ? ` mtu ${i.mtu}` : '';
  const mac = i.mac ? ` address ${i.mac}` : '';
  return `link add name ${i.outer}${mtu} type veth peer name ${i.inner}${mtu}${mac} netns ${vm.netns}`;
}

/**
 * Host-side lines creating a VM: its namespace, the veths plugged into the bridges, and its
 * management link (the host's end addressed and up; the VM's end is configured inside).
 */
export function vmHostLines(vm: VmSpec): string[] {
  const lines = [`netns add ${vm.netns}`];
  for (const i of vm.ifaces) {
    lines.push(vethLine(vm, i), i.bridge ? `link set dev ${i.outer} master ${i.bridge} up` : `link set dev ${i.outer} up`);
  }
  if (vm.mgmt) {
    const m = vm.mgmt;
    lines.push(`link add name ${m.outer} type veth peer name ${m.inner} netns ${vm.netns}`, `addr add ${m.host} dev ${m.outer}`, `link set dev ${m.outer} up`);
  }
  return lines;
}

/** Host-side lines linking two nets' bridges (`<connection>`); `remake`: its veth is there, wrong. */
export function connectionLines(c: ConnectionSpec, remake: boolean): string[] {
  return [
    ...(remake ? [`link del dev ${c.a}`] : []),
    `link add name ${c.a} type veth peer name ${c.b}`,
    `link set dev ${c.a} master ${c.bridgeA} up`,
    `link set dev ${c.b} master ${c.bridgeB} up`,
  ];
}

/** tc lines shaping a VM's interfaces: on the host side (towards the VM), and inside the VM (from it). */
export function vmShapingLines(vm: VmSpec): { host: string[]; inner: string[] } {
  const host: string[] = [];
  const inner: string[] = [];
  for (const i of vm.ifaces) {
    if (!i.shaping) continue;
    host.push(...shapingLines(i.outer, i.shaping, 'host'));
    inner.push(...shapingLines(i.inner, i.shaping, 'vm'));
  }
  return { host, inner };
}

function routeDestination(r: VmSpec['routes'][number]): string {
  if (r.destination !== 'default') return r.destination;
  return r.family === 'ipv6' ? '::/0' : '0.0.0.0/0';
}

/** One step inside a VM's namespace (ns-config.ts runs them, in order). */
export type NsOp =
  | { op: 'up'; dev: string }
  | { op: 'addr'; dev: string; cidr: string; nodad?: boolean }
  | { op: 'route'; dst: string; via: string }
  | { op: 'sysctl'; key: string; value: string };

/** What is made inside the VM's namespace: links up, addresses, routes, then its net sysctls. */
export function vmInnerOps(vm: VmSpec): NsOp[] {
  const ops: NsOp[] = [{ op: 'up', dev: 'lo' }];
  for (const a of vm.loopback ?? []) ops.push({ op: 'addr', dev: 'lo', cidr: a });
  for (const i of vm.ifaces) {
    for (const a of i.ipv4) ops.push({ op: 'addr', dev: i.inner, cidr: a });
    // nodad: the address is usable at once (no duplicate address detection delay).
    for (const a of i.ipv6) ops.push({ op: 'addr', dev: i.inner, cidr: a, nodad: true });
    ops.push({ op: 'up', dev: i.inner });
  }
  if (vm.mgmt) ops.push({ op: 'addr', dev: vm.mgmt.inner, cidr: vm.mgmt.vm }, { op: 'up', dev: vm.mgmt.inner });
  for (const r of vm.routes) ops.push({ op: 'route', dst: routeDestination(r), via: r.gateway });
  for (const [key, value] of vmSysctls(vm)) ops.push({ op: 'sysctl', key, value });
  return ops;
}

/** An op as an iproute2 batch line (`ip -batch`); a sysctl is not ip's (undefined). */
export function nsOpLine(op: NsOp): string | undefined {
  switch (op.op) {
    case 'up':
      return `link set dev ${op.dev} up`;
    case 'addr':
      return `addr add ${op.cidr} dev ${op.dev}${op.nodad ? ' nodad' : ''}`;
    case 'route':
      return `route replace ${op.dst} via ${op.via}`;
    case 'sysctl':
      return undefined;
  }
}

/** The iproute2 lines of the VM's namespace (`ip -batch` inside it): its ops but the sysctls. */
export function vmInnerLines(vm: VmSpec): string[] {
  return vmInnerOps(vm).flatMap((op) => nsOpLine(op) ?? []);
}

/** sysctl settings inside the VM's namespace (name → value); empty when none needed. */
export function vmSysctls(vm: VmSpec): [string, string][] {
  const out: [string, string][] = [];
  if (vm.forwarding.ipv4) out.push(['net.ipv4.ip_forward', '1']);
  if (vm.forwarding.ipv6) out.push(['net.ipv6.conf.all.forwarding', '1']);
  return out;
}

/** Host-side removal lines (run with -force; the result is verified afterwards). */
export function removeLines(kind: 'netns' | 'link', name: string): string[] {
  return kind === 'netns' ? [`netns del ${name}`] : [`link del dev ${name}`];
}
