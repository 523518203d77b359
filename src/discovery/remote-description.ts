// Reading other devices' descriptions on the control-point side: the device tree of a DDD
// (URLs made absolute) and the action list of an SCPD.
import { child, children, parseUpnpXml, textOf } from './xml.ts';
import type { XmlNode } from './xml.ts';

export const MAX_DESCRIPTION_BYTES = 16 * 1024 * 1024;

export interface RemoteService {
  serviceType: string;
  serviceId: string;
  scpdUrl: string;
  controlUrl: string;
  eventUrl: string;
}

export interface RemoteDevice {
  udn: string;
  deviceType: string;
  friendlyName: string;
  /** ediv vendor elements (deployment, vm, host, hypervisor). */
  vendor: Record<string, string>;
  services: RemoteService[];
  devices: RemoteDevice[];
}

export interface RemoteAction {
  name: string;
  in: string[];
  out: string[];
}

const VENDOR_KEYS = ['deployment', 'vm', 'host', 'hypervisor'];

function absolute(base: string, ref: string | undefined): string {
  try {
    return new URL(ref ?? '', base).toString();
  } catch {
    return '';
  }
}

function readDevice(d: XmlNode, base: string): RemoteDevice {
  const vendor: Record<string, string> = {};
  for (const k of VENDOR_KEYS) {
    const v = textOf(d[k]);
    if (v) vendor[k] = v;
  }
  return {
    udn: textOf(d['UDN']) ?? '',
    deviceType: textOf(d['deviceType']) ?? '',
    friendlyName: textOf(d['friendlyName']) ?? '',
    vendor,
    services: children(child(d, 'serviceList'), 'service').map((s) => ({
      serviceType: textOf(s['serviceType']) ?? '',
      serviceId: textOf(s['serviceId']) ?? '',
      scpdUrl: absolute(base, textOf(s['SCPDURL'])),
      controlUrl: absolute(base, textOf(s['controlURL'])),
      eventUrl: absolute(base, textOf(s['eventSubURL'])),
    })),
    devices: children(child(d, 'deviceList'), 'device').map((c) => readDevice(c, base)),
  };
}

/** The root device of a description fetched from `location`. */
export function parseDescription(xml: string, location: string): RemoteDevice {
  const doc = parseUpnpXml(xml, MAX_DESCRIPTION_BYTES);
  const root = child(doc, 'root');
  const dev = child(root, 'device');
  if (!dev) throw new Error(`${location}: not a UPnP device description`);
  const base = textOf(root?.['URLBase']) || location; // URLBase: UDA 1.0 only
  const device = readDevice(dev, base);
  if (!device.udn) throw new Error(`${location}: root device without UDN`);
  return device;
}

export function parseScpd(xml: string): RemoteAction[] {
  const doc = parseUpnpXml(xml, MAX_DESCRIPTION_BYTES);
  return children(child(child(doc, 'scpd'), 'actionList'), 'action').map((a) => {
    const args = children(child(a, 'argumentList'), 'argument');
    const names = (dir: string) => args.filter((x) => textOf(x['direction'])?.toLowerCase() === dir).map((x) => textOf(x['name']) ?? '');
    return { name: textOf(a['name']) ?? '', in: names('in'), out: names('out') };
  });
}
