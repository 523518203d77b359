// VXLAN backplane: one VXLAN device per spanning net (VNI = id) over the trunk, unicast
// head-end replication (an all-zeros FDB entry per remote host: broadcast, unknown unicast and
// multicast go to every other host of the net; MAC learning then sends unicast to the right
// one). Its MTU is the trunk's minus the encapsulation, and the VM interfaces on the net get
// the same MTU so nothing is fragmented silently.
//
// The UDP port is the request's `port` (the cluster file's vxlan.port; IANA's 4789 by default):
// Linux sends to it and listens on it, so every host of a cluster uses the same one. The MTU is
// derived from the request's `trunkMTU` when the cluster file sets one (backplaneMtu).
import { OperationError } from '../../common/errors.ts';
import { BACKPLANES } from '../../protocol/backplane.ts';
import { VXLAN_DEFAULT_PORT, vxlanOverhead } from '../../protocol/cluster.ts';
import { backplaneKey, type Backplane, type BackplaneSpec } from './backplane.ts';

const descriptor = BACKPLANES.vxlan;

export const VXLAN_PORT = VXLAN_DEFAULT_PORT;
export { vxlanOverhead };

export function vxlanLines(net: { bridge: string }, b: BackplaneSpec): string[] {
  const local = b.localAddress ? ` local ${b.localAddress}` : '';
  const mtu = b.mtu ? ` mtu ${b.mtu}` : '';
  return [
    `link add name ${b.dev}${mtu} type vxlan id ${b.id}${local} dstport ${b.port ?? VXLAN_PORT} dev ${b.trunk}`,
    `link set dev ${b.dev} master ${net.bridge} up`,
  ];
}

/** `bridge -batch` lines: the head-end replication list. */
export function vxlanFdbLines(b: BackplaneSpec): string[] {
  return b.remotes.map((r) => `fdb append 00:00:00:00:00:00 dev ${b.dev} dst ${r}`);
}

export const vxlanBackplane: Backplane = {
  descriptor,
  allocatedNames: true,
  defaultPort: VXLAN_PORT,
  check(caps) {
    if (!caps[descriptor.capability]) {
      throw new OperationError(`this host's kernel cannot make VXLAN devices; the vxlan backplane is not available here`);
    }
  },
  // `vxlan<VNI>`, as the fragment's `external` says (the VNI is unique among the labs of a cluster).
  linkName: (link, { deployment, names }) => names.name(descriptor.kind, `${deployment}|${backplaneKey(link.net)}`, `vxlan${link.id}`),
  mtuOverhead: (link) => vxlanOverhead(link.localAddress),
  linkLines: vxlanLines,
  peerLines: vxlanFdbLines,
  probeLine: (name) => `link add ${name} type vxlan id 42 dstport ${VXLAN_PORT} local 127.0.0.1`,
  presentWithoutRoot: () => false,
};
