// The hypervisor device: one UPnP root device per host whose embedded devices are the VMs it
// runs now, each with a VMManagement service whose actions go to the VM provider. With the
// cluster's control key, the actions that change a VM need a signature (control-auth.ts);
// GetStatus stays open.
import fs from 'node:fs';
import type { VmState } from '../protocol/agent.ts';
import type { VmAction } from '../protocol/vm-inventory.ts';
import type { DeviceModel, ServiceModel, VmEntry, VmProvider } from './types.ts';
import { DEVICE_HYPERVISOR, DEVICE_VM, SERVICE_ID_VM_MANAGEMENT, SERVICE_VM_MANAGEMENT, UpnpError, UPNP_ERRORS } from './types.ts';
import { hypervisorUdn, vmUdn } from './udn.ts';
import { configIdOf } from './description.ts';
import { DeviceServer } from './device-server.ts';
import { SsdpAdvertiser, type AdvertiserOptions } from './ssdp.ts';
import type { InterfaceAddress } from './netif.ts';
import { ControlVerifier } from './control-auth.ts';

export const VM_STATES: VmState[] = ['running', 'stopped', 'suspended', 'missing'];

/** UPnP action name → provider action. */
const ACTIONS: Record<string, VmAction> = {
  Start: 'start',
  Stop: 'stop',
  Suspend: 'suspend',
  Resume: 'resume',
  GetStatus: 'status',
};

/** A VM as served: its entry (state kept current) and the device standing for it. */
interface ServedVm {
  entry: VmEntry;
  device: DeviceModel;
  service: ServiceModel;
}

function vmKey(e: { deployment: string; vm: string }): string {
  return `${e.deployment}/${e.vm}`;
}

export function vmManagementService(entry: VmEntry, act: (action: VmAction) => Promise<VmState>): ServiceModel {
  return {
    serviceType: SERVICE_VM_MANAGEMENT,
    serviceId: SERVICE_ID_VM_MANAGEMENT,
    key: 'VMManagement',
    sharedScpdKey: 'VMManagement',
    actions: Object.keys(ACTIONS).map((name) => ({
      name,
      arguments: name === 'GetStatus' ? [{ name: 'State', direction: 'out' as const, relatedStateVariable: 'State' }] : [],
      signed: ACTIONS[name] !== 'status',
    })),
    stateVariables: [{ name: 'State', dataType: 'string', sendEvents: true, allowedValues: VM_STATES }],
    async invoke(action): Promise<Record<string, string>> {
      const a = ACTIONS[action];
      if (!a) throw new UpnpError(UPNP_ERRORS.invalidAction, `Invalid Action: no action ${action}`);
      const state = await act(a);
      return a === 'status' ? { State: state } : {};
    },
    evented: () => ({ State: entry.state }),
  };
}

/**
 * The device of a VM. People know it by its lab's name (friendlyName, ediv:lab); the UDN and
 * ediv:deployment carry the deployment key, unique even when two labs share a name.
 */
export function vmDevice(host: string, entry: VmEntry, service: ServiceModel): DeviceModel {
  const lab = entry.lab ?? entry.deployment;
  const keyed = lab === entry.deployment ? '' : ` (deployment ${entry.deployment})`;
  return {
    udn: vmUdn(entry.deployment, entry.vm),
    deviceType: DEVICE_VM,
    friendlyName: `${entry.vm} (${lab})`,
    manufacturer: 'ediv',
    modelName: 'ediv virtual machine',
    modelDescription: `VM ${entry.vm} of scenario ${lab}${keyed} on host ${host}`,
    vendor: { deployment: entry.deployment, lab, vm: entry.vm, host },
    services: [service],
    devices: [],
  };
}

export function hypervisorDevice(host: string, vms: DeviceModel[], udn = hypervisorUdn(host)): DeviceModel {
  return {
    udn,
    deviceType: DEVICE_HYPERVISOR,
    friendlyName: `ediv hypervisor ${host}`,
    manufacturer: 'ediv',
    modelName: 'ediv host agent',
    modelDescription: `Host ${host} of an ediv cluster and the VMs it runs`,
    vendor: { host },
    services: [],
    devices: vms,
  };
}

export interface HypervisorOptions {
  host: string;
  iface: InterfaceAddress;
  port?: number;
  maxAge: number;
  bootId: number;
  provider: VmProvider;
  udn?: string;
  /** The control keys now (re-read on reload; a signature with any one passes); none: actions are not signed. */
  controlKeys?: () => readonly Buffer[] | undefined;
  log?: (msg: string) => void;
  /** Interval of the backstop poll of the provider (state changes made elsewhere), ms. */
  pollMs?: number;
  /** Sends SSDP datagrams instead of a socket (tests, benchmark: then no SSDP socket is opened). */
  ssdpSend?: AdvertiserOptions['send'];
}

