// Shared fixtures of the discovery unit tests: device trees and their documents, SSDP
// datagrams, a control point whose fetches are stubbed (it never touches the network: its
// sockets are not opened and nothing it is told to fetch leaves the process), and loopback
// HTTP servers. Addresses other than 127.0.0.1 appear only inside stubbed traffic.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hypervisorDevice, vmDevice, vmManagementService } from '../../../src/discovery/hypervisor.ts';
import { deviceDescription, scpd } from '../../../src/discovery/description.ts';
import { advertSet, formatAlive, formatByebye } from '../../../src/discovery/ssdp-messages.ts';
import { ControlPoint } from '../../../src/discovery/control-point.ts';
import type { LabRecord } from '../../../src/discovery/identity.ts';
import { UpnpError, type DeviceModel, type VmEntry } from '../../../src/discovery/types.ts';

/** A management interface that exists only in these tests (no socket is ever opened on it). */
export const FAKE_IFACE = { name: 'mgmt0', address: '198.18.6.2', netmask: '255.255.255.0' };

/** A VM a fixture hypervisor serves: its deployment key, name and (when not the key) lab name. */
export type VmSpec = [deployment: string, vm: string, lab?: string];

export function hypervisorTree(host: string, vms: VmSpec[]): DeviceModel {
  const devices = vms.map(([deployment, vm, lab]) => {
    const entry: VmEntry = { deployment, vm, state: 'running', ...(lab ? { lab } : {}) };
    return vmDevice(host, entry, vmManagementService(entry, async () => 'running'));
  });
  return hypervisorDevice(host, devices);
}

export const locationOf = (ip: string) => `http://${ip}:4000/description.xml`;

/** The documents a hypervisor at `ip` serves: its description and the shared SCPD. */
export function hypervisorDocs(ip: string, host: string, vms: VmSpec[]): Map<string, string> {
  const tree = hypervisorTree(host, vms);
  return new Map([
    [locationOf(ip), deviceDescription(tree, 1)],
    [`http://${ip}:4000/scpd/VMManagement.xml`, scpd(tree.devices[0]?.services[0] ?? vmManagementService({ deployment: 'x', vm: 'x', state: 'running' }, async () => 'running'), 1)],
  ]);
}

/** An ssdp:alive for the root of `tree` at `location`. */
export function aliveOf(tree: DeviceModel, location: string): Buffer {
  return Buffer.from(formatAlive(advertSet(tree)[0]!, { location, maxAge: 1800, bootId: 1, configId: 1 }));
}

export function byebyeOf(tree: DeviceModel): Buffer {
  return Buffer.from(formatByebye(advertSet(tree)[0]!, { bootId: 1, configId: 1 }));
}

/** A control point on FAKE_IFACE whose fetches are answered from `docs` (and recorded). */
export function stubbedControlPoint(docs: Map<string, string>, record?: LabRecord): { cp: ControlPoint; fetched: string[]; logged: string[] } {
  const fetched: string[] = [];
  const logged: string[] = [];
  const cp = new ControlPoint({
    iface: FAKE_IFACE,
    record,
    log: (m) => logged.push(m),
    fetchText: async (url) => {
      fetched.push(url);
      const doc = docs.get(url);
      if (doc === undefined) throw new Error(`${url}: HTTP 404`);
      return doc;
    },
  });
  return { cp, fetched, logged };
}

/** Waits until `pred` holds (checked every 10 ms), at most `ms`. */
export async function until(pred: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** Lets pending fetches and timers run. */
export const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));

/** An HTTP server on 127.0.0.1 (any free port) and its origin. */
export async function loopbackServer(handler: http.RequestListener): Promise<{ origin: string; server: http.Server; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The UPnP error code `f` throws (its assertion: it is a UpnpError), or 0 when it does not throw. */
export function upnpErrorCode(f: () => unknown): number {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(UpnpError);
    return (err as UpnpError).code;
  }
  return 0;
}
