// `ediv agent serve`: starts, reloads or stops the host's hypervisor discovery daemon.
// The daemon is a detached process (own session, survives the SSH session that started it),
// one per agent state directory whatever the number of scenarios; see docs/discovery.md.
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { InputError, OperationError } from '../common/errors.ts';
import type { InputProblem } from '../common/errors.ts';
import { isSafeName } from '../common/names.ts';
import { DEFAULT_MAX_AGE } from './types.ts';
import { parseCidr, resolveInterface } from './netif.ts';
import { isUdn } from './udn.ts';
import type { DaemonConfig, DaemonState } from './daemon.ts';
import { files, runningPid } from './daemon.ts';
import { pidAlive } from '../common/process.ts';
import { sleep } from './ssdp.ts';
import { KEY_HEX, formatKeyList, readKeyFile, withKey } from './control-auth.ts';
import { writeFileAtomic } from '../common/atomic-write.ts';

export interface ServeRequest {
  /** Cluster host name this agent acts as (names the hypervisor; UDN derives from it). */
  host: string;
  /** Management interface (SSDP multicast and HTTP only there). */
  interface?: string;
  /** Management address (alternative or check for `interface`). */
  address?: string;
  /** Management network in CIDR form: the local IPv4 address inside it is used (when no address is given). */
  network?: string;
  /** Agent state directory (default: the agent's --state-dir). */
  stateDir?: string;
  /** HTTP port of the description/control server; default 0 = any free port. */
  port?: number;
  /** SSDP max-age in seconds (default 1800). */
  maxAge?: number;
  /** Stop the daemon: byebye for everything, then exit. */
  stop?: boolean;
  /** Only make a running daemon re-read the VM list (no start). */
  reload?: boolean;
  /** Serve the VMs listed in this JSON file instead of the agent's inventory. */
  vmsFile?: string;
  /** Override the hypervisor UDN. */
  udn?: string;
  /**
   * The controller's discovery control key, 64 hex digits (sent on stdin, never in argv).
   * Added 0600 to <stateDir>/.discovery/control.key, which keeps the keys of every controller
   * that sent one (at most MAX_KEYS, newest last); from then on Start, Stop, Suspend and Resume
   * need a signature made with one of them. Absent: the keys stored before (if any) stay in force.
   */
  controlKey?: string;
}

export interface ServeResult {
  host: string;
  running: boolean;
  pid?: number;
  url?: string;
  udn?: string;
  configId?: number;
  started?: boolean;
  reloaded?: boolean;
  stopped?: boolean;
  /** The daemon has control keys: state-changing actions need a signature made with one. */
  signedControl?: boolean;
  /** How many keys its key file holds (one per controller that deployed onto the host, at most MAX_KEYS). */
  controlKeys?: number;
}

export interface ServeContext {
  stateDir?: string;
  emit?: (line: unknown) => void;
  /**
   * Entry module of the daemon process (`node <daemonMain> <config>`): it runs runDaemon
   * (daemon.ts) with the VM inventory to serve. Given by the composition root (src/cli/agent.ts).
   */
  daemonMain: string;
}

const WHERE = 'serve request';

