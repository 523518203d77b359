// VM providers: where the hypervisor daemon gets its host's VMs from.
// - inventoryProvider: a VmInventory (src/protocol/vm-inventory.ts), the real one being the host
//   agent's, which the composition root (src/cli/discovery-daemon-main.ts) passes in.
// - fileProvider: a JSON list of VMs; lifecycle actions on a VM that names a netns set its
//   links down/up. Used by tests and the benchmark, and usable for VMs ediv does not manage.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { VmState } from '../protocol/agent.ts';
import type { VmAction, VmInventory } from '../protocol/vm-inventory.ts';
import type { VmEntry, VmProvider } from './types.ts';
import { writeJsonAtomic } from '../common/atomic-write.ts';

const exec = promisify(execFile);

/** What the daemon serves of an inventory or file entry (not its host, not its netns). */
function entryOf(v: VmEntry): VmEntry {
  return { deployment: v.deployment, ...(v.lab !== undefined ? { lab: v.lab } : {}), vm: v.vm, state: v.state };
}

/** This host's VMs of `inventory`; `watchPaths` change when its VMs may have. */
export function inventoryProvider(inventory: VmInventory, host: string, watchPaths: string[]): VmProvider {
  return {
    async list() {
      // Only this host's VMs: actions must never reach another host's.
      return (await inventory.list()).filter((v) => !v.host || v.host === host).map(entryOf);
    },
    async act(deployment, vm, action) {
      const known = (await inventory.list()).find((v) => v.deployment === deployment && v.vm === vm);
      if (!known) throw new Error(`VM ${vm} of ${deployment} is not on this host`);
      const state = await inventory.act(deployment, vm, action);
      if (action === 'status') return state;
      const after = (await inventory.list()).find((v) => v.deployment === deployment && v.vm === vm);
      return after?.state ?? state;
    },
    watchPaths: () => watchPaths,
  };
}

// ---- file provider --------------------------------------------------------------------

export interface VmFileEntry extends VmEntry {
  /** Network namespace standing for the VM (links go down on stop/suspend, up on start/resume). */
  netns?: string;
}

export interface VmFile {
  vms: VmFileEntry[];
}

export function readVmFile(file: string): VmFile {
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as VmFile;
  if (!data || !Array.isArray(data.vms)) throw new Error(`${file}: expected {"vms": [...]}`);
  return data;
}

export function writeVmFile(file: string, data: VmFile): void {
  writeJsonAtomic(file, data);
}

const TRANSITIONS: Record<Exclude<VmAction, 'status'>, { from: VmState[]; to: VmState; link: 'up' | 'down' }> = {
  start: { from: ['stopped', 'running'], to: 'running', link: 'up' },
  stop: { from: ['running', 'suspended', 'stopped'], to: 'stopped', link: 'down' },
  suspend: { from: ['running', 'suspended'], to: 'suspended', link: 'down' },
  resume: { from: ['suspended', 'running'], to: 'running', link: 'up' },
};

async function setLinks(netns: string, updown: 'up' | 'down'): Promise<void> {
  const { stdout } = await exec('ip', ['-n', netns, '-j', 'link', 'show']);
  const links = (JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname).filter((n) => n !== 'lo');
  for (const l of links) await exec('ip', ['-n', netns, 'link', 'set', 'dev', l, updown]);
}

export function fileProvider(file: string): VmProvider {
  return {
    async list() {
      return readVmFile(file).vms.map(entryOf);
    },
    async act(deployment, vm, action) {
      const data = readVmFile(file);
      const entry = data.vms.find((v) => v.deployment === deployment && v.vm === vm);
      if (!entry) throw new Error(`VM ${vm} of ${deployment} is not on this host`);
      if (action === 'status') return entry.state;
      const t = TRANSITIONS[action];
      if (!t.from.includes(entry.state)) throw new Error(`cannot ${action} a VM that is ${entry.state}`);
      if (entry.netns) await setLinks(entry.netns, t.link);
      entry.state = t.to;
      writeVmFile(file, data);
      return entry.state;
    },
    watchPaths: () => [path.dirname(path.resolve(file))],
  };
}
