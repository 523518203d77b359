// VXLAN backplane: one VXLAN device per spanning net (VNI = id) over the trunk, unicast
// head-end replication (an all-zeros FDB entry per remote host: broadcast, unknown unicast and
// multicast go to every other host of the net; MAC learning then sends unicast to the right
// one). Its MTU is the trunk's minus the encapsulation, and the VM interfaces on the net get
// the same MTU so nothing is fragmented silently.
import type { BackplaneSpec, NetSpec } from '../desired.ts';

export const VXLAN_PORT = 4789;

export function vxlanLines(net: NetSpec, b: BackplaneSpec): string[] {
  const local = b.localAddress ? ` local ${b.localAddress}` : '';
  const mtu = b.mtu ? ` mtu ${b.mtu}` : '';
  return [
    `link add name ${b.dev}${mtu} type vxlan id ${b.id}${local} dstport ${VXLAN_PORT} dev ${b.trunk}`,
    `link set dev ${b.dev} master ${net.bridge} up`,
  ];
}

/** `bridge -batch` lines: the head-end replication list. */
export function vxlanFdbLines(b: BackplaneSpec): string[] {
  return b.remotes.map((r) => `fdb append 00:00:00:00:00:00 dev ${b.dev} dst ${r}`);
}
