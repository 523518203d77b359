// Reading other devices' descriptions on the control-point side: the device tree of a DDD
// (URLs made absolute) and the action list of an SCPD. A description is untrusted input: its
// size, element depth (xml.ts), device and service counts are bounded, and every URL in it
// (URLBase, SCPDURL, controlURL, eventSubURL, presentationURL) must be http on the host of the
// LOCATION it came from — else the whole description is refused, saying which URL and why.
import { child, children, parseUpnpXml, textOf } from './xml.ts';
import type { XmlNode } from './xml.ts';
import { UrlRefused, checkUrl } from './url-policy.ts';

/** ~1 KiB per VM: room for about 4000 VMs on one hypervisor. */
export const MAX_DESCRIPTION_BYTES = 4 * 1024 * 1024;
export const MAX_SCPD_BYTES = 1024 * 1024;
/** Devices in one description (root and embedded, all levels). */
export const MAX_DEVICES = 4096;
export const MAX_SERVICES_PER_DEVICE = 32;

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
  /** ediv vendor elements (deployment, lab, vm, host, hypervisor). */
  vendor: Record<string, string>;
  services: RemoteService[];
  devices: RemoteDevice[];
}

export interface RemoteAction {
  name: string;
  in: string[];
  out: string[];
}

const VENDOR_KEYS = ['deployment', 'lab', 'vm', 'host', 'hypervisor'];

/** Resolves and checks the URLs of one description against the host of its LOCATION. */
class DescriptionUrls {
  private readonly base: string;
  private readonly host: string;

  constructor(location: string, urlBase: string | undefined) {
    // LOCATION was checked against the management network before the fetch; every other URL
    // must name the same host, so it is inside that network too.
    const loc = new URL(location);
    this.host = loc.hostname;
    // URLBase (UDA 1.0 only) may move the base; it must stay on the same host.
    this.base = urlBase ? checkUrl(urlBase, { sameHostAs: this.host, what: 'URLBase' }).toString() : location;
  }

  /** The absolute URL of a (relative) reference; '' when the element is absent. */
  resolve(ref: string | undefined, what: string): string {
    if (ref === undefined || ref === '') return '';
    let abs: string;
    try {
      abs = new URL(ref, this.base).toString();
    } catch {
      throw new UrlRefused(`${what} ${JSON.stringify(ref.slice(0, 200))} refused: not a URL`);
    }
    return checkUrl(abs, { sameHostAs: this.host, what }).toString();
  }
}

/** Walks a description's device tree, counting devices so a huge list is refused early. */
class DeviceReader {
  private readonly urls: DescriptionUrls;
  private count = 0;

  constructor(urls: DescriptionUrls) {
    this.urls = urls;
  }

  read(d: XmlNode): RemoteDevice {
    if (++this.count > MAX_DEVICES) throw new Error(`more than ${MAX_DEVICES} devices in one description`);
    const vendor: Record<string, string> = {};
    for (const k of VENDOR_KEYS) {
      const v = textOf(d[k]);
      if (v) vendor[k] = v;
    }
    this.urls.resolve(textOf(d['presentationURL']), 'presentationURL'); // never fetched, but a lie about the host is a lie
    const services = children(child(d, 'serviceList'), 'service');
    if (services.length > MAX_SERVICES_PER_DEVICE) throw new Error(`a device with more than ${MAX_SERVICES_PER_DEVICE} services`);
    return {
      udn: textOf(d['UDN']) ?? '',
      deviceType: textOf(d['deviceType']) ?? '',
      friendlyName: textOf(d['friendlyName']) ?? '',
      vendor,
      services: services.map((s) => ({
        serviceType: textOf(s['serviceType']) ?? '',
        serviceId: textOf(s['serviceId']) ?? '',
        scpdUrl: this.urls.resolve(textOf(s['SCPDURL']), 'SCPDURL'),
        controlUrl: this.urls.resolve(textOf(s['controlURL']), 'controlURL'),
        eventUrl: this.urls.resolve(textOf(s['eventSubURL']), 'eventSubURL'),
      })),
      devices: children(child(d, 'deviceList'), 'device').map((c) => this.read(c)),
    };
  }
}

/**
 * The root device of a description fetched from `location` (an http URL on an IPv4 host).
 * Throws (UrlRefused for a URL pointing elsewhere) when the description is not acceptable.
 */
export function parseDescription(xml: string, location: string): RemoteDevice {
  const doc = parseUpnpXml(xml, MAX_DESCRIPTION_BYTES);
  const root = child(doc, 'root');
  const dev = child(root, 'device');
  if (!dev) throw new Error(`${location}: not a UPnP device description`);
  const urls = new DescriptionUrls(location, textOf(root?.['URLBase']) || undefined);
  const device = new DeviceReader(urls).read(dev);
  if (!device.udn) throw new Error(`${location}: root device without UDN`);
  return device;
}

export function parseScpd(xml: string): RemoteAction[] {
  const doc = parseUpnpXml(xml, MAX_SCPD_BYTES);
  return children(child(child(doc, 'scpd'), 'actionList'), 'action').map((a) => {
    const args = children(child(a, 'argumentList'), 'argument');
    const names = (dir: string) => args.filter((x) => textOf(x['direction'])?.toLowerCase() === dir).map((x) => textOf(x['name']) ?? '');
    return { name: textOf(a['name']) ?? '', in: names('in'), out: names('out') };
  });
}
