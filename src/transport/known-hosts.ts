// known_hosts as OpenSSH reads it: plain host patterns (with * ? and ! negation), "[host]:port"
// entries for non-standard ports, hashed "|1|salt|hmac" entries, and the @revoked marker
// (@cert-authority lines are skipped: certificates are not supported). A key is compared by
// its value (key-identity.ts), never by type alone.
//
// A host is looked up under every spelling of its name (lookupNames): OpenSSH lower-cases the
// name before matching and hashing, and the same host can be written with or without a DNS
// trailing dot, or as differently written IPv6 literals. Were a spelling missed, the key known
// for the host would not be found, a different key would count as "unknown" instead of
// "changed", and --accept-new-host-keys would record it.
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIPv6, SocketAddress } from 'node:net';
import path from 'node:path';
import { keyIdentity } from './key-identity.ts';

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns as written, or one hashed entry. */
  hosts: string;
  keyType: string;
  key: Buffer;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, idx) => {
    const l = raw.trim();
    if (!l || l.startsWith('#')) return;
    const fields = l.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else return; // unknown marker: ignore the line, as OpenSSH does
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) return;
    out.push({ line: idx + 1, marker, hosts, keyType, key: Buffer.from(b64, 'base64') });
  });
  return out;
}

/** The name a host is known by: "host" on port 22, "[host]:port" otherwise. */
export function knownHostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The name accept-new records: lower-cased, as OpenSSH writes it. */
export function recordedHostName(host: string, port: number): string {
  return knownHostName(host.toLowerCase(), port);
}

/** An IPv6 literal in its one canonical text form (RFC 5952), keeping a "%zone" suffix. */
function canonicalIPv6(addr: string): string {
  const zone = addr.indexOf('%');
  const bare = zone < 0 ? addr : addr.slice(0, zone);
  return new SocketAddress({ address: bare, family: 'ipv6' }).address + (zone < 0 ? '' : addr.slice(zone));
}

/**
 * The ways the name of `host` can be written in known_hosts: lower-cased; an IPv6 literal as
 * written and canonical; a DNS name with and without its trailing dot.
 */
function hostSpellings(host: string): string[] {
  const h = host.toLowerCase();
  if (isIPv6(h)) {
    try {
      return [h, canonicalIPv6(h)];
    } catch {
      return [h]; // not expected (isIPv6 said yes); but a throw here would escape from ssh2's verifier
    }
  }
  const bare = h.length > 1 && h.endsWith('.') ? h.slice(0, -1) : h;
  return [bare, `${bare}.`];
}

/**
 * Every name under which known_hosts may hold keys for `host` on `port`: each spelling of the
 * host as "host" (port 22) or "[host]:port"; on port 22, "[host]:22" too.
 */
export function lookupNames(host: string, port: number): string[] {
  const names = hostSpellings(host).flatMap((h) => [knownHostName(h, port), ...(port === 22 ? [`[${h}]:22`] : [])]);
  return [...new Set(names)];
}

/** OpenSSH-style wildcard match (* and ?), case-insensitive. */
export function wildcardMatch(pattern: string, text: string): boolean {
  const re = new RegExp(
    '^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.') + '$',
    'i',
  );
  return re.test(text);
}

/**
 * Whether a comma-separated pattern list matches a name (given as all its spellings): some
 * positive pattern matches a spelling and no negated ("!pattern") one matches any, so a
 * negation cannot be stepped around by spelling the name differently.
 */
export function patternListMatches(list: string, names: string | readonly string[]): boolean {
  const all = typeof names === 'string' ? [names] : names;
  let matched = false;
  for (const p of list.split(',')) {
    if (p.startsWith('!')) {
      if (all.some((n) => wildcardMatch(p.slice(1), n))) return false;
    } else if (all.some((n) => wildcardMatch(p, n))) {
      matched = true;
    }
  }
  return matched;
}

function hashedMatches(entry: string, name: string): boolean {
  const m = /^\|1\|([^|]+)\|([^|]+)$/.exec(entry);
  if (!m) return false;
  const salt = Buffer.from(m[1]!, 'base64');
  const want = Buffer.from(m[2]!, 'base64');
  const got = createHmac('sha1', salt).update(name).digest();
  return got.length === want.length && got.equals(want);
}

/** Whether an entry is for a host, given all the names it may be known by (lookupNames). */
function entryMatchesNames(e: KnownHostEntry, names: readonly string[]): boolean {
  if (e.hosts.startsWith('|')) return names.some((n) => hashedMatches(e.hosts, n));
  return patternListMatches(e.hosts, names);
}

/** The key type named inside an SSH public key blob (its first string). */
export function keyBlobType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export type HostKeyVerdict =
  | { status: 'ok'; entry: KnownHostEntry }
  /** No key of any type is known for the host. */
  | { status: 'unknown' }
  /** Keys are known for the host, but not this one: a changed key, or a revoked one. */
  | { status: 'changed' | 'revoked'; entries: KnownHostEntry[] };

/**
 * Checks a presented host key against known_hosts entries. A @revoked key is refused for every
 * host, whatever hosts its line names (stricter than OpenSSH, which reads the line's hosts).
 */
export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const names = lookupNames(host, port);
  const id = keyIdentity(key);
  const isKey = (e: KnownHostEntry) => e.key.equals(key) || keyIdentity(e.key) === id;
  const revoked = entries.filter((e) => e.marker === 'revoked' && isKey(e));
  if (revoked.length) return { status: 'revoked', entries: revoked };
  const mine = entries.filter((e) => !e.marker && entryMatchesNames(e, names));
  const same = mine.find(isKey);
  if (same) return { status: 'ok', entry: same };
  return mine.length ? { status: 'changed', entries: mine } : { status: 'unknown' };
}

/** The @cert-authority lines whose host patterns name this host (certificates are not checked: see hostKeyRefusal). */
export function certAuthoritiesFor(entries: KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const names = lookupNames(host, port);
  return entries.filter((e) => e.marker === 'cert-authority' && entryMatchesNames(e, names));
}

/** Key types known for a host, to put first when negotiating (as OpenSSH does). */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  const names = lookupNames(host, port);
  const types = entries.filter((e) => !e.marker && entryMatchesNames(e, names)).map((e) => keyBlobType(e.key) || e.keyType);
  return [...new Set(types)];
}

export function readKnownHostsFile(file: string): KnownHostEntry[] {
  return existsSync(file) ? parseKnownHosts(readFileSync(file, 'utf8')) : [];
}

/** Appends a host key (accept-new). One append of one whole line, so parallel accepts don't interleave. */
export function addKnownHost(file: string, host: string, port: number, key: Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    if (text.length && !text.endsWith('\n')) prefix = '\n';
  }
  appendFileSync(file, `${prefix}${recordedHostName(host, port)} ${keyBlobType(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
}
