// Finding, in a discovery tree, the VM a user names and the service of it that has an action.
// An unverified entry (identity.ts) never shadows a verified one: when a name matches both,
// the verified VM is meant, and on a verified VM the hypervisor's own service wins over a
// same-named action a self-advertisement (anyone can send one for any UDN) added.
import { InputError } from '../common/errors.ts';
import type { DiscoveryTree, TreeService, TreeVm } from './control-point.ts';
import { terminalSafe } from '../common/printable.ts';
import { recordKnows, type LabRecord } from './identity.ts';
import { parseVmRef, refByKey, refMatches } from './vm-ref.ts';

/** A name a device chose, as it may appear in a message printed on a terminal. */
const shown = (s: string | undefined) => terminalSafe(String(s));

/**
 * The VMs a user's reference names: a UDN, lab/vm (every lab of that name), deployment
 * key/vm, or a VM name (unique or not).
 */
export function findVm(tree: DiscoveryTree, ref: string): TreeVm[] {
  const wanted = parseVmRef(ref);
  return [...tree.hypervisors.flatMap((h) => h.vms), ...tree.vms].filter((v) => refMatches(wanted, v));
}

/** The verified ones among the matches when there are any, else all of them. */
export function preferVerified<T extends { verified: boolean }>(matches: T[]): T[] {
  const verified = matches.filter((m) => m.verified);
  return verified.length ? verified : matches;
}

/**
 * The matches the reference gives the deployment key of, when there are any, else all of
 * them: `tutorial/h1` is the lab deployed before keys as `tutorial` rather than also every
 * `tutorial.<uid>`, so the key forms the ambiguity error suggests always settle it.
 */
export function preferKey(matches: TreeVm[], ref: string): TreeVm[] {
  const wanted = parseVmRef(ref);
  const byKey = matches.filter((m) => refByKey(wanted, m));
  return byKey.length ? byKey : matches;
}

/** The services of a VM that have the action (of `serviceType`, when given). */
export function servicesWith(vm: TreeVm, actionName: string, serviceType?: string): TreeService[] {
  const svcs = vm.services.filter(
    (s) => (!serviceType || s.serviceType === serviceType) && (s.actions ?? []).some((a) => a.name === actionName),
  );
  if (!vm.verified) return svcs;
  const own = svcs.filter((s) => s.source === 'hypervisor');
  return own.length ? own : svcs;
}

/**
 * Whether the VM a reference names is in the tree with the action: the verified one when the
 * record knows such a VM, so an impostor that answers first is not taken for it.
 */
export function targetSeen(tree: DiscoveryTree, ref: string, actionName: string, serviceType: string | undefined, record: LabRecord | undefined): boolean {
  const wantVerified = recordKnows(record, ref);
  return findVm(tree, ref).some((v) => (v.verified || !wantVerified) && servicesWith(v, actionName, serviceType).length > 0);
}

/**
 * The one VM and service to invoke the action on, among the VMs a reference matched (at least
 * one). Several VMs, no such action, or several services with it: bad input.
 */
export function actionTarget(found: TreeVm[], ref: string, actionName: string, serviceType?: string): { vm: TreeVm; service: TreeService } {
  const matches = preferKey(preferVerified(found), ref);
  if (matches.length > 1) {
    // Listed by deployment key: two labs of one name differ there.
    throw InputError.commandLine(
      undefined,
      `${JSON.stringify(ref)} names ${matches.length} VMs (${matches.map((m) => shown(`${m.deployment}/${m.name}`)).join(', ')}): give one of these deployment-key/vm forms or the VM's UDN`,
    );
  }
  const vm = matches[0]!;
  const svcs = servicesWith(vm, actionName, serviceType);
  if (svcs.length === 0) {
    const known = vm.services.flatMap((s) => (s.actions ?? []).map((a) => a.name));
    throw InputError.commandLine(
      undefined,
      `VM ${shown(vm.name ?? vm.udn)} has no action ${JSON.stringify(actionName)}${known.length ? ` (it has: ${shown([...new Set(known)].join(', '))})` : ''}`,
    );
  }
  if (svcs.length > 1) {
    throw InputError.commandLine(undefined, `several services of ${shown(vm.name)} have ${actionName}: choose one with --service (${shown(svcs.map((s) => s.serviceType).join(', '))})`);
  }
  return { vm, service: svcs[0]! };
}