/** The request, checked: every problem at once (InputError), nothing touched. */
export function checkServeRequest(raw: unknown): ServeRequest {
  const problems: InputProblem[] = [];
  const bad = (message: string) => problems.push({ loc: { file: WHERE }, message });
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw InputError.at(WHERE, undefined, undefined, 'expected a JSON object');
  const r = raw as Record<string, unknown>;
  const known = ['host', 'interface', 'address', 'network', 'stateDir', 'port', 'maxAge', 'stop', 'reload', 'vmsFile', 'udn', 'controlKey'];
  for (const k of Object.keys(r)) if (!known.includes(k)) bad(`unknown field ${JSON.stringify(k)}`);
  if (typeof r.host !== 'string' || !isSafeName(r.host)) bad('"host" must be a host name (letters, digits, _ - .)');
  for (const k of ['interface', 'address', 'network', 'stateDir', 'vmsFile', 'udn']) {
    if (r[k] !== undefined && (typeof r[k] !== 'string' || r[k] === '')) bad(`"${k}" must be a non-empty string`);
  }
  if (r.port !== undefined && !(Number.isInteger(r.port) && (r.port as number) >= 0 && (r.port as number) <= 65535)) bad('"port" must be 0..65535');
  if (r.maxAge !== undefined && !(Number.isInteger(r.maxAge) && (r.maxAge as number) >= 10 && (r.maxAge as number) <= 86400)) bad('"maxAge" must be 10..86400 seconds');
  for (const k of ['stop', 'reload']) if (r[k] !== undefined && typeof r[k] !== 'boolean') bad(`"${k}" must be true or false`);
  if (typeof r.udn === 'string' && !isUdn(r.udn)) bad('"udn" must look like uuid:xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx');
  // Never echo the value: a malformed key may still be most of a real one.
  if (r.controlKey !== undefined && (typeof r.controlKey !== 'string' || !KEY_HEX.test(r.controlKey))) bad('"controlKey" must be 64 lower-case hex digits');
  if (typeof r.network === 'string' && parseCidr(r.network) === undefined) bad('"network" must be an IPv4 network in CIDR form, e.g. 10.250.0.0/16');
  if (!r.stop && !r.reload && r.interface === undefined && r.address === undefined && r.network === undefined) {
    bad('give "interface", "address" or "network" (the management network)');
  }
  if (problems.length) throw new InputError(problems);
  return r as unknown as ServeRequest;
}

function readState(dir: string): DaemonState | undefined {
  try {
    return JSON.parse(fs.readFileSync(files(dir).state, 'utf8')) as DaemonState;
  } catch {
    return undefined;
  }
}

function describe(host: string, pid: number | undefined, dir: string): ServeResult {
  const st = pid ? readState(dir) : undefined;
  const keyFile = st?.config.controlKeyFile;
  const keys = keyCount(keyFile);
  return {
    host, running: pid !== undefined, pid, url: st?.url, udn: st?.udn, configId: st?.configId,
    signedControl: keyFile !== undefined, ...(keys !== undefined ? { controlKeys: keys } : {}),
  };
}

/**
 * The keys a key file holds before a new one is added, and its text: none when there is no
 * file, or when others could read it (keys they may know are not kept); lines that are not
 * keys are dropped.
 */
function storedKeys(file: string, say: (msg: string) => void): { keys: string[]; text?: string } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return { keys: [] };
  }
  if ((st.mode & 0o077) !== 0) {
    say(`${file} was readable by others (mode ${(st.mode & 0o777).toString(8)}): its keys are dropped, only the one of this request is kept`);
    return { keys: [] };
  }
  const text = fs.readFileSync(file, 'utf8');
  return { keys: text.split('\n').map((l) => l.trim()).filter((l) => KEY_HEX.test(l)), text };
}

/** A lock older than this was left by a serve that died holding it (it is held for a read and a write). */
const KEY_LOCK_STALE_MS = 5_000;

/**
 * Runs `fn` (a read and a write of the key file, synchronous) holding <dir>/control.key.lock,
 * a directory made atomically: two serve requests at once (two controllers deploying onto the
 * host) must not each write a list lacking the other's key.
 */
