// A container VM's machine: its init process, started inside the VM's network namespace in new
// mount, UTS, IPC and PID namespaces. The setup script (below) joins the VM's cgroups, mounts
// what the VM's fstab lists (vmFstab: its copy-on-write root — overlayfs, lower = the VM's root
// file system, upper/work in the VM's directory on the host — its own /proc, /sys, /dev with its
// own devpts, private /tmp and /run), sets the hostname, pivots into the new root, and becomes
// the VM's PID 1: tini,
// which reaps orphans, running `sleep` as the machine's idle task. Killing PID 1 ends every
// process of the VM (the kernel empties its PID namespace) and with them its mounts.
//
// Every name and path reaches the script as an argument, never spliced into its text.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../../../common/errors.ts';
import { mustRun, processStart } from '../../sys.ts';
import { boundingSetArgs } from './capabilities.ts';
import { signalQuietly } from '../../../common/process.ts';

/** The VM's PID 1 (tini, statically linked, so it runs on any root file system). */
export const INIT_BINARIES = ['/usr/bin/tini-static', '/usr/bin/tini'];

export function initBinary(): string | undefined {
  return INIT_BINARIES.find((p) => fs.existsSync(p));
}

/** What a container VM is made of besides its network. */
export interface MachineSpec {
  hostname: string;
  /** Lower layer of the root: the VM's root-file-system directory, or '/' (the host's root, read-only). */
  lower: string;
  memMB?: number;
  cpus?: number;
}

// $1 VM dir, $2 hostname, $3 the VM's fstab (vmFstab), $4... cgroup.procs files to join. Prints
// "ready" on stdout just before it becomes PID 1. A VM's start-up cost is mostly the forks of
// this script, so it has few: one `mount -a` mounts everything from the VM's fstab, the
// hostname is written to the UTS namespace's sysctl, and `pivot_root . .` needs no directory for
// the old root (the runc way). Device nodes come from the agent (vmDir/dev): the VM, this script
// included, has no CAP_MKNOD.
const SETUP_SCRIPT = String.raw`set -eu
d=$1; name=$2; fstab=$3; shift 3
for f in "$@"; do echo 0 > "$f"; done
mount -a -T "$fstab"
echo "$name" > /proc/sys/kernel/hostname
cd "$d/root"
pivot_root . .
umount -l .
cd /
echo ready
exec </dev/null >/dev/null 2>&1 /run/.ediv-init -- sleep 2147483647`;

/** Where a VM's directories are (inside its machine directory). */
function layout(vmDir: string) {
  return { root: path.join(vmDir, 'root'), upper: path.join(vmDir, 'upper'), work: path.join(vmDir, 'work'), dev: path.join(vmDir, 'dev'), run: path.join(vmDir, 'run') };
}

/** Directories a VM's root must have as mount points; made in the upper layer where the lower lacks them. */
const MOUNT_POINTS = ['proc', 'sys', 'dev', 'tmp', 'run'];

/**
 * The VM's mounts, in order, as an fstab: its copy-on-write root, /proc, a read-only /sys, its
 * own /dev (with devpts and /dev/shm), private /tmp, its /run (cleared at each start) with PID 1's
 * binary bind-mounted read-only, and the agent's state directory covered when it is in the
 * VM's view. Every path is overlay-safe (no white space), so none needs escaping.
 */
export function vmFstab(vmDir: string, spec: MachineSpec, init: string, hide: string, exists: (p: string) => boolean = fs.existsSync): string {
  const l = layout(vmDir);
  const r = l.root;
  const lines = [
    ['ediv-root', r, 'overlay', `lowerdir=${spec.lower},upperdir=${l.upper},workdir=${l.work}`],
    ['proc', `${r}/proc`, 'proc', 'nosuid,nodev,noexec'],
    ['sysfs', `${r}/sys`, 'sysfs', 'ro,nosuid,nodev,noexec'],
    [l.dev, `${r}/dev`, 'none', 'bind'],
    ['devpts', `${r}/dev/pts`, 'devpts', 'newinstance,ptmxmode=0666,mode=0620'],
    ['ediv-shm', `${r}/dev/shm`, 'tmpfs', 'nosuid,nodev,mode=1777'],
    ['ediv-tmp', `${r}/tmp`, 'tmpfs', 'nosuid,nodev,mode=1777'],
    [l.run, `${r}/run`, 'none', 'bind,nosuid,nodev'],
    [init, `${r}/run/.ediv-init`, 'none', 'bind,ro'],
  ];
  // The state directory holds every VM's layers: hidden when the VM's root shows it (not when it
  // lies under one of the VM's own mounts, which hide it anyway).
  const underOwn = MOUNT_POINTS.some((m) => hide === `/${m}` || hide.startsWith(`/${m}/`));
  if (!underOwn && exists(path.join(spec.lower, hide))) lines.push(['ediv-hidden', `${r}${hide}`, 'tmpfs', 'ro,mode=000,size=4k']);
  return lines.map((f) => `${f.join(' ')} 0 0`).join('\n') + '\n';
}

