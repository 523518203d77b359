// The container driver: every VM a machine of its own. Its network is the netns driver's (a
// namespace per VM, veths into one bridge per net, backplane links); on top of it each VM gets
// its own mount, UTS, IPC and PID namespaces, a copy-on-write root (machine.ts), cgroup limits
// from <mem> and vcpu (cgroups.ts) and a reduced capability bounding set (capabilities.ts).
// Exec sequences and filetrees run inside the VM; nothing it writes reaches the host's files.
// See docs/host-agent.md, "The container driver".
import fs from 'node:fs';
import path from 'node:path';
import { OperationError, type InputProblem } from '../../../common/errors.ts';
import { mapLimit } from '../../../common/parallel.ts';
import type { VmState, VmUsage } from '../../../protocol/agent.ts';
import type { Vm } from '../../../scenario/model.ts';
import { isWindowsPath } from '../../../scenario/checks.ts';
import { bootId, listNetns, pidsInNetns, python3Present, signalPids } from '../../sys.ts';
import type { Resource } from '../../journal.ts';
import type { Driver, DriverContext } from '../driver.ts';
import type { VmSpec } from '../netns/desired.ts';
import { netnsDriver, prepareNetworkApply } from '../netns/index.ts';
import { setCables } from '../netns/vm-life-cycle.ts';
import { destroyNetns, journaledProcessAlive, netnsKey, PARALLEL, type MachineLayer } from '../netns/resources.ts';
import { cgroupDirs, cgroupUsage, createCgroup, detectCgroups, type CgroupLayout } from './cgroups.ts';
import { enterMachine, initBinary, startMachines, type MachineSpec } from './machine.ts';
import { lazyMountTemplate, withMountTemplate, type MountTemplate } from './mount-template.ts';
import { runContainerSteps } from './exec.ts';
import { startDhcpClients } from './dhcp.ts';

export function initKey(vm: string): string {
  return `process:${vm}:init`;
}
function cgroupKey(vm: string, i: number): string {
  return `cgroup:${vm}:${i}`;
}
function machineDirKey(vm: string): string {
  return `dir:${vm}:machine`;
}

/** The root file system a VM names (`<filesystem>`), if it does. */
export function filesystemOf(vm: Vm): string | undefined {
  const el = vm.extra.children.find((c) => c.node.tag === 'filesystem')?.node;
  if (!el) return undefined;
  const text = el.children.map((c) => ('text' in c ? c.text : '')).join('').trim();
  return text || undefined;
}

/**
 * The lower layer of a VM's root: its `<filesystem>` when that is a root-file-system directory on
 * this host (VNX's rootfs_lxc layout: it has /bin/sh), else the host's own root, read-only.
 */
export function lowerDirOf(vm: Vm, exists: (p: string) => boolean = fs.existsSync): string {
  const fsPath = filesystemOf(vm);
  if (!fsPath || !path.isAbsolute(fsPath) || !overlaySafe(fsPath)) return '/';
  return exists(path.join(fsPath, 'bin', 'sh')) ? path.resolve(fsPath) : '/';
}

/** A path overlayfs can take in its mount options (',' ':' '\\' and white space would end or split an option). */
export function overlaySafe(p: string): boolean {
  return !/[,:\\\s]/.test(p);
}

function machineOf(vm: Vm): MachineSpec & Record<string, unknown> {
  return { hostname: vm.name, lower: lowerDirOf(vm), memMB: vm.memMB, cpus: vm.cpus };
}

function specOf(vm: VmSpec): MachineSpec {
  if (!vm.machine) throw new Error(`VM ${vm.vm} has no machine spec`);
  return vm.machine as unknown as MachineSpec;
}

/** The cgroup.procs files of a VM's cgroups, from the journal (what exec joins). */
export function journaledCgroupProcs(ctx: Pick<DriverContext, 'journal'>, vm: string): string[] {
  // By key (cgroupKey numbers them from 0), not by scanning every resource: exec does this per VM.
  const out: string[] = [];
  for (let i = 0, r = ctx.journal.get(cgroupKey(vm, 0)); r; r = ctx.journal.get(cgroupKey(vm, ++i))) out.push(path.join(r.name, 'cgroup.procs'));
  return out;
}

/** The host pid of a running VM's PID 1; throws when it is not running. */
function runningInit(ctx: Pick<DriverContext, 'journal'>, vm: string): number {
  const pid = initPid(ctx, vm);
  if (pid === undefined) throw new OperationError(`VM ${vm} is not running (start it first)`);
  return pid;
}

/** The host pid of a running VM's PID 1, or undefined when it is not running. */
export function initPid(ctx: Pick<DriverContext, 'journal'>, vm: string): number | undefined {
  return journaledProcessAlive(ctx, initKey(vm)) ? ctx.journal.get(initKey(vm))!.pid : undefined;
}

