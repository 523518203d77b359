// ~/.ssh/config as OpenSSH reads it, for the settings ediv uses: HostName, User, Port,
// IdentityFile, HostKeyAlias, UserKnownHostsFile and ProxyJump (ProxyCommand only to refuse it).
//
// The lexing (keywords, `=` or blanks, double quotes, trailing comments, argument lists and Match
// criteria) is the `ssh-config` package's `parse`. Its `compute` is never called: by default it
// runs `Match exec` commands through a shell, and ediv never runs code from a file it reads
// (docs/security.md). The semantics are OpenSSH's (readconf.c, ssh.c), implemented here:
//
// - The file is read line by line, as readconf.c does (each line is parsed on its own, so every
//   setting has its file and line for messages). For each keyword the first value obtained wins
//   (IdentityFile accumulates). Values given before the file is read (the cluster file's
//   non-default user and port, a ProxyJump's user@ and :port, the jump hosts before the last one)
//   are obtained first, as ssh's -l, -p and -J.
// - `Host` patterns (`*`, `?`, `!negation`, whitespace-separated; a comma is part of a pattern)
//   match the host name as given, case-sensitively, as OpenSSH's do (checked against `ssh -G`);
//   `Match host` and `originalhost` ignore case, %h is the name lower-cased.
// - `Match host|originalhost|user|localuser <pattern-list>`, `all`, `canonical`, `final`, each
//   negatable with `!`. `Match host` sees the HostName obtained so far. A `Match final` anywhere
//   makes a second pass, as in ssh: `Host` lines then match the HostName, `final`/`canonical`
//   lines match, the values of the first pass stay. `Match exec` (and criteria of newer OpenSSH
//   such as localnetwork or tagged) cannot be evaluated: the block is refused, naming its file
//   and line, when it could change a setting ediv uses; otherwise it is skipped.
// - `Include`: relative to ~/.ssh, `~`, glob wildcards (`*`, `?`, `[...]`, in lexical order), up
//   to 16 levels deep, a missing file or a directory is skipped; inside a Host or Match block it
//   applies only when the block does; a Host or Match line in the included file does not change
//   the including file's block.
// - Every line of every file read is checked, active or not (as ssh does): a line that cannot be
//   parsed, a bad Port or ProxyJump, a keyword without a value is an error naming file and line.
// - Files must be regular files of at most 1 MiB, owned by the user or root and not writable by
//   others (as known_hosts files); at most 256 files are read for one host.
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { LineType, parse } from 'ssh-config';
import type { Directive } from 'ssh-config';
import { printable } from '../common/printable.ts';

/** A config file's problem: the message starts with "file:line: " (control characters escaped). */
export class SshConfigError extends Error {
  override name = 'SshConfigError';
  constructor(message: string) {
    super(printable(message));
  }
}

/** A value as the file gave it, with where. */
export interface Located {
  value: string;
  file: string;
  line: number;
}

export const SSH_CONFIG_LIMITS = {
  /** Bytes of one config file. */
  fileBytes: 1024 * 1024,
  /** Files read (the file and its Includes) to resolve one host. */
  files: 256,
  /** Include nesting (OpenSSH's READCONF_MAX_DEPTH). */
  depth: 16,
  /** IdentityFile lines that apply (OpenSSH's SSH_MAX_IDENTITY_FILES). */
  identityFiles: 100,
} as const;

/** What is known before the file is read. */
export interface SshConfigQuery {
  /** The host as given: a cluster host's address, or a jump host as ProxyJump names it. */
  host: string;
  /** A user set before the file (ssh -l): User lines then do not take effect. */
  user?: string;
  /** A port set before the file (ssh -p). */
  port?: number;
  /** A ProxyJump set before the file (ssh -J): ProxyJump and ProxyCommand lines then do not take effect. */
  proxyJump?: Located;
  /** The remote user `Match user` sees when neither the query nor the file has given one. */
  defaultUser: string;
}

export interface SshConfigOptions {
  /** Home directory for `~`, `%d` and relative Includes (~/.ssh). Default os.homedir(). */
  home?: string;
}

