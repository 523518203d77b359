// A small reader for ~/.ssh/config: the `Host` blocks whose patterns match a cluster host's
// address, and from them HostName, User, Port and IdentityFile. As in OpenSSH, the first value
// obtained for each keyword wins. `Match` blocks and `Include` are not interpreted (their
// settings are skipped), so an alias never picks up settings we cannot evaluate.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { patternListMatches } from './known-hosts.ts';

export interface SshConfigEntry {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
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

/** Expands ~ and the %h, %p, %r, %u, %% tokens OpenSSH allows in IdentityFile. */
function expandPath(p: string, host: string, port: number, user: string): string {
  const home = os.homedir();
  let s = p.startsWith('~/') || p === '~' ? path.join(home, p.slice(1)) : p;
  s = s.replace(/%([%hpru])/g, (_, c: string) =>
    c === '%' ? '%' : c === 'h' ? host : c === 'p' ? String(port) : c === 'r' ? user : os.userInfo().username,
  );
  return s;
}

/**
 * Settings for `host` from ssh config text; `matched` is false when no Host block (other than
 * the global section or `Host *`) names it, in which case callers ignore the file.
 */
export function resolveSshConfig(text: string, host: string): SshConfigEntry & { matched: boolean } {
  const out: SshConfigEntry & { matched: boolean } = { identityFiles: [], matched: false };
  for (const b of parseBlocks(text)) {
    if (!b.patterns || !hostLineMatches(b.patterns, host)) continue;
    if (b.patterns.some((p) => !p.startsWith('!') && /[^*]/.test(p))) out.matched = true;
    for (const [k, v] of b.options) {
      if (k === 'hostname' && out.hostName === undefined) out.hostName = v;
      else if (k === 'user' && out.user === undefined) out.user = v;
      else if (k === 'port' && out.port === undefined && /^\d+$/.test(v)) out.port = Number(v);
      else if (k === 'identityfile') out.identityFiles.push(v);
    }
  }
  const hostName = out.hostName?.replaceAll('%h', host).replaceAll('%%', '%');
  if (hostName !== undefined) out.hostName = hostName;
  out.identityFiles = out.identityFiles.map((f) => expandPath(f, hostName ?? host, out.port ?? 22, out.user ?? ''));
  return out;
}

export function defaultSshConfigPath(): string {
  return path.join(os.homedir(), '.ssh', 'config');
}

export function readSshConfig(file: string, host: string): (SshConfigEntry & { matched: boolean }) | undefined {
  if (!existsSync(file)) return undefined;
  return resolveSshConfig(readFileSync(file, 'utf8'), host);
}