async function withKeyLock<T>(dir: string, fn: () => T): Promise<T> {
  const lock = `${files(dir).controlKey}.lock`;
  const end = Date.now() + 15_000;
  for (;;) {
    try {
      fs.mkdirSync(lock, { mode: 0o700 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let age: number;
      try {
        age = Date.now() - fs.statSync(lock).mtimeMs;
      } catch {
        continue; // just released
      }
      if (age > KEY_LOCK_STALE_MS) fs.rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > end) throw new OperationError(`${lock} is held by another serve request: try again`);
      else await sleep(20);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Adds the control key the request brings to the host's key file — one key a line, oldest
 * first; a key already there moves to the end; at most MAX_KEYS, the oldest dropped — so every
 * controller that deployed onto the host may sign actions there. Written 0600, atomically
 * (never a moment with keys in a wider file), unless it already says exactly that. Returns the key
 * file when there is one, new or from before.
 */
async function installControlKey(dir: string, hex: string | undefined, say: (msg: string) => void): Promise<string | undefined> {
  const file = files(dir).controlKey;
  if (hex !== undefined) {
    await withKeyLock(dir, () => {
      const before = storedKeys(file, say);
      const after = formatKeyList(withKey(before.keys, hex));
      if (after !== before.text) writeFileAtomic(file, after, { mode: 0o600 });
    });
  }
  return fs.existsSync(file) ? file : undefined;
}

/** How many keys the daemon's key file holds (undefined: none, or not readable as keys). */
function keyCount(file: string | undefined): number | undefined {
  if (!file) return undefined;
  try {
    return readKeyFile(file).length;
  } catch {
    return undefined;
  }
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!pidAlive(pid)) return true;
    await sleep(50);
  }
  return !pidAlive(pid);
}

/** SIGTERM (byebye, exit); SIGKILL if it does not go within 10 s. */
async function stopDaemon(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  if (!(await waitExit(pid, 10_000))) {
    process.kill(pid, 'SIGKILL');
    await waitExit(pid, 2_000);
  }
}

function sameConfig(a: DaemonConfig, b: DaemonConfig): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof DaemonConfig>;
  return [...keys].every((k) => a[k] === b[k]);
}

/** Daemons this process started early (serveEarly) whose readiness a later serve awaits, by directory. */
const earlyStarts = new Map<string, Promise<unknown>>();

/** What every serve request does first: its directory (0700) and key file, and the daemon running there. */
async function prepare(request: unknown, ctx: ServeContext) {
  const req = checkServeRequest(request);
  const stateDir = req.stateDir ?? ctx.stateDir;
  if (!stateDir) throw InputError.at(WHERE, undefined, undefined, 'no state directory: give "stateDir" or run the agent with --state-dir');
  const dir = path.join(path.resolve(stateDir), '.discovery');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700); // made by an older version with the umask's mode, perhaps
  const say = (message: string) => ctx.emit?.({ type: 'progress', step: 'discovery', message });
  const controlKeyFile = await installControlKey(dir, req.controlKey, say);
  // A daemon this process started early has its pid file once it is up: wait for that first.
  await earlyStarts.get(dir)?.catch(() => {});
  earlyStarts.delete(dir);
  return { req, stateDir, dir, controlKeyFile, pid: runningPid(dir, ctx.daemonMain) };
}

/**
 * The first half of a start, for the agent to call before an apply: when no daemon runs with
 * these settings, spawns one and returns at once, so that its start-up overlaps the apply; the
 * serve request after the apply then waits for it and makes it reload (a few milliseconds)
 * instead of starting it then. Stop and reload requests do nothing here.
 */
export async function serveEarly(request: unknown, ctx: ServeContext): Promise<void> {
  const s = await prepare(request, ctx);
  if (s.req.stop || s.req.reload) return;
  const cfg = daemonConfig(s);
  if (s.pid !== undefined) {
    const st = readState(s.dir);
    if (st && sameConfig(st.config, cfg)) return;
    await stopDaemon(s.pid);
  }
  const started = spawnDaemon(s.req.host, s.dir, cfg, ctx);
  started.catch(() => {}); // its failure is the later serve's to report (it starts one itself)
  earlyStarts.set(s.dir, started);
}

