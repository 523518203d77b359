// A small reader for ~/.ssh/config: the `Host` blocks whose patterns match a cluster host's
// address, and from them HostName, User, Port, IdentityFile, HostKeyAlias and
// UserKnownHostsFile. As in OpenSSH, the first value obtained for each keyword wins. `Match`
// blocks and `Include` are not interpreted (their settings are skipped), so an alias never picks
// up settings we cannot evaluate. ProxyJump and ProxyCommand are read only to refuse them: a
// direct connection would reach whatever answers at HostName, not the host they lead to.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { patternListMatches } from './known-hosts.ts';

export interface SshConfigEntry {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  /** The name to look host keys up (and record them) under, instead of HostName. */
  hostKeyAlias?: string;
  /** UserKnownHostsFile's files, expanded. */
  userKnownHostsFiles?: string[];
  /** The first setting ediv cannot follow for this host (ProxyJump, a bad Port, ...), described. */
  unsupported?: string;
}

interface Block {
  patterns: string[] | null; // null: a Match block (skipped)
  options: [string, string][];
}

function parseBlocks(text: string): Block[] {
  const blocks: Block[] = [{ patterns: ['*'], options: [] }]; // lines before any Host apply to all
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (!l || l.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(l);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = unquote(m[2]!.trim());
    if (key === 'host') blocks.push({ patterns: value.split(/\s+/).filter(Boolean), options: [] });
    else if (key === 'match') blocks.push({ patterns: null, options: [] });
    else blocks[blocks.length - 1]!.options.push([key, value]);
  }
  return blocks;
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** Whether a Host line's patterns (space-separated, each may be negated) match `host`. */
function hostLineMatches(patterns: string[], host: string): boolean {
  return patternListMatches(patterns.join(','), host);
}

/** Expands ~ and the %h, %p, %r, %u, %% tokens OpenSSH allows in IdentityFile and UserKnownHostsFile. */
function expandPath(p: string, host: string, port: number, user: string): string {
  const home = os.homedir();
  let s = p.startsWith('~/') || p === '~' ? path.join(home, p.slice(1)) : p;
  s = s.replace(/%([%hpru])/g, (_, c: string) =>
    c === '%' ? '%' : c === 'h' ? host : c === 'p' ? String(port) : c === 'r' ? user : os.userInfo().username,
  );
  return s;
}

/** A Port value: a number from 1 to 65535, else undefined. */
function configPort(v: string): number | undefined {
  const n = /^\d{1,5}$/.test(v) ? Number(v) : 0;
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * What ediv cannot do as the setting `key value` asks, and would otherwise silently do
 * differently; undefined when it can follow (or ignore) the setting.
 */
function unsupportedSetting(key: string, value: string): string | undefined {
  const none = value.toLowerCase() === 'none';
  if ((key === 'proxyjump' || key === 'proxycommand') && !none) {
    const name = key === 'proxyjump' ? 'ProxyJump' : 'ProxyCommand';
    return `${name} ${value} (ediv does not support it: connecting directly would reach whatever answers at the host's address instead)`;
  }
  if (key === 'port' && configPort(value) === undefined) return `Port ${value} (not a port number)`;
  if (key === 'userknownhostsfile' && (none || value === '/dev/null')) {
    return `UserKnownHostsFile ${value} (ediv always verifies host keys against a known_hosts file; set ssh.knownHosts in the cluster file instead)`;
  }
  return undefined;
}

/**
 * Settings for `host` from ssh config text; `matched` is false when no Host block (other than
 * the global section or `Host *`) names it, in which case callers ignore the file.
 */
export function resolveSshConfig(text: string, host: string): SshConfigEntry & { matched: boolean } {
  const out: SshConfigEntry & { matched: boolean } = { identityFiles: [], matched: false };
  const seen = new Set<string>();
  let knownHostsFiles: string | undefined;
  for (const b of parseBlocks(text)) {
    if (!b.patterns || !hostLineMatches(b.patterns, host)) continue;
    if (b.patterns.some((p) => !p.startsWith('!') && /[^*]/.test(p))) out.matched = true;
    for (const [k, v] of b.options) {
      if (k === 'identityfile') {
        out.identityFiles.push(v); // all of them, in order
        continue;
      }
      // Every other keyword: the first value obtained wins. ProxyJump and ProxyCommand are one
      // setting in OpenSSH (the first of either wins).
      const slot = k === 'proxycommand' ? 'proxyjump' : k;
      if (seen.has(slot)) continue;
      seen.add(slot);
      out.unsupported ??= unsupportedSetting(k, v);
      if (k === 'hostname') out.hostName = v;
      else if (k === 'user') out.user = v;
      else if (k === 'port') out.port = configPort(v);
      else if (k === 'hostkeyalias') out.hostKeyAlias = v;
      else if (k === 'userknownhostsfile') knownHostsFiles = v;
    }
  }
  const hostName = out.hostName?.replaceAll('%h', host).replaceAll('%%', '%');
  if (hostName !== undefined) out.hostName = hostName;
  const expand = (f: string) => expandPath(f, hostName ?? host, out.port ?? 22, out.user ?? '');
  out.identityFiles = out.identityFiles.map(expand);
  if (knownHostsFiles !== undefined) out.userKnownHostsFiles = knownHostsFiles.split(/\s+/).filter(Boolean).map(expand);
  return out;
}

export function defaultSshConfigPath(): string {
  return path.join(os.homedir(), '.ssh', 'config');
}

export function readSshConfig(file: string, host: string): (SshConfigEntry & { matched: boolean }) | undefined {
  if (!existsSync(file)) return undefined;
  return resolveSshConfig(readFileSync(file, 'utf8'), host);
}
