// A Linux bridge holds at most 1023 ports (port numbers are 10 bits and 0 is reserved); the
// 1024th enslaved link fails with "Exchange full". apply checks this before it makes anything.
import { InputError, type InputProblem } from '../../../common/errors.ts';
import type { DesiredState } from './desired.ts';

export const MAX_BRIDGE_PORTS = 1023;

/**
 * Throws when a net's bridge on this host would need more ports than a bridge has: the
 * desired VMs' interfaces on the net, its backplane link, and `keptPorts` (interfaces of VMs
 * of the deployment that this apply leaves in place, per net).
 */
export function checkBridgePorts(desired: DesiredState, host: string, keptPorts: ReadonlyMap<string, number> = new Map()): void {
  const ifaces = new Map<string, number>();
  for (const vm of desired.vms) for (const i of vm.ifaces) ifaces.set(i.net, (ifaces.get(i.net) ?? 0) + 1);
  for (const h of desired.host?.ifaces ?? []) ifaces.set(h.net, (ifaces.get(h.net) ?? 0) + 1); // the <host> section's port
  const problems: InputProblem[] = [];
  for (const net of desired.nets) {
    const vmPorts = (ifaces.get(net.net) ?? 0) + (keptPorts.get(net.net) ?? 0);
    const ports = vmPorts + (net.backplane ? 1 : 0);
    if (ports > MAX_BRIDGE_PORTS) {
      problems.push({
        loc: { file: 'request' },
        message:
          `net ${net.net} would have ${vmPorts} VM interface(s)${net.backplane ? ' and a backplane link' : ''} on host ${host}, ` +
          `but a Linux bridge holds at most ${MAX_BRIDGE_PORTS} ports: spread the net's VMs over more hosts`,
      });
    }
  }
  if (problems.length) throw new InputError(problems);
}
