// Stable UDNs: name-based UUIDs (RFC 4122 version 5, SHA-1) so that a VM keeps its UDN for as
// long as it exists in its scenario, across daemon restarts and on every host it may move to.
import { createHash } from 'node:crypto';

/** ediv's own UUID namespace for name-based UDNs. */
export const EDIV_UUID_NAMESPACE = '3f1c6a52-8d3e-4b7a-9a41-5c0e2d7b8f16';

export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new RangeError(`not a UUID: ${namespace}`);
  const b = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** UDN of a VM: the same under its hypervisor and in the VM's own advertisement. */
export function vmUdn(deployment: string, vm: string): string {
  return `uuid:${uuidV5(`vm:${JSON.stringify([deployment, vm])}`, EDIV_UUID_NAMESPACE)}`;
}

/** UDN of a host's hypervisor device. */
export function hypervisorUdn(host: string): string {
  return `uuid:${uuidV5(`hypervisor:${JSON.stringify(host)}`, EDIV_UUID_NAMESPACE)}`;
}

const UDN_RE = /^uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isUdn(s: string): boolean {
  return UDN_RE.test(s);
}

/** The `uuid:…` part of a USN (`uuid:X::urn:…` → `uuid:X`). */
export function udnOfUsn(usn: string): string {
  const i = usn.indexOf('::');
  return i < 0 ? usn : usn.slice(0, i);
}
