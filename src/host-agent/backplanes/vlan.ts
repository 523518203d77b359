// VLAN backplane (EDIV's way): an 802.1q subinterface `<trunk>.<id>` of the trunk, up and
// enslaved to the net's bridge. Needs the kernel's 8021q support, checked before anything is made.
// No encapsulation overhead (the 4-byte tag is not counted in the MTU): the net keeps the kernel's
// default MTU, or, when the cluster file sets trunkMTU, that MTU on the subinterface, the bridge
// and the VM interfaces.
import fs from 'node:fs';
import { OperationError } from '../../common/errors.ts';
import { BACKPLANES } from '../../protocol/backplane.ts';
import { linkName, MAX_IFNAME } from '../naming.ts';
import type { Backplane, BackplaneSpec } from './backplane.ts';

const descriptor = BACKPLANES.vlan;

export function vlanLines(net: { bridge: string }, b: BackplaneSpec): string[] {
  return [
    `link add link ${b.trunk} name ${b.dev}${b.mtu ? ` mtu ${b.mtu}` : ''} type vlan id ${b.id}`,
    `link set dev ${b.dev} master ${net.bridge} up`,
  ];
}

/** Fails early (nothing made yet) when the kernel cannot make VLAN subinterfaces. */
export function checkVlanSupport(has8021q: boolean, nets: string[]): void {
  if (has8021q) return;
  throw new OperationError(
    `this host's kernel has no 802.1q VLAN support (module 8021q), so the vlan backplane for ` +
      `net(s) ${nets.join(', ')} cannot be made; nothing was changed. Use 'backplane: vxlan' in the cluster file ` +
      `(or load the 8021q module: modprobe 8021q).`,
  );
}

/** EDIV's VLAN subinterface name `<trunk>.<id>`, or a hashed name when that exceeds 15 chars. */
export function vlanLinkName(trunk: string, id: number, key: string): string {
  const natural = descriptor.external(trunk, id);
  return natural.length <= MAX_IFNAME ? natural : linkName(descriptor.kind, `${key}|${trunk}|${id}`);
}

export const vlanBackplane: Backplane = {
  descriptor,
  allocatedNames: false,
  check: (caps, nets) => checkVlanSupport(caps[descriptor.capability], nets),
  linkName: (link, { tag, deployment }) => vlanLinkName(link.trunk, link.id, `${tag}|${deployment}|${link.net}`),
  mtuOverhead: () => 0,
  linkLines: vlanLines,
  peerLines: () => [],
  probeLine: (name, parent) => (parent ? `link add link ${parent} name ${name} type vlan id 42` : undefined),
  presentWithoutRoot: () => fs.existsSync('/proc/net/vlan/config'),
};