export interface SshConfigResult {
  /** HostName, %h expanded. */
  hostName?: string;
  user?: string;
  port?: number;
  /** IdentityFile values in order, tokens not expanded yet (expandPathSetting). */
  identityFiles: Located[];
  hostKeyAlias?: string;
  /** UserKnownHostsFile's files, tokens not expanded yet. */
  userKnownHostsFiles?: Located[];
  /** The ProxyJump obtained (`none` or a list), tokens not expanded yet. */
  proxyJump?: Located;
  /**
   * Whether a Host line or a `Match host`/`originalhost` criterion with a pattern other than a
   * lone `*` selected the host (ediv applies a file to a cluster host only then).
   */
  matched: boolean;
  /** The first setting that applies and that ediv cannot follow, with file and line. */
  refusal?: string;
  /** Every file read, in order. */
  files: string[];
}

// ---------------------------------------------------------------------------------------------
// Patterns, as OpenSSH's match.c.

function patternRegExp(pattern: string): RegExp {
  let re = '';
  for (const c of pattern) re += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  return new RegExp(`^${re}$`, 's');
}

/** match_pattern: `*` and `?`, case-sensitive. */
export function matchPattern(text: string, pattern: string): boolean {
  return patternRegExp(pattern).test(text);
}

/** match_pattern_list(...) == 1: a comma-separated list, `!` negating; lowerCase as match_hostname. */
export function matchPatternList(text: string, list: string, lowerCase: boolean): boolean {
  const s = lowerCase ? text.toLowerCase() : text;
  let matched = false;
  for (const raw of list.split(',')) {
    const p = lowerCase ? raw.toLowerCase() : raw;
    const negated = p.startsWith('!');
    if (matchPattern(s, negated ? p.slice(1) : p)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

// ---------------------------------------------------------------------------------------------
// Lines.

interface ConfigLine {
  keyword: string;
  /** Lower-cased keyword. */
  key: string;
  args: string[];
  line: number;
}

/** Keywords whose value the library splits into a list of arguments. */
const LIST_KEYWORDS = new Set([
  'host', 'match', 'include', 'userknownhostsfile', 'globalknownhostsfile', 'ipqos', 'sendenv',
  'proxycommand', 'knownhostscommand', 'canonicaldomains',
]);

function fail(file: string, line: number, message: string): SshConfigError {
  return new SshConfigError(`${file}:${line}: ${message}`);
}

/** One line of a config file, through the library's parser; undefined for a comment or blank line. */
function parseLine(text: string, file: string, line: number): ConfigLine | undefined {
  const trimmed = text.trim();
  if (!trimmed || trimmed.startsWith('#')) return undefined;
  const bare = /^([^\s=]+)\s*(?:=\s*)?(.*)$/.exec(trimmed);
  if (!bare || !bare[1]) throw fail(file, line, `not a "Keyword value" line: ${trimmed}`);
  if (!bare[2] || bare[2].startsWith('#')) throw fail(file, line, `${bare[1]} has no value`);
  let nodes: ReturnType<typeof parse>;
  try {
    nodes = parse(trimmed);
  } catch (err) {
    const missing = /^Missing value for match criteria (\S+)/.exec((err as Error).message);
    if (missing) throw fail(file, line, `Match ${missing[1]} has no argument`);
    throw fail(file, line, `cannot parse ${JSON.stringify(trimmed)}: ${(err as Error).message}`);
  }
  // One directive, and perhaps the comment that ends the line.
  const directives = [...nodes].filter((n): n is Directive => n.type === LineType.DIRECTIVE);
  const d = directives[0];
  if (!d || !d.param || directives.length !== 1) throw fail(file, line, `not a "Keyword value" line: ${trimmed}`);
  const key = d.param.toLowerCase();
  let args: string[];
  if (Array.isArray(d.value)) args = d.value.map((v) => v.val);
  else if (d.quoted || LIST_KEYWORDS.has(key)) args = [d.value];
  else args = d.value.split(/\s+/).filter(Boolean); // unquoted blanks separate arguments
  if (!args.length || args.some((a) => a === '')) throw fail(file, line, `${d.param} has no value`);
  return { keyword: d.param, key, args, line };
}

/** The one argument of a keyword that takes one. */
function single(l: ConfigLine, file: string): string {
  if (l.args.length > 1) throw fail(file, l.line, `${l.keyword}: extra arguments at end of line (${l.args.slice(1).join(' ')}); quote a value that holds blanks`);
  return l.args[0]!;
}

/** A Port value (OpenSSH's a2port, numbers only), or undefined. */
export function configPort(v: string): number | undefined {
  const n = /^\d{1,5}$/.test(v) ? Number(v) : 0;
  return n >= 1 && n <= 65535 ? n : undefined;
}

// ---------------------------------------------------------------------------------------------
// ProxyJump values: `none`, or `[user@]host[:port]` / `ssh://[user@]host[:port]`, comma-separated.

export interface JumpSpec {
  user?: string;
  host: string;
  port?: number;
  /** As written. */
  text: string;
}

function parseJumpHost(s: string): JumpSpec | string {
  let rest = s;
  const uri = /^ssh:\/\//i.test(rest);
  if (uri) rest = rest.slice('ssh://'.length).replace(/\/$/, '');
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!user) return 'an empty user name before @';
    if (uri && /[;:]/.test(user)) return `a user name with ; or : in an ssh:// URI (${user})`;
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const end = rest.indexOf(']');
    if (end < 0) return `an unclosed [ in ${rest}`;
    host = rest.slice(1, end);
    const after = rest.slice(end + 1);
    if (after && !after.startsWith(':')) return `${after} after ]`;
    if (after) portText = after.slice(1);
  } else {
    const colon = rest.indexOf(':');
    host = colon < 0 ? rest : rest.slice(0, colon);
    if (colon >= 0) portText = rest.slice(colon + 1);
  }
  if (!host) return 'no host name';
  if (/[\s/,'"\\]/.test(host)) return `a host name with a blank, a slash, a quote or a backslash (${host})`;
  let port: number | undefined;
  if (portText !== undefined) {
    port = configPort(portText);
    if (port === undefined) return `a bad port (${portText})`;
  }
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}), text: s };
}

