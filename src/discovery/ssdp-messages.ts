// SSDP message formatting and parsing (UDA 1.1 §1) and the advertisement set of a device tree.
// Pure functions: the socket side lives in ssdp.ts.
import os from 'node:os';
import type { DeviceModel } from './types.ts';
import { SSDP_GROUP, SSDP_PORT } from './types.ts';
import { allDevices } from './description.ts';

export const SERVER_HEADER = `${os.type()}/${os.release()} UPnP/1.1 ediv/0.1`;

/** One advertisement: NT (notification type) and USN (unique service name). */
export interface Advert {
  nt: string;
  usn: string;
}

/**
 * The full advertisement set of a root device: 3 for the root (rootdevice, UDN, device type),
 * 2 per embedded device (UDN, device type) and 1 per distinct service type of each device:
 * 3 + 2d + k messages, all pointing at the root's LOCATION.
 */
export function advertSet(root: DeviceModel): Advert[] {
  const out: Advert[] = [{ nt: 'upnp:rootdevice', usn: `${root.udn}::upnp:rootdevice` }];
  for (const d of allDevices(root)) {
    out.push({ nt: d.udn, usn: d.udn }, { nt: d.deviceType, usn: `${d.udn}::${d.deviceType}` });
  }
  for (const d of allDevices(root)) {
    for (const t of new Set(d.services.map((s) => s.serviceType))) out.push({ nt: t, usn: `${d.udn}::${t}` });
  }
  return out;
}

/** Adverts that belong to one device (its UDN, type and services), for a VM's byebye. */
export function advertsOfDevice(set: Advert[], udn: string): Advert[] {
  return set.filter((a) => a.usn === udn || a.usn.startsWith(`${udn}::`));
}

const TYPE_RE = /^(urn:[^:]+:(?:device|service):[^:]+):(\d+)$/;

/**
 * The adverts answering a search target, each with the ST to answer with. A device or service
 * type matches any advert of the same type with an equal or higher version (UDA 1.1 §1.3.2);
 * the response then carries the version searched for.
 */
export function matchSearch(set: Advert[], st: string): { st: string; usn: string }[] {
  if (st === 'ssdp:all') return set.map((a) => ({ st: a.nt, usn: a.usn }));
  const wanted = TYPE_RE.exec(st);
  const out: { st: string; usn: string }[] = [];
  for (const a of set) {
    if (a.nt === st) {
      out.push({ st, usn: a.usn });
    } else if (wanted) {
      const have = TYPE_RE.exec(a.nt);
      if (have && have[1] === wanted[1] && Number(have[2]) >= Number(wanted[2])) {
        out.push({ st, usn: a.usn.slice(0, a.usn.length - a.nt.length) + st });
      }
    }
  }
  return out;
}

export interface AdvertHeaders {
  location: string;
  maxAge: number;
  bootId: number;
  configId: number;
}

function message(startLine: string, headers: [string, string | number][]): string {
  return [startLine, ...headers.map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
}

export function formatAlive(a: Advert, h: AdvertHeaders): string {
  return message('NOTIFY * HTTP/1.1', [
    ['HOST', `${SSDP_GROUP}:${SSDP_PORT}`],
    ['CACHE-CONTROL', `max-age=${h.maxAge}`],
    ['LOCATION', h.location],
    ['NT', a.nt],
    ['NTS', 'ssdp:alive'],
    ['SERVER', SERVER_HEADER],
    ['USN', a.usn],
    ['BOOTID.UPNP.ORG', h.bootId],
    ['CONFIGID.UPNP.ORG', h.configId],
  ]);
}

export function formatByebye(a: Advert, h: Pick<AdvertHeaders, 'bootId' | 'configId'>): string {
  return message('NOTIFY * HTTP/1.1', [
    ['HOST', `${SSDP_GROUP}:${SSDP_PORT}`],
    ['NT', a.nt],
    ['NTS', 'ssdp:byebye'],
    ['USN', a.usn],
    ['BOOTID.UPNP.ORG', h.bootId],
    ['CONFIGID.UPNP.ORG', h.configId],
  ]);
}

export function formatSearchResponse(r: { st: string; usn: string }, h: AdvertHeaders, date = new Date()): string {
  return message('HTTP/1.1 200 OK', [
    ['CACHE-CONTROL', `max-age=${h.maxAge}`],
    ['DATE', date.toUTCString()],
    ['EXT', ''],
    ['LOCATION', h.location],
    ['SERVER', SERVER_HEADER],
    ['ST', r.st],
    ['USN', r.usn],
    ['BOOTID.UPNP.ORG', h.bootId],
    ['CONFIGID.UPNP.ORG', h.configId],
  ]);
}

export function formatMSearch(st: string, mx: number): string {
  return message('M-SEARCH * HTTP/1.1', [
    ['HOST', `${SSDP_GROUP}:${SSDP_PORT}`],
    ['MAN', '"ssdp:discover"'],
    ['MX', mx],
    ['ST', st],
    ['USER-AGENT', SERVER_HEADER],
  ]);
}

export interface SsdpMessage {
  kind: 'notify' | 'search' | 'response';
  /** Header names lower-cased. */
  headers: Record<string, string>;
}

/** An SSDP message fits one datagram; ediv's are below 1400 bytes. */
export const MAX_SSDP_BYTES = 8192;
const MAX_SSDP_HEADERS = 32;
/** Any control character but tab inside a line: binary data, or a bare CR smuggling a header. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/**
 * Parses one SSDP datagram; null for anything that is not a well-formed SSDP message: too
 * large, too many headers, binary, or with control characters (a lone CR) inside a line.
 */
export function parseSsdp(data: Buffer | string): SsdpMessage | null {
  if ((typeof data === 'string' ? data.length : data.byteLength) > MAX_SSDP_BYTES) return null;
  const text = typeof data === 'string' ? data : data.toString('latin1');
  const lines = text.split(/\r?\n/);
  const start = lines[0]?.trim() ?? '';
  let kind: SsdpMessage['kind'];
  if (/^NOTIFY \* HTTP\/1\.[01]$/i.test(start)) kind = 'notify';
  else if (/^M-SEARCH \* HTTP\/1\.[01]$/i.test(start)) kind = 'search';
  else if (/^HTTP\/1\.[01] 200\b/i.test(start)) kind = 'response';
  else return null;
  const headers: Record<string, string> = {};
  let count = 0;
  for (const line of lines.slice(1)) {
    if (line === '') break;
    if (CONTROL.test(line) || ++count > MAX_SSDP_HEADERS) return null;
    const i = line.indexOf(':');
    if (i <= 0) continue;
    headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { kind, headers };
}

/** max-age from CACHE-CONTROL, or undefined. */
export function maxAgeOf(headers: Record<string, string>): number | undefined {
  const m = /max-age\s*=\s*"?(\d+)/i.exec(headers['cache-control'] ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * The delay before answering an M-SEARCH: random in [0, MX] with MX capped at 5 (UDA 1.1).
 * Returns undefined for a multicast search without a valid MX (to be silently discarded).
 */
export function searchDelayMs(headers: Record<string, string>, random = Math.random): number | undefined {
  const mx = Number.parseInt(headers['mx'] ?? '', 10);
  if (!Number.isFinite(mx) || mx < 0) return undefined;
  return Math.floor(random() * Math.min(mx, 5) * 1000);
}
