// Control groups of container VMs: a VM's `<mem>` becomes its memory limit and its `vcpu` a CPU
// quota, and its processes are counted there (status shows CPU time and memory per VM). Both
// cgroup layouts are handled: v2 (one unified tree, /sys/fs/cgroup/cgroup.controllers) and v1
// (one tree per controller, /sys/fs/cgroup/<controller>/). Each VM gets `ediv/<name>` in every
// tree it uses; the name is the VM's namespace name, unique on the host.
import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../../../common/errors.ts';

export const CGROUP_ROOT = '/sys/fs/cgroup';
const PARENT = 'ediv';
/** v1 controllers a VM joins: the limits (memory, cpu), its accounting (cpuacct), pids and devices. */
const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'devices'] as const;
/**
 * Devices a VM may use (v1 devices cgroup; everything else is denied, raw disks included):
 * null, zero, full, random, urandom, tty, ptmx and its own ptys, tun.
 */
const ALLOWED_DEVICES = ['c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm', 'c 5:0 rwm', 'c 5:2 rwm', 'c 136:* rwm', 'c 10:200 rwm'];
const CPU_PERIOD_US = 100_000;

export type CgroupLayout = { version: 2; root: string } | { version: 1; roots: Map<string, string> } | { version: 0 };

export interface CgroupLimits {
  memMB?: number;
  /** CPUs' worth of time per period (may be fractional). */
  cpus?: number;
}

export interface CgroupUsage {
  /** CPU time used so far, in seconds. */
  cpuSeconds?: number;
  /** Memory in use now, in MiB. */
  memMB?: number;
}

/** Which cgroup layout this host has (v2 wins when both are mounted with controllers). */
export function detectCgroups(root = CGROUP_ROOT): CgroupLayout {
  const controllers = readText(path.join(root, 'cgroup.controllers'));
  if (controllers !== undefined && controllers.split(/\s+/).includes('memory')) return { version: 2, root };
  const roots = new Map<string, string>();
  for (const c of V1_CONTROLLERS) {
    // Controllers may be co-mounted (cpu,cpuacct) with symlinks named after each.
    const dir = path.join(root, c);
    if (fs.existsSync(path.join(dir, 'cgroup.procs'))) roots.set(c, dir);
  }
  return roots.size ? { version: 1, roots } : { version: 0 };
}

/** The directories of a VM's cgroup (one per v1 hierarchy, distinct real paths; one for v2). */
export function cgroupDirs(layout: CgroupLayout, name: string): string[] {
  if (layout.version === 2) return [path.join(layout.root, PARENT, name)];
  if (layout.version === 1) {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const dir of layout.roots.values()) {
      const real = realOr(dir);
      if (seen.has(real)) continue;
      seen.add(real);
      out.push(path.join(dir, PARENT, name));
    }
    return out;
  }
  return [];
}

/** Makes the VM's cgroup with its limits; returns the cgroup.procs files a process joins by writing its pid. */
export function createCgroup(layout: CgroupLayout, name: string, limits: CgroupLimits): string[] {
  if (layout.version === 2) {
    const parent = path.join(layout.root, PARENT);
    fs.mkdirSync(parent, { recursive: true });
    enableV2Controllers(layout.root);
    enableV2Controllers(parent);
  }
  const dirs = cgroupDirs(layout, name);
  for (const dir of dirs) mkdirRaced(dir);
  try {
    applyLimits(layout, name, limits);
  } catch (err) {
    throw new OperationError(`setting the cgroup limits of ${name} failed: ${(err as Error).message}`, { cause: err });
  }
  return dirs.map((d) => path.join(d, 'cgroup.procs'));
}

/** mkdir -p that survives another agent removing the empty shared parent at that moment. */
function mkdirRaced(dir: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      fs.mkdirSync(dir, { recursive: true });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 5) throw err;
    }
  }
}

function enableV2Controllers(dir: string): void {
  const available = (readText(path.join(dir, 'cgroup.controllers')) ?? '').split(/\s+/);
  const wanted = ['memory', 'cpu', 'pids'].filter((c) => available.includes(c));
  if (wanted.length) fs.writeFileSync(path.join(dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
}

function applyLimits(layout: CgroupLayout, name: string, limits: CgroupLimits): void {
  const mem = limits.memMB ? String(Math.round(limits.memMB * 1024 * 1024)) : undefined;
  const quota = limits.cpus ? Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US)) : undefined;
  if (layout.version === 2) {
    const dir = path.join(layout.root, PARENT, name);
    if (mem) fs.writeFileSync(path.join(dir, 'memory.max'), mem);
    if (quota) fs.writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
  } else if (layout.version === 1) {
    const memRoot = layout.roots.get('memory');
    if (mem && memRoot) fs.writeFileSync(path.join(memRoot, PARENT, name, 'memory.limit_in_bytes'), mem);
    const devRoot = layout.roots.get('devices');
    if (devRoot) {
      const dir = path.join(devRoot, PARENT, name);
      fs.writeFileSync(path.join(dir, 'devices.deny'), 'a');
      for (const rule of ALLOWED_DEVICES) fs.writeFileSync(path.join(dir, 'devices.allow'), rule);
    }
    const cpuRoot = layout.roots.get('cpu');
    if (quota && cpuRoot) {
      fs.writeFileSync(path.join(cpuRoot, PARENT, name, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      fs.writeFileSync(path.join(cpuRoot, PARENT, name, 'cpu.cfs_quota_us'), String(quota));
    }
  }
}

/** What the VM's processes use (undefined where this layout does not count it). */
export function cgroupUsage(layout: CgroupLayout, name: string): CgroupUsage {
  if (layout.version === 2) {
    const dir = path.join(layout.root, PARENT, name);
    const usec = /usage_usec (\d+)/.exec(readText(path.join(dir, 'cpu.stat')) ?? '')?.[1];
    const mem = readText(path.join(dir, 'memory.current'));
    return { cpuSeconds: usec ? Number(usec) / 1e6 : undefined, memMB: mem ? Number(mem) / 2 ** 20 : undefined };
  }
  if (layout.version === 1) {
    const ns = readFrom(layout, 'cpuacct', name, 'cpuacct.usage');
    const mem = readFrom(layout, 'memory', name, 'memory.usage_in_bytes');
    return { cpuSeconds: ns ? Number(ns) / 1e9 : undefined, memMB: mem ? Number(mem) / 2 ** 20 : undefined };
  }
  return {};
}

function readFrom(layout: { roots: Map<string, string> }, controller: string, name: string, file: string): string | undefined {
  const root = layout.roots.get(controller);
  return root ? readText(path.join(root, PARENT, name, file)) : undefined;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function realOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
