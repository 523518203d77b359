// The control point's three jobs for `ediv discover`: the tree of what answers within a
// timeout, the tree kept live until stopped, and one SOAP action on a VM found by reference.
import { OperationError } from '../common/errors.ts';
import { ControlPoint, type DiscoveryTree } from './control-point.ts';
import { closeHttpClient, soapCall } from './http-client.ts';
import { interfaceOr } from './interface-choice.ts';
import { UpnpError } from './types.ts';
import { actionTarget, findVm, servicesWith } from './vm-lookup.ts';

export interface BrowseOptions {
  /** The management interface; else `fallbackInterface`, when it exists here. */
  interface?: string;
  fallbackInterface: string;
  /** M-SEARCH MX, 1-5 s. */
  mx: number;
  log?: (message: string) => void;
}

async function startControlPoint(o: BrowseOptions): Promise<ControlPoint> {
  const cp = new ControlPoint({ iface: interfaceOr(o.interface, o.fallbackInterface), mx: o.mx, log: o.log });
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
  /** VM name, deployment/vm, or UDN. */
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
  deployment?: string;
  host?: string;
  udn: string;
  serviceType: string;
  action: string;
  result: Record<string, string>;
}

/** Finds the VM (done as soon as it is seen with the action) and invokes the action. */
export async function callAction(o: BrowseOptions, call: ActionCall): Promise<ActionCallResult> {
  const cp = await startControlPoint(o);
  try {
    // Give a self-advertisement a moment to merge: wait until the VM is seen with the action.
    await cp.waitFor((t) => findVm(t, call.vm).some((v) => servicesWith(v, call.action, call.service).length > 0), call.timeoutMs);
    const matches = findVm(cp.tree(), call.vm);
    if (matches.length === 0) {
      throw new OperationError(`no VM ${JSON.stringify(call.vm)} found on the management network within ${call.timeoutMs / 1000} s`);
    }
    const { vm, service } = actionTarget(matches, call.vm, call.action, call.service);
    let result: Record<string, string>;
    try {
      result = await soapCall(service.controlUrl, service.serviceType, call.action, call.args);
    } catch (err) {
      if (err instanceof UpnpError) {
        throw new OperationError(`${call.action} on ${vm.name ?? vm.udn} failed: UPnP error ${err.code}: ${err.message}`, {
          details: { upnpErrorCode: err.code, upnpErrorDescription: err.message },
        });
      }
      throw err;
    }
    return { ok: true, vm: vm.name, deployment: vm.deployment, host: vm.host, udn: vm.udn, serviceType: service.serviceType, action: call.action, result };
  } finally {
    await stopControlPoint(cp);
  }
}
