// Finding, in a discovery tree, the VM a user names and the service of it that has an action.
import { InputError } from '../common/errors.ts';
import type { DiscoveryTree, TreeService, TreeVm } from './control-point.ts';

/** The VMs a user's reference names: a UDN, deployment/vm, or a VM name (unique or not). */
export function findVm(tree: DiscoveryTree, ref: string): TreeVm[] {
  const all = [...tree.hypervisors.flatMap((h) => h.vms), ...tree.vms];
  if (ref.startsWith('uuid:')) return all.filter((v) => v.udn === ref);
  const slash = ref.indexOf('/');
  if (slash > 0) return all.filter((v) => v.deployment === ref.slice(0, slash) && v.name === ref.slice(slash + 1));
  return all.filter((v) => v.name === ref);
}

/** The services of a VM that have the action (of `serviceType`, when given). */
export function servicesWith(vm: TreeVm, actionName: string, serviceType?: string): TreeService[] {
  return vm.services.filter(
    (s) => (!serviceType || s.serviceType === serviceType) && (s.actions ?? []).some((a) => a.name === actionName),
  );
}

/**
 * The one VM and service to invoke the action on, among the VMs a reference matched (at least
 * one). Several VMs, no such action, or several services with it: bad input.
 */
export function actionTarget(matches: TreeVm[], ref: string, actionName: string, serviceType?: string): { vm: TreeVm; service: TreeService } {
  if (matches.length > 1) {
    throw InputError.commandLine(
      undefined,
      `${JSON.stringify(ref)} names ${matches.length} VMs (${matches.map((m) => `${m.deployment}/${m.name}`).join(', ')}): give deployment/vm or the UDN`,
    );
  }
  const vm = matches[0]!;
  const svcs = servicesWith(vm, actionName, serviceType);
  if (svcs.length === 0) {
    const known = vm.services.flatMap((s) => (s.actions ?? []).map((a) => a.name));
    throw InputError.commandLine(
      undefined,
      `VM ${vm.name ?? vm.udn} has no action ${JSON.stringify(actionName)}${known.length ? ` (it has: ${[...new Set(known)].join(', ')})` : ''}`,
    );
  }
  if (svcs.length > 1) {
    throw InputError.commandLine(undefined, `several services of ${vm.name} have ${actionName}: choose one with --service (${svcs.map((s) => s.serviceType).join(', ')})`);
  }
  return { vm, service: svcs[0]! };
}
