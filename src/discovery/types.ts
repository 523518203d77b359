// Shared vocabulary of the discovery layer: UPnP type URNs, the VM provider seam and the
// generic device model both the hypervisor daemon and the VM advertiser serve.
import type { InventoryVm, VmInventory } from '../protocol/vm-inventory.ts';

export const VENDOR_DOMAIN = 'ediv-org';
export const DEVICE_HYPERVISOR = 'urn:ediv-org:device:Hypervisor:1';
export const DEVICE_VM = 'urn:ediv-org:device:VirtualMachine:1';
export const SERVICE_VM_MANAGEMENT = 'urn:ediv-org:service:VMManagement:1';
export const SERVICE_ID_VM_MANAGEMENT = 'urn:ediv-org:serviceId:VMManagement';
/** Namespace of ediv's vendor elements in device descriptions. */
export const EDIV_XMLNS = 'urn:ediv-org:device-1-0';

export const SSDP_GROUP = '239.255.255.250';
export const SSDP_PORT = 1900;
/** UDA 1.1 recommends max-age >= 1800 s. */
export const DEFAULT_MAX_AGE = 1800;

/** One VM of this host as the provider sees it (an inventory entry; the host is this one). */
export type VmEntry = Omit<InventoryVm, 'host'>;

/**
 * Where the daemon learns which VMs the host runs and how it acts on them (`act`: as
 * VmInventory's). The real one is backed by a VmInventory (src/protocol/vm-inventory.ts: the
 * host agent's, passed in by the composition root); tests and the benchmark use a JSON file.
 */
export interface VmProvider extends Pick<VmInventory, 'act'> {
  list(): Promise<VmEntry[]>;
  /** Paths whose changes mean the VM list may have changed (watched by the daemon). */
  watchPaths(): string[];
}

// ---- generic UPnP device model -------------------------------------------------------

export interface ArgumentSpec {
  name: string;
  direction: 'in' | 'out';
  relatedStateVariable: string;
}

export interface ActionSpec {
  name: string;
  arguments: ArgumentSpec[];
  /** The action changes something: a server with a control key runs it only when signed (control-auth.ts). */
  signed?: boolean;
}

export interface StateVariableSpec {
  name: string;
  dataType: string;
  sendEvents: boolean;
  allowedValues?: string[];
}

/** A UPnP fault: code and description travel in the UPnPError body. */
export class UpnpError extends Error {
  readonly code: number;
  constructor(code: number, description: string) {
    super(description);
    this.name = 'UpnpError';
    this.code = code;
  }
}

export const UPNP_ERRORS = {
  invalidAction: 401,
  invalidArgs: 402,
  actionFailed: 501,
  argumentValueInvalid: 600,
  /** UDA 1.1 common code: the caller may not invoke the action (unsigned or badly signed). */
  notAuthorized: 606,
} as const;

export interface ServiceModel {
  serviceType: string;
  serviceId: string;
  /** Path segment naming the service under its device (URL-safe). */
  key: string;
  /** Services with identical SCPDs may share one SCPD URL (e.g. every VM's VMManagement). */
  sharedScpdKey?: string;
  actions: ActionSpec[];
  stateVariables: StateVariableSpec[];
  /** Runs an action whose arguments were already checked against the SCPD. */
  invoke(action: string, args: Record<string, string>): Promise<Record<string, string>>;
  /** Current values of the evented state variables (for GENA). */
  evented(): Record<string, string>;
}

export interface DeviceModel {
  udn: string;
  deviceType: string;
  friendlyName: string;
  manufacturer: string;
  modelName: string;
  modelDescription?: string;
  /** ediv vendor elements (namespace EDIV_XMLNS), e.g. deployment, vm, host. */
  vendor: Record<string, string>;
  services: ServiceModel[];
  devices: DeviceModel[];
}
