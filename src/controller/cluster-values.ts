// Syntax checks for the values a cluster file holds: host addresses, interface names, CIDR
// networks, characters. Pure functions; each returns a problem text or undefined.
import { isIP } from 'node:net';

// Characters a cluster file never needs and that make a value mean or show something else: C0
// controls (NUL ends a C string on the host; ESC drives terminals), DEL, C1 controls, the Unicode
// line separators and the bidirectional overrides that make text display other than it reads.
const INVISIBLE = '\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
/** Forbidden anywhere in a cluster file's text (tab, newline and carriage return lay the file out). */
export const FORBIDDEN_IN_TEXT = new RegExp(`[\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f${INVISIBLE}]`);
/** Forbidden in any key or string value (a name, an address, a path, a command word, a label). */
export const FORBIDDEN_IN_STRING = new RegExp(`[\\u0000-\\u001f${INVISIBLE}]`);

const CHAR_NAMES: ReadonlyMap<string, string> = new Map([
  ['\0', 'NUL'],
  ['\t', 'tab'],
  ['\n', 'newline'],
  ['\r', 'carriage return'],
  ['\u001b', 'ESC'],
  ['\u007f', 'DEL'],
]);

/** "U+0000 (NUL)": how a forbidden character is named in messages (never echoed raw). */
export function charName(c: string): string {
  const code = `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = CHAR_NAMES.get(c);
  return name ? `${code} (${name})` : code;
}

/** The text with every forbidden character written as \uXXXX, safe to print. */
export function printable(s: string): string {
  return s.replace(new RegExp(FORBIDDEN_IN_STRING.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A key or string value holding a control character, or undefined. */
export function controlCharacterProblem(s: string): string | undefined {
  const m = FORBIDDEN_IN_STRING.exec(s);
  return m ? `contains the control character ${charName(m[0])}; cluster-file strings must be printable text` : undefined;
}

/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME = 15;
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
// RFC 1123 labels, plus '_' (EDIV's own examples use my_host_name_1.mydomain.com; resolvers accept it).
const DNS_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** A network interface name usable with iproute2 (no spaces, '/', ':' or shell characters). */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'interface name is empty';
  if (name.length > MAX_IFNAME) return `interface name ${JSON.stringify(name)} is longer than ${MAX_IFNAME} characters`;
  if (!IFNAME.test(name) || name === '.' || name === '..') {
    return `interface name ${JSON.stringify(name)} is not valid: use letters, digits, '_', '-' or '.'`;
  }
  return undefined;
}

/** An IPv4/IPv6 address or a DNS host name (labels of letters, digits, '-', '_'; the last not all digits). */
export function hostAddressProblem(address: string): string | undefined {
  const bad = `address ${JSON.stringify(address)} is neither an IP address nor a DNS host name`;
  if (isIP(address) !== 0) return undefined;
  if (address.length === 0 || address.length > 253) return bad;
  const name = address.endsWith('.') ? address.slice(0, -1) : address;
  const labels = name.split('.');
  if (!labels.every((l) => DNS_LABEL.test(l))) return bad;
  // "999.1.1.1" is label-shaped but meant as an IPv4 address: top-level labels are never numeric.
  if (/^\d+$/.test(labels[labels.length - 1]!)) return `${bad} (not a valid IPv4 address)`;
  return undefined;
}

/** An IP address (no DNS name), as needed for underlay (vxlan) addresses. */
export function ipAddressProblem(address: string): string | undefined {
  return isIP(address) === 0 ? `${JSON.stringify(address)} is not an IPv4 or IPv6 address` : undefined;
}

/** Converts a dotted IPv4 netmask ("255.255.0.0") to a prefix length, or undefined if not contiguous. */
export function maskToPrefix(mask: string): number | undefined {
  if (isIP(mask) !== 4) return undefined;
  const bits = mask
    .split('.')
    .map((o) => Number(o).toString(2).padStart(8, '0'))
    .join('');
  if (!/^1*0*$/.test(bits)) return undefined;
  return bits.indexOf('0') === -1 ? 32 : bits.indexOf('0');
}

/** A network in CIDR form ("10.250.0.0/16", "fd00::/64"). */
export function cidrProblem(cidr: string): string | undefined {
  const bad = `${JSON.stringify(cidr)} is not a network in CIDR form (like 10.250.0.0/16)`;
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  if (!m) return bad;
  const family = isIP(m[1]!);
  const max = family === 4 ? 32 : family === 6 ? 128 : -1;
  if (max < 0 || Number(m[2]) > max) return bad;
  return undefined;
}
