// `ediv vm-advertise`: the line saying what is announced where (text or one JSON line).
import type { SelfAdvertisement } from '../../discovery/self-advertise.ts';

export function renderAdvertising(a: SelfAdvertisement, json: boolean | undefined): string {
  if (!json) return `advertising ${a.udn} at ${a.location} on ${a.interface}\n`;
  return JSON.stringify({ type: 'advertising', udn: a.udn, location: a.location, interface: a.interface, services: a.services }) + '\n';
}
