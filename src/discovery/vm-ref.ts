// What a user's reference to a VM names (`ediv discover call REF …`): a UDN, LAB/VM or KEY/VM,
// or a VM name alone. Hosts know a deployment by its key, `<lab>.<uid>` (or the bare lab name
// for labs deployed before keys had uids: src/protocol/deployment-key.ts); people know it by
// its lab's name, which two controllers' labs may share.
import { UID_PATTERN } from '../protocol/deployment-key.ts';

export type VmRef = { udn: string } | { labOrKey: string; vm: string } | { vm: string };

/** What a VM is known by: its UDN, deployment key, lab name (when known) and VM name. */
export interface VmNames {
  udn: string;
  deployment?: string;
  lab?: string;
  name?: string;
}

export function parseVmRef(ref: string): VmRef {
  if (ref.startsWith('uuid:')) return { udn: ref };
  const slash = ref.indexOf('/');
  return slash > 0 ? { labOrKey: ref.slice(0, slash), vm: ref.slice(slash + 1) } : { vm: ref };
}

/** Whether `key` is a deployment key of a lab named `lab`: `<lab>.<uid>`, or the bare name. */
export function isKeyOf(key: string, lab: string): boolean {
  return key === lab || (key.startsWith(`${lab}.`) && UID_PATTERN.test(key.slice(lab.length + 1)));
}

/**
 * Whether the reference names the VM. LAB/VM goes by the lab name the VM gives, or else by the
 * key's form: a record entry has no lab name, and both sides must agree on what a ref names.
 */
export function refMatches(ref: VmRef, v: VmNames): boolean {
  if ('udn' in ref) return v.udn === ref.udn;
  if (v.name !== ref.vm) return false;
  if (!('labOrKey' in ref)) return true;
  return v.deployment !== undefined && (v.lab === ref.labOrKey || isKeyOf(v.deployment, ref.labOrKey));
}

/** Whether the reference gives the VM's deployment key itself (not only its lab's name). */
export function refByKey(ref: VmRef, v: VmNames): boolean {
  return 'labOrKey' in ref && v.deployment === ref.labOrKey;
}

/** How text names a VM: lab/vm, and the deployment key after it when that is not the lab's name. */
export function vmLabel(v: Omit<VmNames, 'udn'>): string {
  const lab = v.lab ?? v.deployment;
  const key = v.deployment !== undefined && v.deployment !== lab ? ` (${v.deployment})` : '';
  return `${lab}/${v.name}${key}`;
}
