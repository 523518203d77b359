// The control point's three jobs for `ediv discover`: the tree of what answers within a
// timeout, the tree kept live until stopped, and one SOAP action on a VM found by reference.
// An action on a hypervisor's VM is signed when the cluster's discovery key is at hand (on the
// controller); a hypervisor that requires signatures refuses it otherwise (fault 606).
import { OperationError } from '../common/errors.ts';
import { ControlPoint, type DiscoveryTree, type TreeService, type TreeVm } from './control-point.ts';
import { closeHttpClient, soapCall } from './http-client.ts';
import { interfaceOr } from './interface-choice.ts';
import { UpnpError, UPNP_ERRORS } from './types.ts';
import { actionTarget, findVm, targetSeen } from './vm-lookup.ts';
import { vmLabel } from './vm-ref.ts';
import type { LabRecord } from './identity.ts';
import { SIGNATURE_HEADER, signCall } from './control-auth.ts';
import { terminalSafe } from '../common/printable.ts';

export interface BrowseOptions {
  /** The management interface; else `fallbackInterface`, when it exists here. */
  interface?: string;
  fallbackInterface: string;
  /** M-SEARCH MX, 1-5 s. */
  mx: number;
  /** The lab's record (the controller's state), to tell verified hypervisors and VMs. */
  record?: LabRecord;
  /** The cluster's discovery key, to sign actions on hypervisors' VMs. */
  controlKey?: Buffer;
  /** Where that key is kept (named when a hypervisor refuses an unsigned action). */
  controlKeyFile?: string;
  log?: (message: string) => void;
}

async function startControlPoint(o: BrowseOptions): Promise<ControlPoint> {
  const cp = new ControlPoint({ iface: interfaceOr(o.interface, o.fallbackInterface), mx: o.mx, log: o.log, record: o.record });
  await cp.start();
  await cp.searchFor('upnp:rootdevice');
  return cp;
}

async function stopControlPoint(cp: ControlPoint): Promise<void> {
  await cp.stop();
  closeHttpClient();
}

/** What answered within the timeout (plus a little while a description fetch is still under way). */
export async function browseTree(o: BrowseOptions & { timeoutMs: number }): Promise<DiscoveryTree> {
  const cp = await startControlPoint(o);
  try {
    await new Promise((r) => setTimeout(r, o.timeoutMs));
    const end = Date.now() + 5000;
    while (cp.busy() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return cp.tree();
  } finally {
    await stopControlPoint(cp);
  }
}

/** Calls `onChange` with the tree whenever it changes, until the signal aborts. */
export async function watchTree(o: BrowseOptions, onChange: (tree: DiscoveryTree) => void, signal: AbortSignal): Promise<void> {
  const cp = await startControlPoint(o);
  let last = '';
  cp.on('change', () => {
    const tree = cp.tree();
    const text = JSON.stringify(tree);
    if (text === last) return;
    last = text;
    onChange(tree);
  });
  // Search again now and then: catches devices whose announcements were lost.
  const again = setInterval(() => void cp.searchFor('upnp:rootdevice'), 60_000);
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  clearInterval(again);
  await stopControlPoint(cp);
}

export interface ActionCall {
  /** VM name, lab/vm, deployment key/vm, or UDN (vm-ref.ts). */
  vm: string;
  action: string;
  args: [string, string][];
  /** The service type, when several services of the VM have the action. */
  service?: string;
  /** How long to look for the VM. */
  timeoutMs: number;
}

export interface ActionCallResult {
  ok: true;
  vm?: string;
  /** The deployment key (the VM's identity, with its name). */
  deployment?: string;
  /** The lab's name. */
  lab?: string;
  host?: string;
  udn: string;
  serviceType: string;
  action: string;
  /** The VM was verified against the lab's record (identity.ts). */
  verified: boolean;
  result: Record<string, string>;
}

/** The signature headers for a call to a hypervisor's service, when the key is at hand. */
export function signer(o: BrowseOptions, vm: TreeVm, service: TreeService, action: string): ((body: string) => Record<string, string>) | undefined {
  const key = o.controlKey;
  // A VM's own advertiser is not given the cluster key: nothing to sign for, nothing to leak.
  if (!key || service.source !== 'hypervisor') return undefined;
  return (body) => ({ [SIGNATURE_HEADER]: signCall(key, { url: service.controlUrl, serviceType: service.serviceType, action, udn: vm.udn, body }) });
}

/** The user's words for a UPnP fault (the device's own text made safe for a terminal). */
export function faultMessage(o: BrowseOptions, vmName: string, action: string, err: UpnpError): string {
  const what = `${action} on ${terminalSafe(vmName)} failed: UPnP error ${err.code}: ${terminalSafe(err.message)}`;
  if (err.code !== UPNP_ERRORS.notAuthorized) return what;
  return o.controlKey
    ? `${what}\n(the request was signed with the key in ${o.controlKeyFile ?? 'the controller state'}: the hypervisor has another key, not this one — deploy onto it from this controller to hand this one over — or the clocks differ)`
    : `${what}\n(this hypervisor runs state-changing actions only when signed with the cluster's discovery key: run \`ediv discover call\` on the controller, with --state naming its state directory${o.controlKeyFile ? `; no key in ${o.controlKeyFile}` : ''})`;
}

/** Finds the VM (done as soon as it is seen with the action) and invokes the action. */
export async function callAction(o: BrowseOptions, call: ActionCall): Promise<ActionCallResult> {
  const cp = await startControlPoint(o);
  try {
    // Give a self-advertisement a moment to merge: wait until the VM is seen with the action
    // (the verified one, when the record knows it).
    await cp.waitFor((t) => targetSeen(t, call.vm, call.action, call.service, o.record), call.timeoutMs);
    const matches = findVm(cp.tree(), call.vm);
    if (matches.length === 0) {
      throw new OperationError(`no VM ${JSON.stringify(call.vm)} found on the management network within ${call.timeoutMs / 1000} s`);
    }
    const { vm, service } = actionTarget(matches, call.vm, call.action, call.service);
    if (o.record && !vm.verified) o.log?.(`${terminalSafe(vmLabel(vm))} is not verified against the lab's record (served at ${terminalSafe(service.controlUrl)})`);
    let result: Record<string, string>;
    try {
      result = await soapCall(service.controlUrl, service.serviceType, call.action, call.args, { policy: cp.policy, sign: signer(o, vm, service, call.action) });
    } catch (err) {
      if (err instanceof UpnpError) {
        throw new OperationError(faultMessage(o, vm.name ?? vm.udn, call.action, err), {
          details: { upnpErrorCode: err.code, upnpErrorDescription: err.message },
        });
      }
      throw err;
    }
    return { ok: true, vm: vm.name, deployment: vm.deployment, lab: vm.lab, host: vm.host, udn: vm.udn, serviceType: service.serviceType, action: call.action, verified: vm.verified, result };
  } finally {
    await stopControlPoint(cp);
  }
}
