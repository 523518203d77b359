// Life cycle of netns VMs (used by status and by the discovery daemon's SOAP service, through
// the host agent's inventory):
//   stop    = every process in the VM's namespace killed (by pid) except its holder, and the VM's
//             cables unplugged: the host-side ends of its veths set down, so its interfaces lose
//             carrier but keep their addresses and routes (setting the VM's own ends down would
//             make the kernel drop its routes and IPv6 addresses, and a start would not restore them);
//   start   = the cables plugged in again (a stopped VM's processes are not restarted);
//   suspend = every process in the VM's namespace frozen (SIGSTOP, by pid) and cables unplugged;
//   resume  = SIGCONT to those processes and cables plugged in;
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

/** A VM's cables: the host-side ends of its veths (its interfaces and its management link). */
export function vmCables(journal: Journal, vm: string): string[] {
  return journal
    .resources()
    .filter((r) => r.kind === 'veth' && r.vm === vm)
    .map((r) => r.name);
}

/** Plugs a VM's cables in (up) or unplugs them (down), in the agent's namespace. */
export async function setCables(journal: Journal, vm: string, up: boolean): Promise<void> {
  const r = await ipBatch(vmCables(journal, vm).map((c) => `link set dev ${c} ${up ? 'up' : 'down'}`));
  if (r.exitCode !== 0) throw new OperationError(`setting the links of VM ${vm} ${up ? 'up' : 'down'} failed: ${r.stderr.trim()}`);
}

/** Carries out `action` on a present VM in state `current`; resolves with its new state. */
export async function netnsVmAction(journal: Journal, vm: string, action: Exclude<VmAction, 'status'>, current: VmState): Promise<VmState> {
  const netns = journal.get(netnsKey(vm))!.name;
  const holder = journal.get(holderKey(vm))?.pid;
  const pids = pidsInNetns([netns]).get(netns) ?? [];
  let state: VmState = current;
  if (action === 'stop' && current !== 'stopped') {
    if (current === 'suspended') await signalPids(pids, 'SIGCONT');
    await signalPids(pids.filter((p) => p !== holder), 'SIGKILL');
    await setCables(journal, vm, false);
    state = 'stopped';
  } else if (action === 'start' && current === 'stopped') {
    await setCables(journal, vm, true);
    state = 'running';
  } else if (action === 'suspend' && current === 'running') {
    await signalPids(pids, 'SIGSTOP');
    await setCables(journal, vm, false);
    state = 'suspended';
  } else if (action === 'resume' && current === 'suspended') {
    await signalPids(pids, 'SIGCONT');
    await setCables(journal, vm, true);
    state = 'running';
  } else if (action === 'start' || action === 'resume') {
    if (current !== 'running') throw new OperationError(`cannot ${action} VM ${vm}: it is ${current}`);
  } else if (action === 'suspend' && current === 'stopped') {
    throw new OperationError(`cannot suspend VM ${vm}: it is stopped`);
  }
  return state;
}