/** What a VM's machine consists of: its directory, its cgroups, its PID 1 (with its spec). */
function machineResources(ctx: DriverContext, vm: string, netns: string, spec: MachineSpec, layout: CgroupLayout): Resource[] {
  return [
    { key: machineDirKey(vm), kind: 'dir', name: machineDir(ctx, vm), vm },
    ...cgroupDirs(layout, netns).map((c, i): Resource => ({ key: cgroupKey(vm, i), kind: 'cgroup', name: c, vm })),
    { key: initKey(vm), kind: 'process', name: 'init', vm, params: JSON.stringify(spec) },
  ];
}

function machineDir(ctx: DriverContext, vm: string): string {
  return path.join(ctx.vmDir(vm), 'machine');
}

/** A VM to boot: its name and namespace, and its machine spec. */
interface Boot {
  vm: string;
  netns: string;
  spec: MachineSpec;
}

/**
 * Boots machines (their networks exist, their resources are journaled); resolves with their
 * PID 1s as made. Those that started are journaled before a failure of others is thrown.
 */
async function bootMachines(ctx: DriverContext, boots: Boot[], layout: CgroupLayout, mountNs: string): Promise<Resource[]> {
  if (boots.length === 0) return [];
  const init = initBinary();
  if (!init) throw new OperationError("neither catatonit nor tini-static is installed on this host (the container driver needs one as the VMs' PID 1)");
  const machines = boots.map((b) => {
    const dir = machineDir(ctx, b.vm);
    if (!overlaySafe(dir)) throw new OperationError(`the VM directory ${dir} has a ',', ':', '\\' or white space in its path: overlayfs cannot use it`);
    return { name: b.vm, netns: b.netns, dir, spec: b.spec, cgroupProcs: createCgroup(layout, b.netns, b.spec) };
  });
  const { started, failed } = await (startMachines({ machines, init, stateDir: ctx.stateDir, mountNs }));
  const boot = bootId();
  const made = boots.flatMap((b): Resource[] => {
    const m = started.get(b.vm);
    return m ? [{ key: initKey(b.vm), kind: 'process', name: 'init', vm: b.vm, params: JSON.stringify(b.spec), pid: m.pid, start: m.start, boot }] : [];
  });
  if (failed.size) {
    ctx.journal.intend(made);
    const list = [...failed].slice(0, 3).map(([vm, why]) => `VM ${vm}: ${why}`);
    throw new OperationError(`${failed.size} container VM(s) could not be started: ${list.join('; ')}${failed.size > 3 ? '; …' : ''}`);
  }
  return made;
}

function containerMachine(layout: CgroupLayout, mounts: { get(): Promise<MountTemplate> }): MachineLayer {
  return {
    // A changed machine spec changes the VM's hash, which remakes it: only PID 1 is checked here.
    isCurrent: (ctx, vm) => initPid(ctx, vm.vm) !== undefined,
    resources: (ctx, vm) => machineResources(ctx, vm.vm, vm.netns, specOf(vm), layout),
    start: async (ctx, vms) =>
      vms.length ? bootMachines(ctx, vms.map((vm) => ({ vm: vm.vm, netns: vm.netns, spec: specOf(vm) })), layout, (await mounts.get()).nsPath) : [],
    dhcp: (ctx, vms) =>
      startDhcpClients(
        vms.flatMap((spec) => {
          const pid = initPid(ctx, spec.vm);
          return pid === undefined ? [] : [{ spec, lower: specOf(spec).lower, enter: enterMachine(pid, journaledCgroupProcs(ctx, spec.vm)) }];
        }),
      ),
  };
}

/** Ends a VM's machine: SIGKILL to its PID 1 ends every process of its PID namespace and its mounts. */
async function haltMachine(ctx: DriverContext, vm: string): Promise<void> {
  const pid = initPid(ctx, vm);
  if (pid !== undefined) await signalPids([pid], 'SIGKILL');
}

