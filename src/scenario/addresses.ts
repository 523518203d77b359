// IP addresses, prefixes, netmasks, MACs and route destinations as VNUML/VNX write them.
// Parsing returns either a value or a message that says what is wrong (callers add the location).
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { IpAddress } from './model.ts';

export type Family = 'ipv4' | 'ipv6';
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(message: string): Parsed<T> => ({ ok: false, message });

export function maxPrefix(family: Family): number {
  return family === 'ipv4' ? 32 : 128;
}

export function isAddress(family: Family, text: string): boolean {
  return family === 'ipv4' ? isIPv4(text) : isIPv6(text);
}

export function familyOf(text: string): Family | undefined {
  const v = isIP(text);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** "24" or "255.255.255.0" → 24 (IPv4 masks must be contiguous). */
export function parseMask(family: Family, mask: string): Parsed<number> {
  const m = mask.trim();
  if (/^\d{1,3}$/.test(m)) {
    const n = Number(m);
    return n <= maxPrefix(family) ? ok(n) : bad(`prefix length /${n} is out of range 0-${maxPrefix(family)}`);
  }
  if (family === 'ipv4' && isIPv4(m)) {
    const bits = m.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    const bin = bits.toString(2).padStart(32, '0');
    if (!/^1*0*$/.test(bin)) return bad(`netmask ${m} is not contiguous (write a prefix length such as /24)`);
    return ok(bin.indexOf('0') < 0 ? 32 : bin.indexOf('0'));
  }
  return bad(`mask ${JSON.stringify(mask)} is neither a prefix length nor a dotted netmask`);
}

/**
 * The text of an <ipv4>/<ipv6> element: "addr/len", or "addr" with an optional mask attribute.
 * Without either, VNX/VNUML assume /24 for IPv4 (the schema's default mask 255.255.255.0)
 * and /64 for IPv6.
 */
export function parseInterfaceAddress(family: Family, text: string, mask?: string): Parsed<IpAddress> {
  const t = text.trim();
  const slash = t.indexOf('/');
  const addr = slash < 0 ? t : t.slice(0, slash);
  if (!isAddress(family, addr)) {
    return bad(`${JSON.stringify(t)} is not a valid ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
  }
  let prefix: number | undefined;
  if (slash >= 0) {
    const p = parseMask(family, t.slice(slash + 1));
    if (!p.ok) return p;
    prefix = p.value;
  }
  if (mask !== undefined && mask.trim() !== '') {
    const m = parseMask(family, mask);
    if (!m.ok) return m;
    if (prefix !== undefined && prefix !== m.value) {
      return bad(`${t} has prefix /${prefix} but mask="${mask}" says /${m.value}: give only one`);
    }
    prefix = m.value;
  }
  return ok({ address: canonical(family, addr), prefix: prefix ?? (family === 'ipv4' ? 24 : 64) });
}

/** Canonical text: IPv4 as is; IPv6 compressed lower-case (RFC 5952) via the URL parser. */
export function canonical(family: Family, addr: string): string {
  if (family === 'ipv4') return addr;
  try {
    return new URL(`http://[${addr}]/`).hostname.slice(1, -1);
  } catch {
    return addr.toLowerCase();
  }
}

/** Route destination: "default" or a network in CIDR form of the route's family. */
export function checkRouteDestination(family: Family, dest: string): string | undefined {
  if (dest === 'default') return undefined;
  const slash = dest.indexOf('/');
  const addr = slash < 0 ? dest : dest.slice(0, slash);
  if (!isAddress(family, addr)) return `route destination ${JSON.stringify(dest)} is not "default" or a valid ${family} network`;
  if (slash >= 0) {
    const p = dest.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > maxPrefix(family)) {
      return `route destination ${dest} has an invalid prefix length (0-${maxPrefix(family)})`;
    }
  }
  return undefined;
}

/** Checks an already-parsed address (for scenarios built by other parsers). */
export function checkIpAddress(family: Family, a: IpAddress): string | undefined {
  if (!isAddress(family, a.address)) return `${JSON.stringify(a.address)} is not a valid ${family} address`;
  if (!Number.isInteger(a.prefix) || a.prefix < 0 || a.prefix > maxPrefix(family)) {
    return `${a.address}/${a.prefix}: prefix length must be 0-${maxPrefix(family)}`;
  }
  return undefined;
}

export function isMac(mac: string): boolean {
  return /^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$/.test(mac);
}