/** Makes the VM's directories for a start: layers, mount points, a fresh /run, its /dev (kept). */
async function prepareVmDir(vmDir: string, spec: MachineSpec, devTemplateDir: string): Promise<void> {
  const l = layout(vmDir);
  for (const d of [l.root, l.upper, l.work]) fs.mkdirSync(d, { recursive: true });
  for (const m of MOUNT_POINTS) if (!fs.existsSync(path.join(spec.lower, m))) fs.mkdirSync(path.join(l.upper, m), { recursive: true });
  // /run starts empty at each boot, as on a machine, with /run/lock and PID 1's mount point.
  fs.rmSync(l.run, { recursive: true, force: true });
  fs.mkdirSync(path.join(l.run, 'lock'), { recursive: true, mode: 0o1777 });
  fs.chmodSync(path.join(l.run, 'lock'), 0o1777);
  fs.writeFileSync(path.join(l.run, '.ediv-init'), '');
  // The VM's own /dev (kept across a stop and start, like its files).
  if (!fs.existsSync(l.dev)) await mustRun('cp', ['-a', '--', devTemplateDir, l.dev]);
}

/** Device nodes every VM's /dev starts with (the devices cgroup allows exactly these and its ptys). */
const DEV_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];
const DEV_LINKS: [string, string][] = [
  ['ptmx', 'pts/ptmx'],
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
];

/**
 * The template of a VM's /dev in the agent's state directory (made once; each VM gets a copy,
 * made with one `cp -a`): the basic device nodes, the usual links, mount points for its ptys
 * and /dev/shm.
 */
export function devTemplate(stateDir: string): Promise<string> {
  // One making per process (VMs start in parallel); other agents wait for the state dir's lock.
  let made = devTemplates.get(stateDir);
  if (!made) {
    made = makeDevTemplate(stateDir);
    devTemplates.set(stateDir, made);
    made.catch(() => devTemplates.delete(stateDir));
  }
  return made;
}

const devTemplates = new Map<string, Promise<string>>();

async function makeDevTemplate(stateDir: string): Promise<string> {
  const dir = path.join(stateDir, 'container-dev');
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  const tmp = `${dir}.${process.pid}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, 'pts'), { recursive: true });
  fs.mkdirSync(path.join(tmp, 'shm'));
  for (const [name, target] of DEV_LINKS) fs.symlinkSync(target, path.join(tmp, name));
  await mustRun('cp', ['-a', '--', ...DEV_NODES.map((n) => `/dev/${n}`), `${tmp}/`]);
  fs.writeFileSync(path.join(tmp, '.complete'), '');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  return dir;
}

export interface StartedMachine {
  /** Host pid of the VM's PID 1. */
  pid: number;
  start: number;
}

/**
 * Argv that runs `argv` in the VM's network namespace and the template mount namespace (the
 * VM's own is copied from it: mount-template.ts), with the VM's capability bounding set.
 */
function inVmNetns(netns: string, mountNs: string, argv: string[]): string[] {
  return ['setpriv', ...boundingSetArgs(), '--', 'nsenter', `--net=/run/netns/${netns}`, `--mount=${mountNs}`, '--', ...argv];
}

/** Starts a VM's machine; resolves once its PID 1 runs in the new root. */
export async function startMachine(opts: {
  netns: string;
  vmDir: string;
  spec: MachineSpec;
  init: string;
  hide: string;
  /** The /dev template (devTemplate). */
  dev: string;
  /** The mount namespace to copy the VM's from (MountTemplate.nsPath). */
  mountNs: string;
  cgroupProcs: string[];
  timeoutMs?: number;
}): Promise<StartedMachine> {
  fs.mkdirSync(opts.vmDir, { recursive: true });
  await prepareVmDir(opts.vmDir, opts.spec, opts.dev);
  const fstab = path.join(opts.vmDir, 'fstab');
  fs.writeFileSync(fstab, vmFstab(opts.vmDir, opts.spec, opts.init, opts.hide));
  const errFile = path.join(opts.vmDir, 'setup.err');
  const errFd = fs.openSync(errFile, 'w');
  const argv = inVmNetns(opts.netns, opts.mountNs, [
    'unshare', '--mount', '--uts', '--ipc', '--pid', '--fork', '--propagation', 'private', '--',
    'sh', '-c', SETUP_SCRIPT, 'ediv-setup', opts.vmDir, opts.spec.hostname, fstab, ...opts.cgroupProcs,
  ]);
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', errFd] });
  fs.closeSync(errFd);
  const outer = child.pid;
  const failed = (why: string): OperationError => {
    const detail = fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8').trim() : '';
    if (outer !== undefined) signalQuietly(outer);
    return new OperationError(`the container of VM ${opts.spec.hostname} could not be started: ${why}${detail ? `: ${detail}` : ''}`);
  };
  if (outer === undefined) throw failed('no process');
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(failed('no answer within the time limit')), opts.timeoutMs ?? 20_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(failed(`its set-up exited (${code})`));
    });
  });
  child.stdout!.destroy();
  child.removeAllListeners('exit');
  child.unref();
  // setpriv and nsenter exec'd; `unshare --fork` waits for its one child, the VM's PID 1.
  const pid = await firstChild(outer);
  const start = pid === undefined ? undefined : processStart(pid);
  if (pid === undefined || start === undefined) throw failed('its PID 1 vanished');
  fs.rmSync(errFile, { force: true });
  return { pid, start };
}

async function firstChild(pid: number): Promise<number | undefined> {
  for (let i = 0; i < 100; i++) {
    try {
      const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      if (kids.length) return Number(kids[0]);
    } catch {
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return undefined;
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
