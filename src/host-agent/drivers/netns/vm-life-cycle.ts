// Life cycle of netns VMs (used by status and by the discovery daemon's SOAP service, through
// the host agent's inventory):
//   stop    = every process in the VM's namespace killed (by pid) except its holder, and the VM's
//             interfaces set down;
//   start   = the VM's interfaces set up again (a stopped VM's processes are not restarted);
//   suspend = every process in the VM's namespace frozen (SIGSTOP, by pid) and interfaces down;
//   resume  = SIGCONT to those processes and interfaces up;
//   status  = the state (running | stopped | suspended | missing when its namespace is gone).
import { OperationError } from '../../../common/errors.ts';
import type { VmState } from '../../../protocol/agent.ts';
import type { VmAction } from '../../../protocol/vm-inventory.ts';
import type { Journal } from '../../journal.ts';
import { ipBatch, listNetns, pidsInNetns, signalPids } from '../../sys.ts';
import { holderKey, netnsKey } from './resources.ts';

/** State of every configured VM of a deployment: the recorded one, or `missing` when its namespace is gone. */
export function netnsVmStates(journal: Journal, recorded: Record<string, VmState>): Record<string, VmState> {
  const namespaces = listNetns();
  const out: Record<string, VmState> = {};
  for (const vm of journal.configuredVms().keys()) {
    const ns = journal.get(netnsKey(vm))?.name;
    out[vm] = ns && namespaces.has(ns) ? (recorded[vm] ?? 'running') : 'missing';
  }
  return out;
}

/** Interfaces of a VM, as named inside its namespace. */
export function vmIfaces(journal: Journal, vm: string): string[] {
  const veths = journal.resources().filter((r) => r.kind === 'veth' && r.vm === vm);
  // The inner name is recorded in the applied fragment; the journal key carries the iface id.
  return veths.map((r) => r.params ?? `eth${r.key.split(':').pop()}`);
}

/** Sets the named interfaces of a VM's namespace up or down. */
export async function setLinks(netns: string, ifaces: string[], up: boolean): Promise<void> {
  const r = await ipBatch(ifaces.map((i) => `link set dev ${i} ${up ? 'up' : 'down'}`), { netns });
  if (r.exitCode !== 0) throw new OperationError(`setting the interfaces of ${netns} ${up ? 'up' : 'down'} failed: ${r.stderr.trim()}`);
}

/** Carries out `action` on a present VM in state `current`; resolves with its new state. */
export async function netnsVmAction(journal: Journal, vm: string, action: Exclude<VmAction, 'status'>, current: VmState): Promise<VmState> {
  const netns = journal.get(netnsKey(vm))!.name;
  const holder = journal.get(holderKey(vm))?.pid;
  const ifaces = vmIfaces(journal, vm);
  const pids = pidsInNetns([netns]).get(netns) ?? [];
  let state: VmState = current;
  if (action === 'stop' && current !== 'stopped') {
    if (current === 'suspended') await signalPids(pids, 'SIGCONT');
    await signalPids(pids.filter((p) => p !== holder), 'SIGKILL');
    await setLinks(netns, ifaces, false);
    state = 'stopped';
  } else if (action === 'start' && current === 'stopped') {
    await setLinks(netns, ifaces, true);
    state = 'running';
  } else if (action === 'suspend' && current === 'running') {
    await signalPids(pids, 'SIGSTOP');
    await setLinks(netns, ifaces, false);
    state = 'suspended';
  } else if (action === 'resume' && current === 'suspended') {
    await signalPids(pids, 'SIGCONT');
    await setLinks(netns, ifaces, true);
    state = 'running';
  } else if (action === 'start' || action === 'resume') {
    if (current !== 'running') throw new OperationError(`cannot ${action} VM ${vm}: it is ${current}`);
  } else if (action === 'suspend' && current === 'stopped') {
    throw new OperationError(`cannot suspend VM ${vm}: it is stopped`);
  }
  return state;
}
