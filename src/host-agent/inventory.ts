// The VMs this agent runs, and their life-cycle actions (used by the discovery daemon's SOAP
// service). Semantics for netns VMs:
//   stop    = every process in the VM's namespace killed (by pid) except its holder, and the VM's
//             interfaces set down;
//   start   = the VM's interfaces set up again (a stopped VM's processes are not restarted);
//   suspend = every process in the VM's namespace frozen (SIGSTOP, by pid) and interfaces down;
//   resume  = SIGCONT to those processes and interfaces up;
//   status  = the state (running | stopped | suspended | missing when its namespace is gone).
import { OperationError } from '../common/errors.ts';
import type { VmState } from '../protocol/agent.ts';
import { Journal } from './journal.ts';
import { holderKey, netnsKey } from './drivers/netns.ts';
import { deploymentDir, listDeployments, readApplied, readVmStates, withLock, writeVmStates } from './store.ts';
import { ipBatch, listNetns, pidsInNetns, signalPids } from './sys.ts';

export type VmAction = 'start' | 'stop' | 'suspend' | 'resume' | 'status';

export interface InventoryVm {
  deployment: string;
  vm: string;
  host: string;
  state: VmState;
  netns: string;
}

/** State of every configured VM of a deployment. */
export function vmStates(stateDir: string, deployment: string): Record<string, VmState> {
  const journal = Journal.open(deploymentDir(stateDir, deployment));
  const recorded = readVmStates(stateDir, deployment);
  const namespaces = listNetns();
  const out: Record<string, VmState> = {};
  for (const vm of journal.configuredVms().keys()) {
    const ns = journal.get(netnsKey(vm))?.name;
    out[vm] = ns && namespaces.has(ns) ? (recorded[vm] ?? 'running') : 'missing';
  }
  return out;
}

export async function listVms(stateDir: string): Promise<InventoryVm[]> {
  return listDeployments(stateDir).flatMap((deployment) => {
    const journal = Journal.open(deploymentDir(stateDir, deployment));
    const host = readApplied(stateDir, deployment)?.host ?? '';
    return Object.entries(vmStates(stateDir, deployment)).map(([vm, state]) => ({
      deployment,
      vm,
      host,
      state,
      netns: journal.get(netnsKey(vm))?.name ?? '',
    }));
  });
}

/** Interfaces of a VM, as named inside its namespace. */
function vmIfaces(stateDir: string, deployment: string, vm: string): string[] {
  const journal = Journal.open(deploymentDir(stateDir, deployment));
  const veths = journal.resources().filter((r) => r.kind === 'veth' && r.vm === vm);
  // The inner name is recorded in the applied fragment; the journal key carries the iface id.
  return veths.map((r) => r.params ?? `eth${r.key.split(':').pop()}`);
}

async function setLinks(netns: string, ifaces: string[], up: boolean): Promise<void> {
  const r = await ipBatch(ifaces.map((i) => `link set dev ${i} ${up ? 'up' : 'down'}`), { netns });
  if (r.exitCode !== 0) throw new OperationError(`setting the interfaces of ${netns} ${up ? 'up' : 'down'} failed: ${r.stderr.trim()}`);
}

export async function vmAction(stateDir: string, deployment: string, vm: string, action: VmAction): Promise<{ state: VmState }> {
  const current = vmStates(stateDir, deployment)[vm];
  if (current === undefined) throw new OperationError(`VM ${vm} of deployment ${deployment} is not on this host`);
  if (action === 'status' || current === 'missing') return { state: current };
  return withLock(stateDir, async () => {
    const journal = Journal.open(deploymentDir(stateDir, deployment));
    const netns = journal.get(netnsKey(vm))!.name;
    const holder = journal.get(holderKey(vm))?.pid;
    const ifaces = vmIfaces(stateDir, deployment, vm);
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
    const states = readVmStates(stateDir, deployment);
    states[vm] = state;
    writeVmStates(stateDir, deployment, states);
    return { state };
  });
}