/** The jump hosts of a ProxyJump value, in the order they are visited; [] for `none`. */
export function parseProxyJump(value: string): JumpSpec[] | string {
  if (value.toLowerCase() === 'none') return [];
  const out: JumpSpec[] = [];
  for (const part of value.split(',')) {
    const j = parseJumpHost(part);
    if (typeof j === 'string') return `${part === '' ? 'an empty jump host' : `jump host "${part}"`}: ${j}`;
    out.push(j);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tokens, ~ and ${ENV}.

export interface TokenValues {
  /** Remote host name (HostName). */
  h: string;
  /** The host as given. */
  n: string;
  p: number;
  r: string;
  /** HostKeyAlias, else the host as given. */
  k?: string;
}

function localUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? '';
  }
}

/** `~` and `~/...` as the home directory; `~user` is refused. */
function expandTilde(value: string, home: string, where: () => string): string {
  if (value === '~') return home;
  if (value.startsWith('~/')) return path.join(home, value.slice(2));
  if (value.startsWith('~')) throw new SshConfigError(`${where()}: ${printable(value)}: ~user is not supported (write the path out)`);
  return value;
}

/** %-tokens (those in `allowed`) and `%%`; an unknown token is an error, as in OpenSSH. */
function expandPercent(value: string, allowed: string, values: Record<string, string>, where: () => string): string {
  return value.replace(/%(.?)/gs, (_, c: string) => {
    if (c === '%') return '%';
    if (!c || !allowed.includes(c) || values[c] === undefined) {
      throw new SshConfigError(`${where()}: ${printable(value)}: ${c ? `token %${c} is not supported here` : 'a lone % at the end'} (write %% for a %)`);
    }
    return values[c];
  });
}

