// Net names VNX reserves for interfaces that are on no net of the scenario:
// - `lo`: addresses for the VM's loopback interface;
// - `unconnected`: an interface the VM has, plugged into nothing;
// - `vm_mgmt`: the VM's management interface, which <vm_mgmt> makes (VNX's CheckSemantics).
// Such an interface joins no bridge, spans no host and ties no VMs together in placement.
import type { Iface, Net, Vm } from './model.ts';

export const LOOPBACK_NET = 'lo';
export const UNCONNECTED_NET = 'unconnected';
export const MGMT_NET = 'vm_mgmt';
export const RESERVED_NETS: readonly string[] = [LOOPBACK_NET, UNCONNECTED_NET, MGMT_NET];

export function isReservedNet(net: string): boolean {
  return RESERVED_NETS.includes(net);
}

/** The interfaces of a VM that are on a net of the scenario. */
export function netIfaces(vm: Pick<Vm, 'ifaces'>): Iface[] {
  return vm.ifaces.filter((i) => !isReservedNet(i.net));
}

/**
 * A net that is a bridge of each host's own (`managed="no"`, e.g. libvirt's virbr0, with its
 * NAT and DHCP): per host, never joined across hosts.
 */
export function isHostLocalNet(n: Pick<Net, 'extra'>): boolean {
  return n.extra.attrs.managed === 'no';
}