export class HypervisorDaemon {
  private readonly opts: HypervisorOptions;
  private readonly server: DeviceServer;
  readonly ssdp: SsdpAdvertiser;
  private served = new Map<string, ServedVm>();
  private root?: DeviceModel;
  private configId = -1;
  private location = '';
  private reloading?: Promise<void>;
  private again = false;
  private watchers: fs.FSWatcher[] = [];
  private poll?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;

  constructor(opts: HypervisorOptions) {
    this.opts = opts;
    const verifier = new ControlVerifier(opts.controlKeys ?? (() => undefined));
    this.server = new DeviceServer({ address: opts.iface.address, port: opts.port, log: opts.log, network: opts.iface, verifier });
    this.ssdp = new SsdpAdvertiser({
      iface: opts.iface, maxAge: opts.maxAge, bootId: opts.bootId, log: opts.log, ...(opts.ssdpSend ? { send: opts.ssdpSend } : {}),
    });
  }

  get url(): string {
    return this.location;
  }

  get udn(): string {
    return this.opts.udn ?? hypervisorUdn(this.opts.host);
  }

  get currentConfigId(): number {
    return this.configId;
  }

  async start(): Promise<string> {
    this.location = await this.server.listen();
    await this.ssdp.start();
    await this.reload();
    for (const p of this.opts.provider.watchPaths()) {
      try {
        const w = fs.watch(p, { recursive: true }, (_ev, name) => {
          if (name && String(name).startsWith('.discovery')) return; // our own files
          this.scheduleReload();
        });
        w.on('error', () => {});
        this.watchers.push(w);
      } catch {
        // not watchable: the poll below still catches changes
      }
    }
    this.poll = setInterval(() => this.scheduleReload(), this.opts.pollMs ?? 5000);
    return this.location;
  }

  scheduleReload(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.reload().catch((e: Error) => this.opts.log?.(`reload failed: ${e.message}`)), 200);
  }

  /** Re-reads the VM list; runs one at a time, coalescing requests that come meanwhile. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.again = false;
          await this.reloadOnce();
        } while (this.again);
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    const list = await this.opts.provider.list();
    const next = new Map<string, ServedVm>();
    const changedState: ServedVm[] = [];
    for (const e of list) {
      const k = vmKey(e);
      const old = this.served.get(k);
      // The device shows the lab's name: should it change under the same key, serve the VM anew.
      if (old && old.entry.lab === e.lab) {
        if (old.entry.state !== e.state) {
          old.entry.state = e.state;
          changedState.push(old);
        }
        next.set(k, old);
      } else {
        const entry = { ...e };
        const service = vmManagementService(entry, (a) => this.act(entry, a));
        next.set(k, { entry, service, device: vmDevice(this.opts.host, entry, service) });
      }
    }
    const sameSet = next.size === this.served.size && [...next].every(([k, s]) => this.served.get(k) === s);
    this.served = next;
    if (!sameSet || !this.root) {
      const devices = [...next.values()].sort((a, b) => vmKey(a.entry).localeCompare(vmKey(b.entry))).map((s) => s.device);
      this.root = hypervisorDevice(this.opts.host, devices, this.opts.udn);
      this.configId = configIdOf(this.root);
      this.server.setDevice(this.root, this.configId);
      this.opts.log?.(`serving ${devices.length} VMs, CONFIGID ${this.configId}`);
      // Searches see the new set at once; its announcements go out in the background (thousands
      // of datagrams for a thousand VMs): ready does not wait for them. The advertiser logs
      // their failures (its chain never rejects).
      this.ssdp.setDevice(this.root, this.location, this.configId);
    }
    for (const s of changedState) this.server.publish(s.device, s.service);
  }

  /** Runs a lifecycle action through the provider and events the new state. */
  private async act(entry: VmEntry, action: VmAction): Promise<VmState> {
    const served = this.served.get(vmKey(entry));
    if (!served || served.entry !== entry) throw new UpnpError(UPNP_ERRORS.actionFailed, 'Action Failed: the VM is no longer on this host');
    const state = await this.opts.provider.act(entry.deployment, entry.vm, action);
    if (state !== entry.state) {
      entry.state = state;
      this.server.publish(served.device, served.service);
    }
    return state;
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    for (const w of this.watchers) w.close();
    await this.reloading?.catch(() => {});
    await this.ssdp.stop();
    await this.server.close();
  }
}