/** ${NAME} from the environment; an unset variable is an error, as in OpenSSH. */
function expandEnv(value: string, where: () => string): string {
  return value.replace(/\$\{([^}]*)\}|\$\{.*$/gs, (_, name: string | undefined) => {
    if (name === undefined) throw new SshConfigError(`${where()}: ${printable(value)}: unterminated \${`);
    const v = process.env[name];
    if (v === undefined) throw new SshConfigError(`${where()}: ${printable(value)}: environment variable ${printable(name)} is not set`);
    return v;
  });
}

const PATH_TOKENS = 'CdhiKkLlnpru';

/**
 * An IdentityFile or UserKnownHostsFile value as ssh expands it: `~`, then `${ENV}`, then the
 * tokens %% %C %d %h %i %k %L %l %n %p %r %u. Errors name the file and line of the setting.
 */
export function expandPathSetting(loc: Located, t: TokenValues, o: SshConfigOptions = {}): string {
  const home = o.home ?? os.homedir();
  const where = () => `${loc.file}:${loc.line}`;
  const host = os.hostname();
  const values: Record<string, string> = {
    d: home,
    h: t.h,
    i: String(process.getuid?.() ?? ''),
    k: t.k ?? t.n,
    L: host.split('.')[0]!,
    l: host,
    n: t.n,
    p: String(t.p),
    r: t.r,
    u: localUser(),
  };
  values.C = createHash('sha1').update(`${values.l}${t.h}${t.p}${t.r}`).digest('hex');
  const tilde = expandTilde(loc.value, home, where);
  return expandPercent(expandEnv(tilde, where), PATH_TOKENS, values, where);
}

/** A ProxyJump value's tokens (%% %h %n %p %r) for the host it leads to. */
export function expandJumpSetting(loc: Located, t: TokenValues): string {
  return expandPercent(loc.value, 'hnpr', { h: t.h, n: t.n, p: String(t.p), r: t.r }, () => `${loc.file}:${loc.line}`);
}

