// The VMs a host runs and their life-cycle actions, as a typed seam: the host agent implements
// it (src/host-agent/inventory.ts, through its drivers); the discovery daemon consumes it
// (src/discovery/provider.ts) without knowing the host agent. The composition root
// (src/cli/discovery-daemon-main.ts) passes one to the other.
import type { VmState } from './agent.ts';

/** Life-cycle actions on a VM (`status` only reports the state). */
export type VmAction = 'start' | 'stop' | 'suspend' | 'resume' | 'status';

export interface InventoryVm {
  /** The deployment's key on the hosts (deployment-key.ts): its identity. */
  deployment: string;
  /** The lab's display name; absent: the deployment's (labs recorded before keys had uids). */
  lab?: string;
  vm: string;
  /** Cluster host name the VM's deployment was applied as ('' if unknown). */
  host: string;
  state: VmState;
}

export interface VmInventory {
  /** Every configured VM of every deployment. */
  list(): Promise<InventoryVm[]>;
  /** Carries out the action; resolves with the VM's state afterwards; throws when it cannot. */
  act(deployment: string, vm: string, action: VmAction): Promise<VmState>;
}
