// VLAN backplane (EDIV's way): an 802.1q subinterface `<trunk>.<id>` of the trunk, up and
// enslaved to the net's bridge. Needs the kernel's 8021q support, checked before anything is made.
import { OperationError } from '../../common/errors.ts';
import type { BackplaneSpec, NetSpec } from '../desired.ts';

export function vlanLines(net: NetSpec, b: BackplaneSpec): string[] {
  return [
    `link add link ${b.trunk} name ${b.dev} type vlan id ${b.id}`,
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
