// GENA eventing (UDA 1.1 §4): the subscription table of a device server and the event
// messages it sends (initial event with SEQ 0, then one per change).
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { SERVER_HEADER } from './ssdp-messages.ts';
import { xmlEscape as e } from './xml.ts';

export const MAX_SUBSCRIPTION_SECONDS = 1800;
const MIN_SUBSCRIPTION_SECONDS = 60;

interface Subscription {
  sid: string;
  /** Event URL (path) of the service the subscription is for. */
  eventPath: string;
  callbacks: URL[];
  expires: number;
  seq: number;
  /** Events of one subscription go out in order. */
  chain: Promise<void>;
}

export function propertySet(values: Record<string, string>): string {
  const props = Object.entries(values).map(([k, v]) => `<e:property><${k}>${e(v)}</${k}></e:property>`).join('');
  return `<?xml version="1.0" encoding="utf-8"?>\n<e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0">${props}</e:propertyset>\n`;
}

/** `Second-N` / `infinite` → seconds, clamped to what the device grants. */
export function grantedTimeout(header: string | undefined): number {
  const m = /^Second-(\d+)$/i.exec((header ?? '').trim());
  const asked = m ? Number(m[1]) : MAX_SUBSCRIPTION_SECONDS;
  return Math.min(MAX_SUBSCRIPTION_SECONDS, Math.max(MIN_SUBSCRIPTION_SECONDS, asked));
}

/** CALLBACK header `<url1><url2>` → the http URLs pointing back at the subscriber itself. */
export function callbackUrls(header: string | undefined, subscriberAddress: string): URL[] {
  const out: URL[] = [];
  for (const m of (header ?? '').matchAll(/<([^>]+)>/g)) {
    try {
      const u = new URL(m[1]!);
      // Events only go back to the host that subscribed: no use of the device as a relay.
      if (u.protocol === 'http:' && u.hostname === subscriberAddress) out.push(u);
    } catch {
      // ignore unparsable URLs
    }
  }
  return out;
}

export type GenaReply = { status: number; headers?: Record<string, string> };

export class Subscriptions {
  private readonly subs = new Map<string, Subscription>();
  private readonly log?: (msg: string) => void;

  constructor(log?: (msg: string) => void) {
    this.log = log;
  }

  /** SUBSCRIBE (new or renewal). `initial` gives the values for the initial event. */
  subscribe(
    eventPath: string,
    h: http.IncomingHttpHeaders,
    subscriberAddress: string,
    initial: () => Record<string, string>,
  ): GenaReply {
    this.expire();
    const sid = h['sid'] as string | undefined;
    const timeout = grantedTimeout(h['timeout'] as string | undefined);
    if (sid) {
      if (h['nt'] || h['callback']) return { status: 400 };
      const sub = this.subs.get(sid);
      if (!sub || sub.eventPath !== eventPath) return { status: 412 };
      sub.expires = Date.now() + timeout * 1000;
      return { status: 200, headers: { SID: sid, TIMEOUT: `Second-${timeout}` } };
    }
    if (h['nt'] !== 'upnp:event') return { status: 412 };
    const callbacks = callbackUrls(h['callback'] as string | undefined, subscriberAddress);
    if (!callbacks.length) return { status: 412 };
    const sub: Subscription = {
      sid: `uuid:${randomUUID()}`,
      eventPath,
      callbacks,
      expires: Date.now() + timeout * 1000,
      seq: 0,
      chain: Promise.resolve(),
    };
    this.subs.set(sub.sid, sub);
    // The initial event follows the SUBSCRIBE response.
    setImmediate(() => this.send(sub, initial()));
    return { status: 200, headers: { SID: sub.sid, TIMEOUT: `Second-${timeout}` } };
  }

  unsubscribe(eventPath: string, h: http.IncomingHttpHeaders): GenaReply {
    const sid = h['sid'] as string | undefined;
    if (!sid) return { status: 412 };
    if (h['nt'] || h['callback']) return { status: 400 };
    const sub = this.subs.get(sid);
    if (!sub || sub.eventPath !== eventPath) return { status: 412 };
    this.subs.delete(sid);
    return { status: 200 };
  }

  /** Sends an event with the given values to every subscriber of the service. */
  publish(eventPath: string, values: Record<string, string>): void {
    this.expire();
    for (const sub of this.subs.values()) if (sub.eventPath === eventPath) this.send(sub, values);
  }

  /** Drops subscriptions of services that no longer exist. */
  retain(isLive: (eventPath: string) => boolean): void {
    for (const [sid, sub] of this.subs) if (!isLive(sub.eventPath)) this.subs.delete(sid);
  }

  count(): number {
    return this.subs.size;
  }

  private expire(): void {
    const now = Date.now();
    for (const [sid, sub] of this.subs) if (sub.expires <= now) this.subs.delete(sid);
  }

  private send(sub: Subscription, values: Record<string, string>): void {
    const seq = sub.seq;
    sub.seq = sub.seq >= 0xffffffff ? 1 : sub.seq + 1;
    const body = propertySet(values);
    sub.chain = sub.chain.then(() => this.deliver(sub, seq, body));
  }

  /** Tries the callback URLs in order until one accepts (UDA: no retries beyond that). */
  private async deliver(sub: Subscription, seq: number, body: string): Promise<void> {
    for (const url of sub.callbacks) {
      const ok = await new Promise<boolean>((resolve) => {
        const req = http.request(
          url,
          {
            method: 'NOTIFY',
            timeout: 5000,
            headers: {
              HOST: url.host,
              'CONTENT-TYPE': 'text/xml; charset="utf-8"',
              NT: 'upnp:event',
              NTS: 'upnp:propchange',
              SID: sub.sid,
              SEQ: String(seq),
              'CONTENT-LENGTH': String(Buffer.byteLength(body)),
              SERVER: SERVER_HEADER,
            },
          },
          (res) => {
            res.resume();
            resolve((res.statusCode ?? 500) < 300);
          },
        );
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
        req.end(body);
      });
      if (ok) return;
    }
    this.log?.(`event ${seq} for ${sub.sid} not delivered`);
  }
}
