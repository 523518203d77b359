// Which URLs the control point may fetch from or post to (and which callbacks a device may
// send events to). A description is written by whoever answers on the management network, so
// its URLs are untrusted: without a check, `ediv discover` would GET and POST wherever a device
// points it (a cloud metadata address, a service on the controller's 127.0.0.1). The rule:
// http only, an IPv4 literal (no DNS lookup that could resolve elsewhere later), no user
// info, inside the management network, and — for a device's URLs — the host of its LOCATION,
// because that is where ediv's daemons serve everything.
import type { InterfaceAddress } from './netif.ts';
import { inSubnet } from './netif.ts';

export class UrlRefused extends Error {}

/** The network URLs must point into, and its name for messages. */
export interface UrlPolicy {
  allows(ip: string): boolean;
  readonly network: string;
}

const MAX_URL_LENGTH = 2048;
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** The subnet of the management interface (the control point's or the device's own). */
export function subnetPolicy(iface: InterfaceAddress): UrlPolicy {
  const bits = iface.netmask.split('.').reduce((n, o) => n + (Number(o) >>> 0).toString(2).replace(/0/g, '').length, 0);
  return { allows: (ip) => inSubnet(ip, iface), network: `${iface.address}/${bits}` };
}

/**
 * The URL when it passes the rule, else UrlRefused saying why. `policy`: the network it must
 * point into; `sameHostAs`: the host (IPv4) it must name, e.g. the LOCATION's (inside the
 * network already); `what` names the URL in the message.
 */
export function checkUrl(raw: string, opts: { policy?: UrlPolicy; sameHostAs?: string; what?: string }): URL {
  const what = opts.what ?? 'URL';
  const refuse = (why: string) => new UrlRefused(`${what} ${JSON.stringify(raw.slice(0, 200))} refused: ${why}`);
  if (raw.length > MAX_URL_LENGTH) throw refuse(`longer than ${MAX_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw refuse('not a URL');
  }
  if (u.protocol !== 'http:') throw refuse('only http: URLs are used');
  if (u.username || u.password) throw refuse('URLs with user information are not used');
  // The WHATWG parser has already turned 0x7f.1, 2130706433 and the like into dotted form.
  if (!IPV4.test(u.hostname)) throw refuse('the host must be an IPv4 address (no names, no IPv6)');
  if (opts.policy && !opts.policy.allows(u.hostname)) throw refuse(`${u.hostname} is outside the management network ${opts.policy.network}`);
  if (opts.sameHostAs !== undefined && u.hostname !== opts.sameHostAs) {
    throw refuse(`it points at ${u.hostname}, not at the device's own host ${opts.sameHostAs}`);
  }
  return u;
}