export const containerDriver: Driver = {
  name: 'container',

  scenarioProblems(scenario) {
    const problems: InputProblem[] = [];
    for (const vm of scenario.vms) {
      for (const f of vm.filetrees) {
        if (!f.root.startsWith('/')) {
          const why = isWindowsPath(f.root) ? 'is a Windows path: a container VM is a Linux machine (run this VM elsewhere, or give the filetree a /dir root)' : 'must be an absolute path';
          problems.push({ loc: f.loc ?? { file: scenario.source.path }, message: `VM ${vm.name}: filetree root ${JSON.stringify(f.root)} ${why}` });
        }
      }
    }
    return problems;
  },

  preflight(caps, emit) {
    netnsDriver.preflight(caps, emit);
    const missing: string[] = [];
    if (!initBinary()) missing.push('an init for the VMs (Debian package catatonit)');
    if (!python3Present()) missing.push('python3 (it starts the VMs: launcher.py)');
    if (!/\toverlay$/m.test(readOr('/proc/filesystems'))) missing.push('overlayfs');
    for (const ns of ['mnt', 'uts', 'ipc', 'pid']) if (!fs.existsSync(`/proc/self/ns/${ns}`)) missing.push(`${ns} namespaces`);
    if (missing.length) throw new OperationError(`the container driver cannot run on this host: it lacks ${missing.join(', ')}`);
    if (detectCgroups().version === 0) {
      emit({ type: 'progress', step: 'warning', message: 'no cgroup controllers here: VM memory and CPU limits are not applied' });
    }
  },

  async prepareApply(ctx, input) {
    const mounts = lazyMountTemplate();
    const prepared = await prepareNetworkApply(ctx, input, { machineOf, machine: containerMachine(detectCgroups(), mounts) });
    return {
      ...prepared,
      run: () => prepared.run().finally(() => mounts.stop()),
    };
  },

  destroy: destroyNetns,

  enter: (ctx, vm) => enterMachine(runningInit(ctx, vm.name), journaledCgroupProcs(ctx, vm.name)),

  async exec(ctx, { scenario, vms, run, files }) {
    let done = 0;
    return mapLimit(vms, PARALLEL, async (vm) => {
      const commands = await runContainerSteps({ vm, pid: runningInit(ctx, vm.name), cgroupProcs: journaledCgroupProcs(ctx, vm.name) }, scenario, run, files);
      ctx.emit({ type: 'progress', step: 'exec', message: vm.name, done: ++done, total: vms.length });
      return { name: vm.name, commands };
    });
  },

  vmStates(ctx, recorded) {
    const namespaces = listNetns();
    const out: Record<string, VmState> = {};
    for (const vm of ctx.journal.configuredVms().keys()) {
      const ns = ctx.journal.get(netnsKey(vm))?.name;
      if (!ns || !namespaces.has(ns)) out[vm] = 'missing';
      else if (initPid(ctx, vm) === undefined) out[vm] = 'stopped';
      else out[vm] = recorded[vm] === 'suspended' ? 'suspended' : 'running';
    }
    return out;
  },

  vmUsage: (ctx) => containerUsage(ctx),

  async vmAction(ctx, vm, action, current) {
    const netns = ctx.journal.get(netnsKey(vm))!.name;
    const pidsOf = () => pidsInNetns([netns]).get(netns) ?? [];
    if (action === 'stop') {
      if (current === 'suspended') await signalPids(pidsOf(), 'SIGCONT');
      await haltMachine(ctx, vm);
      await setCables(ctx.journal, vm, false);
      return 'stopped';
    }
    if (action === 'start') {
      if (current === 'running') return 'running';
      if (current === 'suspended') throw new OperationError(`cannot start VM ${vm}: it is suspended (resume it)`);
      // A reboot: a new PID 1 over the same upper layer, so the VM's files are kept.
      const spec = JSON.parse(ctx.journal.get(initKey(vm))?.params ?? 'null') as MachineSpec | null;
      if (!spec) throw new OperationError(`VM ${vm} has no recorded machine to start`);
      const layout = detectCgroups();
      ctx.journal.intend(machineResources(ctx, vm, netns, spec, layout));
      ctx.journal.intend(await withMountTemplate((t) => bootMachines(ctx, [{ vm, netns, spec }], layout, t.nsPath)));
      await setCables(ctx.journal, vm, true);
      return 'running';
    }
    if (action === 'suspend') {
      if (current === 'stopped') throw new OperationError(`cannot suspend VM ${vm}: it is stopped`);
      if (current === 'running') {
        await signalPids(pidsOf(), 'SIGSTOP');
        await setCables(ctx.journal, vm, false);
      }
      return 'suspended';
    }
    // resume
    if (current === 'stopped') throw new OperationError(`cannot resume VM ${vm}: it is stopped`);
    if (current === 'suspended') {
      await signalPids(pidsOf(), 'SIGCONT');
      await setCables(ctx.journal, vm, true);
    }
    return 'running';
  },
};

/** CPU time and memory of each running VM of a deployment (from its cgroups). */
function containerUsage(ctx: DriverContext): Record<string, VmUsage> {
  const layout = detectCgroups();
  const out: Record<string, VmUsage> = {};
  for (const vm of ctx.journal.configuredVms().keys()) {
    const ns = ctx.journal.get(netnsKey(vm))?.name;
    if (ns && initPid(ctx, vm) !== undefined) out[vm] = cgroupUsage(layout, ns);
  }
  return out;
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
