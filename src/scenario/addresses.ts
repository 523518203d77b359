// IP addresses, prefixes, netmasks, MACs and route destinations as VNUML/VNX write them.
// Parsing returns either a value or a message that says what is wrong (callers add the location).
import { isIP, isIPv4, isIPv6 } from 'node:net';
import type { IpAddress } from './model.ts';
import { quote } from './quote.ts';

export type Family = 'ipv4' | 'ipv6';
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(message: string): Parsed<T> => ({ ok: false, message });

export function maxPrefix(family: Family): number {
  return family === 'ipv4' ? 32 : 128;
}

/**
 * Whether `text` is an address of the family. An IPv6 zone id (`fe80::1%eth0`, which node's
 * isIPv6 takes) is not: it names an interface of the machine that wrote it, and ip reads it as
 * part of the address or refuses it.
 */
export function isAddress(family: Family, text: string): boolean {
  return family === 'ipv4' ? isIPv4(text) : isIPv6(text) && !text.includes('%');
}

export function familyOf(text: string): Family | undefined {
  const v = isIP(text);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** Why `text` is not an address of the family (a zone id named as such). */
export function notAnAddress(family: Family, text: string, what = 'address'): string {
  const name = family === 'ipv4' ? 'IPv4' : 'IPv6';
  if (family === 'ipv6' && text.includes('%') && isIPv6(text)) {
    return `${what} ${quote(text, 60)} has a zone id (%${quote(text.slice(text.indexOf('%') + 1), 20).slice(1, -1)}): write the ${name} address without it`;
  }
  return `${what} ${quote(text, 60)} is not a valid ${name} address`;
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
  return bad(`mask ${quote(mask, 40)} is neither a prefix length nor a dotted netmask`);
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
    return bad(family === 'ipv6' && addr.includes('%') ? notAnAddress(family, addr) : `${quote(t, 60)} is not a valid ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
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

/**
 * Route destination: "default" or a network in CIDR form of the route's family (no prefix: a
 * host route). The prefix length is decimal without leading zeros (iproute2 reads "024" as
 * octal, /20), and the address is the network's: the kernel refuses "10.1.2.3/24".
 */
export function checkRouteDestination(family: Family, dest: string): string | undefined {
  if (dest === 'default') return undefined;
  const slash = dest.indexOf('/');
  const addr = slash < 0 ? dest : dest.slice(0, slash);
  if (!isAddress(family, addr)) {
    return addr.includes('%') && family === 'ipv6' ? notAnAddress(family, addr, 'route destination') : `route destination ${quote(dest, 60)} is not "default" or a valid ${family} network`;
  }
  if (slash < 0) return undefined;
  const p = dest.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > maxPrefix(family)) {
    return `route destination ${quote(dest, 60)} has an invalid prefix length (a whole number 0-${maxPrefix(family)}, no leading zeros)`;
  }
  const network = networkOf(family, addr, Number(p));
  if (network !== canonical(family, addr)) return `route destination ${dest} is not a network address: write ${network}/${p}`;
  return undefined;
}

/** The network address of `addr`/`prefix` (canonical text): its host bits cleared. */
export function networkOf(family: Family, addr: string, prefix: number): string {
  const bits = maxPrefix(family);
  const value = toBigInt(family, addr);
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
  return fromBigInt(family, value & mask);
}

function toBigInt(family: Family, addr: string): bigint {
  if (family === 'ipv4') return addr.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
  // The URL parser expands nothing: spell out the groups from its canonical (compressed) form.
  const c = canonical(family, addr);
  const [head, tail] = c.includes('::') ? c.split('::') : [c, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function fromBigInt(family: Family, v: bigint): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((sh) => String((v >> sh) & 255n)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((sh) => ((v >> sh) & 0xffffn).toString(16));
  return canonical(family, groups.join(':'));
}

/** Checks an already-parsed address (for scenarios built by other parsers). */
export function checkIpAddress(family: Family, a: IpAddress): string | undefined {
  if (!isAddress(family, a.address)) return notAnAddress(family, a.address);
  if (!Number.isInteger(a.prefix) || a.prefix < 0 || a.prefix > maxPrefix(family)) {
    return `${a.address}/${a.prefix}: prefix length must be 0-${maxPrefix(family)}`;
  }
  return undefined;
}
