// Kernel and process plumbing for the agent: iproute2 batches, link and namespace listings,
// process lookup by network namespace. Programs always run with argument arrays; batch input
// is generated from validated names only.
import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../common/errors.ts';
import { mustRun as mustRunProgram, run as runProgram, traceCommand, type RunResult } from '../common/run.ts';

export type { RunResult };

export const NETNS_DIR = '/run/netns';

/** Whether python3 (which runs the agent's helpers: launcher.py, ns-config.py) is on this host's PATH. */
export function python3Present(): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => {
    try {
      fs.accessSync(path.join(dir || '.', 'python3'), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Agent commands die with the agent (see RunOptions.dieWithParent). */
export async function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return runProgram(cmd, args, { input, dieWithParent: true });
}

export async function mustRun(cmd: string, args: string[], input?: string): Promise<string> {
  return mustRunProgram(cmd, args, { input, dieWithParent: true });
}

/**
 * Runs iproute2 commands as one `ip -batch -` process (in namespace `netns` when given).
 * `force` keeps going after a failing line (used for removal, whose result is verified after).
 */
export async function ipBatch(lines: string[], opts: { netns?: string; force?: boolean } = {}): Promise<RunResult> {
  if (lines.length === 0) return { exitCode: 0, stdout: '', stderr: '' };
  const args = [...(opts.netns ? ['-n', opts.netns] : []), ...(opts.force ? ['-force'] : []), '-batch', '-'];
  return run('ip', args, lines.join('\n') + '\n');
}

export async function mustIpBatch(lines: string[], what: string, netns?: string): Promise<void> {
  const r = await ipBatch(lines, { netns });
  if (r.exitCode !== 0) {
    throw new OperationError(`${what} failed${netns ? ` (namespace ${netns})` : ''}: ${r.stderr.trim()}`, {
      details: { commands: lines },
    });
  }
}

// Runs an iproute2 batch inside each namespace given as an argument ($1 = directory of the batch
// files). Names are arguments, never spliced into the script. nsenter --net only joins the
// network namespace: `ip -n` would also copy the whole mount table (a new mount namespace per
// call, with one mount per VM namespace under /run/netns), which makes large hosts quadratic.
const NS_LOOP =
  'd=$1; p=$2; shift 2; for ns; do nsenter --net="/run/netns/$ns" "$p" -batch "$d/$ns.batch" || { echo "namespace $ns: failed" >&2; exit 1; }; done';

/**
 * Runs one iproute2 batch inside each of many namespaces. Process start-up dominates this
 * work, so the batches are written to files and a few small `sh` loops (one per worker) start
 * the `ip -n <ns> -batch` processes, instead of this (large) process spawning each one.
 */
export async function nsBatches(
  items: { netns: string; lines: string[] }[],
  dir: string,
  workers: number,
  program: 'ip' | 'tc' = 'ip',
): Promise<void> {
  if (items.length === 0) return;
  fs.mkdirSync(dir, { recursive: true });
  try {
    for (const it of items) {
      const file = path.join(dir, `${it.netns}.batch`);
      const text = it.lines.join('\n');
      fs.writeFileSync(file, text + '\n');
      traceCommand(['nsenter', `--net=${NETNS_DIR}/${it.netns}`, program, '-batch', file], text);
    }
    const slices = Array.from({ length: Math.min(workers, items.length) }, (_, w) => items.filter((_, i) => i % workers === w));
    const results = await Promise.all(slices.map((slice) => run('sh', ['-c', NS_LOOP, 'ediv-ns-batch', dir, program, ...slice.map((s) => s.netns)])));
    const failed = results.filter((r) => r.exitCode !== 0);
    if (failed.length) {
      throw new OperationError(`configuring VM namespaces failed: ${failed.map((r) => r.stderr.trim()).join('; ')}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function bridgeBatch(lines: string[], force = false): Promise<RunResult> {
  if (lines.length === 0) return { exitCode: 0, stdout: '', stderr: '' };
  return run('bridge', [...(force ? ['-force'] : []), '-batch', '-'], lines.join('\n') + '\n');
}

/** Runs tc commands as one `tc -batch -` process in the agent's namespace (`force`: keep going after a failing line). */
export async function tcBatch(lines: string[], force = false): Promise<RunResult> {
  if (lines.length === 0) return { exitCode: 0, stdout: '', stderr: '' };
  return run('tc', [...(force ? ['-force'] : []), '-batch', '-'], lines.join('\n') + '\n');
}

/** The kind of the root qdisc of `dev` (in network namespace `netns`, default the agent's), or undefined when `dev` is gone. */
export async function rootQdiscKind(dev: string, netns?: string): Promise<string | undefined> {
  const args = ['-j', 'qdisc', 'show', 'dev', dev, 'root'];
  const r = netns ? await run('nsenter', [`--net=${path.join(NETNS_DIR, netns)}`, 'tc', ...args]) : await run('tc', args);
  if (r.exitCode !== 0) return undefined;
  const list = JSON.parse(r.stdout || '[]') as { kind?: string }[];
  return list[0]?.kind ?? 'noqueue';
}

/** The file of a sysctl of the agent's network namespace (`net.ipv4.ip_forward` → /proc/sys/net/ipv4/ip_forward). */
function sysctlFile(key: string): string {
  if (!/^net\.[a-z0-9_.]+$/.test(key)) throw new Error(`not a network sysctl: ${key}`);
  return path.join('/proc/sys', ...key.split('.'));
}

/** A network sysctl of the agent's namespace (/proc/sys/net belongs to the namespace of the process that opens it). */
export function readSysctl(key: string): string {
  return fs.readFileSync(sysctlFile(key), 'utf8').trim();
}

export function writeSysctl(key: string, value: string): void {
  fs.writeFileSync(sysctlFile(key), `${value}\n`);
}

/** Names of the network namespaces under /run/netns. */
export function listNetns(): Set<string> {
  try {
    return new Set(fs.readdirSync(NETNS_DIR));
  } catch {
    return new Set();
  }
}

export interface LinkInfo {
  name: string;
  kind?: string;
  master?: string;
  mtu: number;
  up: boolean;
}

/** Links of the agent's own network namespace (one `ip -j -d link show`). */
export async function listLinks(): Promise<Map<string, LinkInfo>> {
  const out = await mustRun('ip', ['-j', '-d', 'link', 'show']);
  const raw = JSON.parse(out || '[]') as {
    ifname: string;
    mtu: number;
    master?: string;
    flags?: string[];
    linkinfo?: { info_kind?: string };
  }[];
  return new Map(
    raw.map((l) => [
      l.ifname,
      { name: l.ifname, kind: l.linkinfo?.info_kind, master: l.master, mtu: l.mtu, up: (l.flags ?? []).includes('UP') },
    ]),
  );
}

/** Kernel boot id: tells whether a recorded pid belongs to this boot. */
export function bootId(): string {
  return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** Start time of a process (clock ticks after boot), or undefined when it is gone or a zombie. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** Pids of live processes whose network namespace is one of `names` (one pass over /proc). */
export function pidsInNetns(names: Iterable<string>): Map<string, number[]> {
  const byInode = new Map<number, string>();
  const out = new Map<string, number[]>();
  for (const name of names) {
    out.set(name, []);
    try {
      const st = fs.statSync(path.join(NETNS_DIR, name));
      // A namespace file that is no longer a mount of nsfs has an inode of the file system it
      // lies on; it matches no process, as it should.
      byInode.set(st.ino, name);
    } catch {
      /* gone */
    }
  }
  if (byInode.size === 0) return out;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let link: string;
    try {
      link = fs.readlinkSync(`/proc/${entry}/ns/net`);
    } catch {
      continue;
    }
    const m = /^net:\[(\d+)\]$/.exec(link);
    const name = m ? byInode.get(Number(m[1])) : undefined;
    if (name && processStart(Number(entry)) !== undefined) out.get(name)!.push(Number(entry));
  }
  return out;
}

/** Sends `signal` to each pid; with SIGKILL, waits until they are gone. */
export async function signalPids(pids: number[], signal: NodeJS.Signals): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
  if (signal !== 'SIGKILL') return;
  const deadline = Date.now() + 10_000;
  let left = pids;
  while (left.length && Date.now() < deadline) {
    left = left.filter((pid) => processStart(pid) !== undefined);
    if (left.length) await new Promise((r) => setTimeout(r, 20));
  }
  if (left.length) throw new OperationError(`processes ${left.join(', ')} did not end after SIGKILL`);
}

/**
 * Whether namespaces created by this process are visible machine-wide: /run/netns must be a
 * shared mount in our mount namespace (it is not inside `ip netns exec`, whose mount namespace
 * is a slave: namespaces made there vanish with it).
 */
export function netnsDirShared(): boolean {
  try {
    const lines = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    const entry = lines.filter((l) => l.split(' ')[4] === NETNS_DIR).pop();
    return entry === undefined || / shared:\d+/.test(entry.split(' - ')[0]);
  } catch {
    return true;
  }
}

/** Pids in a cgroup directory (empty when it is gone). */
export function cgroupPids(dir: string): number[] {
  let text = '';
  try {
    text = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    /* gone */
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map(Number);
}

/** Removes an empty cgroup directory; true when it is gone. */
export function removeCgroupDir(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false;
  }
  return !fs.existsSync(dir);
}
