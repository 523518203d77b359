// A container VM's machine: its PID 1, started inside the VM's network namespace in new mount,
// UTS, IPC and PID namespaces, over a copy-on-write root: overlayfs, lower = the VM's root file
// system (or the host's, read-only), upper/work in the VM's directory on the host. It gets its
// own /proc, a read-only /sys, a /dev of its own (tmpfs with the basic devices and its own
// devpts), private /tmp and /run, its hostname, and a reduced capability bounding set.
//
// The machines of a batch are started by one process, launcher.py (see there why): the agent
// makes their directories and cgroups, sends the launcher what to start as JSON, and reads
// back each PID 1's host pid. Killing PID 1 ends every process of the VM (the kernel empties
// its PID namespace) and with them its mounts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OperationError } from '../../../common/errors.ts';
import { processStart } from '../../sys.ts';
import { boundingSetArgs, droppedCapabilityNumbers } from './capabilities.ts';
import { signalQuietly } from '../../../common/process.ts';
import { traceCommand } from '../../../common/run.ts';

/**
 * The VM's PID 1, in order of preference: statically linked (it runs on any root file system),
 * reaping orphans. catatonit's pause mode needs no child; tini idles on a `sleep`.
 */
export const INITS = [
  { path: '/usr/bin/catatonit', args: ['-P'] },
  { path: '/usr/bin/tini-static', args: ['--', 'sleep', '2147483647'] },
] as const;

export type InitBinary = (typeof INITS)[number];

export function initBinary(exists: (p: string) => boolean = fs.existsSync): InitBinary | undefined {
  return INITS.find((i) => exists(i.path));
}

/** What a container VM is made of besides its network. */
export interface MachineSpec {
  hostname: string;
  /** Lower layer of the root: the VM's root-file-system directory, or '/' (the host's root, read-only). */
  lower: string;
  memMB?: number;
  cpus?: number;
}

/** Directories a VM's root must have as mount points (made in the upper layer where the lower lacks them). */
const MOUNT_POINTS = ['proc', 'sys', 'dev', 'tmp', 'run'];

/**
 * Where the agent's state directory must be covered in the VM's root: where the root shows it
 * (not under one of the VM's own mounts, which cover it anyway). It holds every VM's layers.
 */
export function hiddenStateDir(lower: string, stateDir: string, exists: (p: string) => boolean = fs.existsSync): string | undefined {
  const underOwn = MOUNT_POINTS.some((m) => stateDir === `/${m}` || stateDir.startsWith(`/${m}/`));
  return !underOwn && exists(path.join(lower, stateDir)) ? stateDir : undefined;
}

/** One machine to start. */
export interface MachineToStart {
  /** The VM's name (the launcher reports by it). */
  name: string;
  netns: string;
  /** The VM's machine directory: root (mount point), upper and work (its layers). */
  dir: string;
  spec: MachineSpec;
  cgroupProcs: string[];
}

export interface StartedMachine {
  /** Host pid of the VM's PID 1. */
  pid: number;
  start: number;
}

export interface MachineBatchResult {
  started: Map<string, StartedMachine>;
  /** VMs that did not start, with why. */
  failed: Map<string, string>;
}

export const LAUNCHER = fileURLToPath(new URL('./launcher.py', import.meta.url));

/** A launcher report line (see launcher.py). */
interface LauncherReport {
  vm: string;
  pid?: number;
  ready?: boolean;
  error?: string;
}

/**
 * Starts the machines of a batch (their networks exist, their resources are journaled); resolves
 * once each one's PID 1 runs in its new root or has failed.
 */