export async function serve(request: unknown, ctx: ServeContext): Promise<ServeResult> {
  const s = await prepare(request, ctx);
  const { req, dir, pid } = s;

  if (req.stop) {
    if (pid === undefined) return { host: req.host, running: false, stopped: false };
    ctx.emit?.({ type: 'progress', step: 'discovery', message: `stopping discovery daemon ${pid}` });
    await stopDaemon(pid);
    return { host: req.host, running: false, pid, stopped: true };
  }
  if (req.reload) {
    if (pid === undefined) return { host: req.host, running: false, reloaded: false };
    await reloadDaemon(pid, dir);
    return { ...describe(req.host, pid, dir), reloaded: true };
  }

  const cfg = daemonConfig(s);
  if (pid !== undefined) {
    const st = readState(dir);
    if (st && sameConfig(st.config, cfg)) {
      // Already serving: make it pick up the VMs that just changed.
      await reloadDaemon(pid, dir);
      return { ...describe(req.host, pid, dir), started: false, reloaded: true };
    }
    ctx.emit?.({ type: 'progress', step: 'discovery', message: 'restarting discovery daemon with a new configuration' });
    await stopDaemon(pid);
  }
  return spawnDaemon(req.host, dir, cfg, ctx);
}

/** How long a serve waits for the daemon to have re-read the VM list after its SIGHUP. */
const RELOAD_WAIT_MS = 5000;

/**
 * Signals the daemon to re-read the VM list and waits (bounded) until a reload requested after
 * the signal has finished: then it serves what the host runs now. A daemon of an older version
 * (no `hupsServed` in its state) is not waited for.
 */
async function reloadDaemon(pid: number, dir: string): Promise<void> {
  const before = readState(dir)?.hupsServed;
  process.kill(pid, 'SIGHUP');
  if (before === undefined) return;
  const end = Date.now() + RELOAD_WAIT_MS;
  while (Date.now() < end && (readState(dir)?.hupsServed ?? before) <= before) await sleep(10);
}

function daemonConfig(s: Awaited<ReturnType<typeof prepare>>): DaemonConfig {
  const { req, dir, stateDir, controlKeyFile } = s;
  const iface = resolveInterface({ interface: req.interface, address: req.address, network: req.network }, WHERE);
  return {
    host: req.host,
    interface: iface.name,
    address: iface.address,
    port: req.port ?? 0,
    maxAge: req.maxAge ?? DEFAULT_MAX_AGE,
    dir,
    stateDir: path.resolve(stateDir),
    ...(req.vmsFile ? { vmsFile: path.resolve(req.vmsFile) } : {}),
    ...(req.udn ? { udn: req.udn } : {}),
    ...(controlKeyFile ? { controlKeyFile } : {}),
  };
}

/** Starts the daemon and resolves once it serves (its state file names its pid). */
async function spawnDaemon(host: string, dir: string, cfg: DaemonConfig, ctx: ServeContext): Promise<ServeResult> {
  const f = files(dir);
  fs.writeFileSync(f.config, JSON.stringify(cfg, null, 2) + '\n');
  const logFd = fs.openSync(f.log, 'a', 0o600);
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', ctx.daemonMain, f.config], {
    detached: true, // own session: survives the SSH session that started it
    stdio: ['ignore', logFd, logFd],
    cwd: '/',
  });
  fs.closeSync(logFd);
  let exitCode: number | null = null;
  child.on('exit', (code) => (exitCode = code ?? 1));
  child.unref();
  ctx.emit?.({ type: 'progress', step: 'discovery', message: `started discovery daemon ${child.pid}` });
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    const st = readState(dir);
    if (st && st.pid === child.pid) return { ...describe(host, child.pid, dir), started: true };
    if (exitCode === 3) {
      // Lost a race with another serve: report the daemon that won.
      const other = runningPid(dir, ctx.daemonMain);
      if (other !== undefined) {
        await reloadDaemon(other, dir);
        return { ...describe(host, other, dir), started: false, reloaded: true };
      }
    }
    if (exitCode !== null && exitCode !== 3) break;
    await sleep(50);
  }
  if (exitCode === null && child.pid) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const tail = fs.existsSync(f.log) ? fs.readFileSync(f.log, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
  throw new OperationError(`discovery daemon did not start${tail ? `:\n${tail}` : ''}`, { host });
}
