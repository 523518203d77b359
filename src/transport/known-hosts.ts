// known_hosts as OpenSSH reads it: plain host patterns (with * ? and ! negation), "[host]:port"
// entries for non-standard ports, hashed "|1|salt|hmac" entries, and the @revoked marker
// (@cert-authority lines are skipped: certificates are not supported). A key is compared by
// its full blob, never by type alone.
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

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

/** OpenSSH-style wildcard match (* and ?), case-insensitive. */
export function wildcardMatch(pattern: string, text: string): boolean {
  const re = new RegExp(
    '^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.') + '$',
    'i',
  );
  return re.test(text);
}

/**
 * Whether a comma-separated pattern list matches `name`: some positive pattern matches and no
 * negated ("!pattern") one does.
 */
export function patternListMatches(list: string, name: string): boolean {
  let matched = false;
  for (const p of list.split(',')) {
    if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), name)) return false;
    } else if (wildcardMatch(p, name)) {
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

export function entryMatchesHost(e: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostName(host, port);
  if (e.hosts.startsWith('|')) return hashedMatches(e.hosts, name);
  return patternListMatches(e.hosts, name);
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

/** Checks a presented host key against known_hosts entries. */
export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyVerdict {
  const mine = entries.filter((e) => e.marker !== 'cert-authority' && entryMatchesHost(e, host, port));
  const revoked = entries.filter((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked.length) return { status: 'revoked', entries: revoked };
  const same = mine.find((e) => !e.marker && e.key.equals(key));
  if (same) return { status: 'ok', entry: same };
  const others = mine.filter((e) => !e.marker);
  return others.length ? { status: 'changed', entries: others } : { status: 'unknown' };
}

/** Key types known for a host, to put first when negotiating (as OpenSSH does). */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  const types = entries.filter((e) => !e.marker && entryMatchesHost(e, host, port)).map((e) => keyBlobType(e.key) || e.keyType);
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
  appendFileSync(file, `${prefix}${knownHostName(host, port)} ${keyBlobType(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
}
