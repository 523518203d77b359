// The VMs this agent runs and their life-cycle actions, whatever their driver: the host agent's
// VmInventory (src/protocol/vm-inventory.ts), which the discovery daemon serves. Each
// deployment's driver (the one its applied.json names) lists its VMs and acts on them; this
// module adds the state directory's lock and the recorded states (vm-state.json).
import { OperationError } from '../common/errors.ts';
import type { ProgressEvent, VmState } from '../protocol/agent.ts';
import type { InventoryVm, VmAction, VmInventory } from '../protocol/vm-inventory.ts';
import type { Driver, DriverContext } from './drivers/driver.ts';
import { driverFor } from './drivers/registry.ts';
import { Journal } from './journal.ts';
import { deploymentDir, listDeployments, readApplied, readVmStates, vmDir, withLock, writeVmStates } from './store.ts';

/** What a driver gets to act on one deployment (the journal is read now). */
export function driverContext(stateDir: string, deployment: string, emit: (e: ProgressEvent) => void = () => {}): DriverContext {
  return {
    stateDir,
    deployment,
    journal: Journal.open(deploymentDir(stateDir, deployment)),
    emit,
    vmDir: (vm) => vmDir(stateDir, deployment, vm),
  };
}

/** The driver a deployment was applied with. */
export function deploymentDriver(stateDir: string, deployment: string): Driver {
  return driverFor(readApplied(stateDir, deployment)?.driver);
}

/** State of every configured VM of a deployment. */
export function vmStates(stateDir: string, deployment: string): Record<string, VmState> {
  return deploymentDriver(stateDir, deployment).vmStates(driverContext(stateDir, deployment), readVmStates(stateDir, deployment));
}

export async function listVms(stateDir: string): Promise<InventoryVm[]> {
  return listDeployments(stateDir).flatMap((deployment) => {
    const applied = readApplied(stateDir, deployment);
    const host = applied?.host ?? '';
    // Applied before deployments had keys: no lab recorded, the key is the lab's name.
    const lab = applied?.lab ?? deployment;
    return Object.entries(vmStates(stateDir, deployment)).map(([vm, state]) => ({ deployment, lab, vm, host, state }));
  });
}

export async function vmAction(stateDir: string, deployment: string, vm: string, action: VmAction): Promise<{ state: VmState }> {
  const current = vmStates(stateDir, deployment)[vm];
  if (current === undefined) throw new OperationError(`VM ${vm} of deployment ${deployment} is not on this host`);
  if (action === 'status' || current === 'missing') return { state: current };
  return withLock(stateDir, async () => {
    const state = await deploymentDriver(stateDir, deployment).vmAction(driverContext(stateDir, deployment), vm, action, current);
    const states = readVmStates(stateDir, deployment);
    states[vm] = state;
    writeVmStates(stateDir, deployment, states);
    return { state };
  });
}

/** The host agent's VM inventory of one state directory. */
export function hostVmInventory(stateDir: string): VmInventory {
  return {
    list: () => listVms(stateDir),
    act: async (deployment, vm, action) => (await vmAction(stateDir, deployment, vm, action)).state,
  };
}