export async function startMachines(opts: {
  machines: MachineToStart[];
  init: InitBinary;
  /** The agent's state directory (covered in each VM's root). */
  stateDir: string;
  /** The mount namespace each VM's own is copied from (MountTemplate.nsPath). */
  mountNs: string;
  timeoutMs?: number;
}): Promise<MachineBatchResult> {
  const vms = opts.machines.map((m) => {
    for (const d of ['root', 'upper', 'work']) fs.mkdirSync(path.join(m.dir, d), { recursive: true });
    const hide = hiddenStateDir(m.spec.lower, opts.stateDir);
    return { name: m.name, netns: m.netns, dir: m.dir, lower: m.spec.lower, hostname: m.spec.hostname, init: opts.init.path, initArgs: opts.init.args, cgroupProcs: m.cgroupProcs, ...(hide ? { hide } : {}) };
  });
  // One launcher per core (each starts its VMs one after the other), at least 32 VMs each.
  const launchers = Math.max(1, Math.min(os.availableParallelism(), Math.ceil(vms.length / 32)));
  const slices = Array.from({ length: launchers }, (_, i) => vms.filter((_, j) => j % launchers === i));
  const timeoutMs = opts.timeoutMs ?? 30_000 + 50 * vms.length;
  const dropCaps = droppedCapabilityNumbers();
  const reports = (await Promise.all(slices.map((slice) => runLauncher(JSON.stringify({ mountTemplate: opts.mountNs, dropCaps, vms: slice }), timeoutMs)))).flat();
  const pids = new Map<string, number>();
  const ready = new Set<string>();
  const failed = new Map<string, string>();
  for (const r of reports) {
    if (r.error !== undefined) failed.set(r.vm, r.error);
    else if (r.pid !== undefined) pids.set(r.vm, r.pid);
    else if (r.ready) ready.add(r.vm);
  }
  const started = new Map<string, StartedMachine>();
  for (const m of opts.machines) {
    const pid = pids.get(m.name);
    const start = pid === undefined ? undefined : processStart(pid);
    if (pid !== undefined && start !== undefined && ready.has(m.name) && !failed.has(m.name)) started.set(m.name, { pid, start });
    else {
      if (pid !== undefined) signalQuietly(pid, 'SIGKILL');
      if (!failed.has(m.name)) failed.set(m.name, pid === undefined ? 'no PID 1 was made' : 'its PID 1 ended before it was ready');
    }
  }
  return { started, failed };
}

/** Runs the launcher on a request; resolves with its reports once its output ends (or the time is up). */
function runLauncher(request: string, timeoutMs: number): Promise<LauncherReport[]> {
  return new Promise((resolve, reject) => {
    // -I -S: no user site, no environment variables, no site module: only the standard library.
    traceCommand(['python3', '-I', '-S', LAUNCHER], request);
    const child = spawn('python3', ['-I', '-S', LAUNCHER], { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      if (child.pid !== undefined) signalQuietly(child.pid, 'SIGKILL');
      finish();
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      const lines = out.split('\n').filter(Boolean);
      try {
        resolve(lines.map((l) => JSON.parse(l) as LauncherReport));
      } catch {
        reject(new OperationError(`the container VMs' launcher answered nonsense: ${lines[0]?.slice(0, 200)}`));
      }
    };
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new OperationError(`the container VMs' launcher could not run (python3): ${e.message}`));
    });
    child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4000)));
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    // End of output: every VM has exec'd its init (closing its copy) or failed, and the launcher is done.
    child.stdout!.on('end', () => {
      if (err.trim() && !out.trim()) {
        clearTimeout(timer);
        reject(new OperationError(`the container VMs' launcher failed: ${err.trim()}`));
      } else finish();
    });
    child.stdin!.end(request);
  });
}

// $1 = how many cgroup.procs files follow; the process joins each, then runs the rest of argv.
const JOIN_SCRIPT = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1"; shift; n=$((n-1)); done; exec "$@"';

/** The environment of commands run in a VM (not the agent's). */
export const VM_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root', 'TERM=xterm', 'LANG=C.UTF-8'];

/**
 * Argv prefix that runs a program inside a running VM: in its cgroups, with its capability
 * bounding set, in all its namespaces and its root, with a clean environment.
 */
export function enterMachine(pid: number, cgroupProcs: string[]): string[] {
  return [
    'sh', '-c', JOIN_SCRIPT, 'ediv-join', String(cgroupProcs.length), ...cgroupProcs,
    'setpriv', ...boundingSetArgs(), '--',
    'nsenter', '-t', String(pid), '-m', '-u', '-i', '-n', '-p', '-r', '-w', '--',
    'env', '-i', ...VM_ENV,
  ];
}