// ---------------------------------------------------------------------------------------------
// Files and Include.

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A config file's text; undefined when it does not exist or is a directory (skipped, as ssh does). */
function readConfigFile(file: string, where: string): string | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO must not hang the controller before it is found not to be a file.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new SshConfigError(`${where}: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return undefined;
    if (!st.isFile()) throw new SshConfigError(`${where}: ${file} is not a regular file`);
    if (st.size > SSH_CONFIG_LIMITS.fileBytes) throw new SshConfigError(`${where}: ${file} is over ${SSH_CONFIG_LIMITS.fileBytes / 1024} KiB, too large for an ssh config file`);
    const uid = process.getuid?.();
    if (uid !== undefined && st.uid !== 0 && st.uid !== uid) throw new SshConfigError(`${where}: ${file} is not used: it belongs to another user (uid ${st.uid}), as ssh refuses`);
    if (st.mode & 0o002) throw new SshConfigError(`${where}: ${file} is not used: it is writable by others (chmod o-w ${file})`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** A glob(3) segment (`*`, `?`, `[...]`, `\` escapes) as a regular expression. */
function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < seg.length) re += seg[++i]!.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** The existing paths an absolute glob pattern names, in lexical order. */
function globFiles(pattern: string, limit: number, where: () => string): string[] {
  const segments = pattern.split('/').filter(Boolean);
  let paths = ['/'];
  for (const seg of segments) {
    if (!/[*?[\\]/.test(seg)) {
      paths = paths.map((p) => path.join(p, seg));
      continue;
    }
    const re = segmentRegExp(seg);
    const next: string[] = [];
    for (const dir of paths) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) if (re.test(n) && (!n.startsWith('.') || seg.startsWith('.'))) next.push(path.join(dir, n));
      if (next.length > limit) throw new SshConfigError(`${where()}: Include ${printable(pattern)} matches more than ${limit} files`);
    }
    paths = next;
  }
  return paths
    .filter((p) => {
      try {
        statSync(p);
        return true;
      } catch {
        return false;
      }
    })
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

/**
 * A block's state: applies, does not, or cannot be known (a Match criterion ediv cannot
 * evaluate; `specific` when its host criteria name the host, so it may be what selects it).
 */
type Activity = true | false | { undecided: string; specific: boolean };

interface Pass {
  final: boolean;
  /** What Host lines match: the host as given, or (final pass) the HostName. */
  hostForHost: string;
}

/** Keywords whose first value wins, and the slot they fill (ProxyJump and ProxyCommand share one). */
const SLOT: Record<string, string> = {
  hostname: 'hostname',
  user: 'user',
  port: 'port',
  hostkeyalias: 'hostkeyalias',
  userknownhostsfile: 'userknownhostsfile',
  proxyjump: 'proxy',
  proxycommand: 'proxy',
};

/** Match criteria of newer OpenSSH that ediv cannot evaluate (they need an argument). */
const UNEVALUABLE = new Set(['exec', 'localnetwork', 'tagged', 'command', 'version', 'sessiontype']);

class Resolver {
  private readonly q: SshConfigQuery;
  private readonly home: string;
  private readonly originalHost: string;
  private readonly values = new Map<string, Located>();
  private readonly identities: Located[] = [];
  private readonly knownHostsFiles: Located[] = [];
  /** Whether the proxy slot was filled by ProxyCommand (else ProxyJump). */
  private proxyIsCommand = false;
  private wantFinal = false;
  private matched = false;
  /** A refusal from a block that may be what selects the host: it applies even when nothing else matched. */
  private refusalSelects = false;
  private refusal?: string;
  readonly files: string[] = [];

  constructor(q: SshConfigQuery, o: SshConfigOptions) {
    this.q = q;
    this.home = o.home ?? os.homedir();
    this.originalHost = q.host;
    if (q.proxyJump) this.values.set('proxy', q.proxyJump);
  }

  /** Reads the top file; false when it does not exist. */
  run(file: string): boolean {
    const first = this.readFile(file, file, 0, false, { final: false, hostForHost: this.q.host });
    if (first === undefined) return false;
    if (this.wantFinal) this.readFile(file, file, 0, false, { final: true, hostForHost: this.hostName() });
    return true;
  }

  /** HostName obtained so far (%h expanded), else the host as given. */
  hostName(): string {
    const h = this.values.get('hostname');
    return h ? this.expandHostName(h) : this.q.host;
  }

  expandHostName(h: Located): string {
    return expandPercent(h.value, 'h', { h: this.q.host.toLowerCase() }, () => `${h.file}:${h.line}`);
  }

  private user(): string {
    return this.q.user ?? this.values.get('user')?.value ?? this.q.defaultUser;
  }

  private readFile(file: string, where: string, depth: number, neverMatch: boolean, pass: Pass): string | undefined {
    if (this.files.length >= SSH_CONFIG_LIMITS.files) throw new SshConfigError(`${where}: more than ${SSH_CONFIG_LIMITS.files} ssh config files to read`);
    const text = readConfigFile(file, where);
    if (text === undefined) return undefined;
    if (!pass.final) this.files.push(file);
    let active: Activity = !neverMatch;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const l = parseLine(lines[i]!.replace(/\r$/, ''), file, i + 1);
      if (!l) continue;
      if (l.key === 'host') active = this.hostLine(l, neverMatch, pass);
      else if (l.key === 'match') {
        // Evaluated even where it cannot apply (a `Match final` there still asks for the final pass).
        const r = this.matchLine(l, file, pass, neverMatch);
        active = neverMatch ? false : r;
      } else if (l.key === 'include') this.include(l, file, depth, neverMatch || active === false, active, pass);
      else this.setting(l, file, active);
    }
    return text;
  }

  private hostLine(l: ConfigLine, neverMatch: boolean, pass: Pass): boolean {
    if (neverMatch) return false;
    let active = false;
    let specific = false;
    for (const p of l.args) {
      const negated = p.startsWith('!');
      if (!matchPattern(pass.hostForHost, negated ? p.slice(1) : p)) continue;
      if (negated) return false;
      active = true;
      if (p !== '*') specific = true;
    }
    if (specific) this.matched = true;
    return active;
  }

  /** readconf.c's match_cfg_line, with criteria ediv cannot evaluate left undecided. */
  private matchLine(l: ConfigLine, file: string, pass: Pass, neverMatch: boolean): Activity {
    let result: true | false | string = true; // a string: undecided, why
    let specific = false;
    let criteria = 0; // before `all`, other than canonical and final
    const args = l.args;
    for (let i = 0; i < args.length; i++) {
      const raw = args[i]!;
      const negate = raw.startsWith('!');
      const attr = (negate ? raw.slice(1) : raw).toLowerCase();
      if (attr === 'all') {
        if (criteria > 0 || i < args.length - 1) throw fail(file, l.line, `Match: ${raw} must be alone, or follow only canonical or final`);
        if (negate) result = false;
        break;
      }
      if (attr === 'canonical' || attr === 'final') {
        if (attr === 'final') this.wantFinal = true;
        if (pass.final === negate) result = false; // ediv never canonicalizes: both match in the final pass only
        continue;
      }
      criteria++;
      const arg = args[++i];
      if (arg === undefined || arg.startsWith('#')) throw fail(file, l.line, `Match ${raw} has no argument`);
      let r: boolean;
      if (attr === 'host' || attr === 'originalhost') {
        // `host`: the HostName obtained so far (in the final pass, the one of the first pass).
        const subject = attr === 'host' ? this.hostName() : this.originalHost;
        r = matchPatternList(subject, arg, true);
        if (r && !negate && arg.split(',').some((p) => !p.startsWith('!') && p !== '*')) specific = true;
      } else if (attr === 'user') r = matchPatternList(this.user(), arg, false);
      else if (attr === 'localuser') r = matchPatternList(localUser(), arg, false);
      else if (UNEVALUABLE.has(attr)) {
        // ssh runs an exec command only when the criteria before it matched.
        if (result === true) {
          const why = attr === 'exec'
            ? `Match exec ${arg}: ediv never runs a command from an ssh config file (docs/security.md)`
            : `Match ${attr} is not supported by ediv`;
          result = `${file}:${l.line}: ${printable(why)}`;
        }
        continue;
      } else throw fail(file, l.line, `Match: unknown criterion ${raw}`);
      if (r === negate) result = false;
    }
    if (typeof result === 'string') return { undecided: result, specific };
    if (result && specific && !neverMatch) this.matched = true;
    return result;
  }

  private include(l: ConfigLine, file: string, depth: number, neverMatch: boolean, active: Activity, pass: Pass): void {
    const where = `${file}:${l.line}`;
    if (depth + 1 > SSH_CONFIG_LIMITS.depth) throw fail(file, l.line, `Include nested more than ${SSH_CONFIG_LIMITS.depth} levels deep`);
    if (typeof active === 'object') {
      // Whatever the files hold would be under a condition ediv cannot evaluate.
      this.refuse(active, `its block Includes ${l.args.join(' ')} (line ${l.line})`);
      neverMatch = true;
    }
    for (const arg of l.args) {
      const p = arg.startsWith('~') ? expandTilde(arg, this.home, () => where) : path.isAbsolute(arg) ? arg : path.join(this.home, '.ssh', arg);
      for (const f of globFiles(p, SSH_CONFIG_LIMITS.files, () => where)) this.readFile(f, where, depth + 1, neverMatch, pass);
    }
  }

  private refuse(message: string | { undecided: string; specific: boolean }, what?: string): void {
    if (this.refusal) return;
    if (typeof message === 'string') this.refusal = printable(message);
    else {
      this.refusal = `${message.undecided}, and ${printable(what ?? '')}: make the block not apply to this host (a criterion before it that does not match), or do not use this ssh config`;
      this.refusalSelects = message.specific;
    }
  }

  private setting(l: ConfigLine, file: string, active: Activity): void {
    const at = (value: string): Located => ({ value, file, line: l.line });
    // Check the value whether the block applies or not, as ssh does.
    let value: string | undefined;
    switch (l.key) {
      case 'hostname':
      case 'user':
      case 'hostkeyalias':
      case 'identityfile':
        value = single(l, file);
        break;
      case 'port':
        value = single(l, file);
        if (configPort(value) === undefined) throw fail(file, l.line, `Port ${value}: not a port number (1-65535)`);
        break;
      case 'proxyjump': {
        value = single(l, file);
        const jumps = parseProxyJump(value);
        if (typeof jumps === 'string') throw fail(file, l.line, `ProxyJump ${value}: ${jumps}`);
        break;
      }
      case 'proxycommand':
        value = l.args.join(' ');
        break;
      case 'userknownhostsfile':
        value = l.args.join(' ');
        break;
      default:
        return; // a keyword ediv does not use
    }
    if (active === false) return;
    const slot = SLOT[l.key];
    const takesEffect = slot === undefined ? true : !this.values.has(slot) && !this.presetFor(slot);
    if (!takesEffect) return;
    if (typeof active === 'object') {
      this.refuse(active, `its block sets ${l.keyword} (line ${l.line})`);
      return;
    }
    if (l.key === 'identityfile') {
      if (this.identities.some((x) => x.value === value)) return; // as ssh: each file once (the final pass reads them again)
      if (this.identities.length >= SSH_CONFIG_LIMITS.identityFiles) throw fail(file, l.line, `more than ${SSH_CONFIG_LIMITS.identityFiles} IdentityFile settings`);
      this.identities.push(at(value));
      return;
    }
    this.values.set(slot!, at(value));
    if (slot === 'proxy') this.proxyIsCommand = l.key === 'proxycommand';
    if (l.key === 'userknownhostsfile') {
      this.knownHostsFiles.push(...l.args.map(at));
      const v = value.toLowerCase();
      if (v === 'none' || l.args.includes('/dev/null')) {
        this.refuse(`${file}:${l.line}: UserKnownHostsFile ${value}: ediv always verifies host keys against a known_hosts file; set ssh.knownHosts in the cluster file instead`);
      }
    }
    if (l.key === 'proxycommand' && value.toLowerCase() !== 'none') {
      this.refuse(`${file}:${l.line}: ProxyCommand ${value}: ediv never runs a command from an ssh config file (docs/security.md); use ProxyJump`);
    }
  }

  private presetFor(slot: string): boolean {
    return (slot === 'user' && this.q.user !== undefined) || (slot === 'port' && this.q.port !== undefined);
  }

  result(): SshConfigResult {
    const get = (k: string) => this.values.get(k);
    const proxy = get('proxy');
    const isJump = proxy && !this.proxyIsCommand;
    return {
      ...(get('hostname') ? { hostName: this.hostName() } : {}),
      ...(get('user') ? { user: get('user')!.value } : {}),
      ...(get('port') ? { port: configPort(get('port')!.value)! } : {}),
      identityFiles: this.identities,
      ...(get('hostkeyalias') ? { hostKeyAlias: get('hostkeyalias')!.value } : {}),
      ...(this.knownHostsFiles.length ? { userKnownHostsFiles: this.knownHostsFiles } : {}),
      ...(isJump ? { proxyJump: proxy } : {}),
      matched: this.matched || (this.refusal !== undefined && this.refusalSelects),
      ...(this.refusal ? { refusal: this.refusal } : {}),
      files: this.files,
    };
  }
}

/**
 * The settings `file` gives the host of `q`, as ssh would obtain them; undefined when the file
 * does not exist. Throws an SshConfigError (its message "file:line: ...") for a line that is
 * wrong; settings that apply and that ediv cannot follow are in `refusal`.
 */
export function resolveSshConfig(file: string, q: SshConfigQuery, o: SshConfigOptions = {}): SshConfigResult | undefined {
  const r = new Resolver(q, o);
  if (!r.run(file)) return undefined;
  return r.result();
}

export function defaultSshConfigPath(): string {
  return path.join(os.homedir(), '.ssh', 'config');
}
