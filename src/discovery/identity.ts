// Whether a discovered hypervisor or VM is who it says it is. The vendor elements (ediv:host,
// ediv:deployment, ediv:lab, ediv:vm) are plain text anyone can write, so a rogue device can
// call itself `lab/r1`. What binds a VM to its identity is where it is served: it must be an
// embedded device of the hypervisor whose LOCATION is the management address that the lab's
// record (the controller's state) gives the VM's host. Only the controller knows that record;
// where it is not known, or the facts do not match, an entry is unverified. The identity is
// the deployment key and VM name (the record's entries); a lab name is only what people call it.
import { vmUdn } from './udn.ts';
import { parseVmRef, refMatches } from './vm-ref.ts';

/** What the controller's state says about the deployed labs (built by the controller layer). */
export interface LabRecord {
  /** Management IPv4 addresses the record gives each cluster host (a host named by DNS has none). */
  hosts: Map<string, string[]>;
  /** Each deployed VM (`<deployment key>/<vm>`): its host and that host's management IPv4 address. */
  vms: Map<string, { host: string; address: string }>;
}

/** The hypervisor `host` served at `locationHost` is the one the record knows by that name. */
export function hypervisorVerified(record: LabRecord | undefined, host: string | undefined, locationHost: string): boolean {
  return Boolean(record && host && record.hosts.get(host)?.includes(locationHost));
}

/**
 * The VM (embedded in the hypervisor `host` served at `locationHost`) is the record's
 * deployment/vm: the record places it on that host, at that address (another lab's record may
 * know a host of the same name elsewhere).
 */
export function vmVerified(
  record: LabRecord | undefined,
  vm: { deployment?: string; name?: string },
  host: string | undefined,
  locationHost: string,
): boolean {
  if (!record || !host || vm.deployment === undefined || vm.name === undefined) return false;
  const placed = record.vms.get(`${vm.deployment}/${vm.name}`);
  return placed !== undefined && placed.host === host && placed.address === locationHost;
}

/**
 * Whether the record knows a VM by this reference (UDN, lab/vm, deployment key/vm or name): one
 * can then be verified. Its entries are keyed `<deployment key>/<vm>`.
 */
export function recordKnows(record: LabRecord | undefined, ref: string): boolean {
  if (!record) return false;
  const wanted = parseVmRef(ref);
  return [...record.vms.keys()].some((entry) => {
    const slash = entry.indexOf('/');
    const [deployment, name] = [entry.slice(0, slash), entry.slice(slash + 1)];
    return refMatches(wanted, { udn: vmUdn(deployment, name), deployment, name });
  });
}
