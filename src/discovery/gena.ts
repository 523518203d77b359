// GENA eventing (UDA 1.1 §4): the subscription table of a device server and the event
// messages it sends (initial event with SEQ 0, then one per change).
//
// Anyone on the management network can subscribe, so the table and the work it causes are
// bounded: a cap on subscriptions per server and per subscriber address (503 beyond), expiry
// through a min-heap of expiry times (O(log n) per subscription, no scans), an index by event
// URL (a change costs its own subscribers only), and event delivery through a limiter (few
// NOTIFYs at once, each with a deadline, a short queue per subscription; beyond it events are
// dropped and the subscriber sees the gap in SEQ). Callbacks are http URLs on the subscriber's
// own address inside the management network; a redirect counts as a failed delivery.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { SERVER_HEADER } from './ssdp-messages.ts';
import { xmlEscape as e } from './xml.ts';
import { MinHeap } from './min-heap.ts';
import { QueueFull, TaskLimiter } from './limits.ts';
import { checkUrl, type UrlPolicy } from './url-policy.ts';

export const MAX_SUBSCRIPTION_SECONDS = 1800;
const MIN_SUBSCRIPTION_SECONDS = 60;

export const GENA_LIMITS = {
  /** Subscriptions one server holds. */
  maxSubscriptions: 1024,
  /** Subscriptions of one subscriber address. */
  maxPerSubscriber: 64,
  /** Callback URLs kept per subscription, and the CALLBACK header's length. */
  maxCallbacks: 4,
  maxCallbackHeader: 1024,
  /** NOTIFY requests in flight at once, and waiting. */
  deliveryConcurrency: 16,
  deliveryQueue: 4096,
  /** Events of one subscription not yet delivered; beyond that new ones are dropped. */
  maxPendingPerSubscription: 8,
  /** One delivery attempt, connecting to reading the status. */
  deliveryDeadlineMs: 5000,
};

interface Subscription {
  sid: string;
  /** Event URL (path) of the service the subscription is for. */
  eventPath: string;
  subscriber: string;
  callbacks: URL[];
  expires: number;
  seq: number;
  /** Events queued or being delivered. */
  pending: number;
  /** Events of one subscription go out in order. */
  chain: Promise<void>;
}

/** Sends one NOTIFY; true when the subscriber accepted it (2xx). Injectable for tests. */
export type Notifier = (url: URL, headers: Record<string, string>, body: string, deadlineMs: number) => Promise<boolean>;

export function propertySet(values: Record<string, string>): string {
  const props = Object.entries(values).map(([k, v]) => `<e:property><${k}>${e(v)}</${k}></e:property>`).join('');
  return `<?xml version="1.0" encoding="utf-8"?>\n<e:propertyset xmlns:e="urn:schemas-upnp-org:event-1-0">${props}</e:propertyset>\n`;
}

/** `Second-N` / `infinite` → seconds, clamped to what the device grants. */
export function grantedTimeout(header: string | undefined): number {
  const m = /^Second-(\d{1,10})$/i.exec((header ?? '').trim());
  const asked = m ? Number(m[1]) : MAX_SUBSCRIPTION_SECONDS;
  return Math.min(MAX_SUBSCRIPTION_SECONDS, Math.max(MIN_SUBSCRIPTION_SECONDS, asked));
}

/**
 * CALLBACK header `<url1><url2>` → the http URLs pointing back at the subscriber itself, inside
 * the management network (at most GENA_LIMITS.maxCallbacks; none for an oversized header).
 */
export function callbackUrls(header: string | undefined, subscriberAddress: string, policy: UrlPolicy): URL[] {
  const out: URL[] = [];
  if (!header || header.length > GENA_LIMITS.maxCallbackHeader) return out;
  for (const m of header.matchAll(/<([^<>]+)>/g)) {
    try {
      // Events only go back to the host that subscribed: no use of the device as a relay.
      out.push(checkUrl(m[1]!, { policy, sameHostAs: subscriberAddress, what: 'CALLBACK' }));
    } catch {
      // refused URLs are left out
    }
    if (out.length >= GENA_LIMITS.maxCallbacks) break;
  }
  return out;
}

export type GenaReply = { status: number; headers?: Record<string, string> };

/** The real NOTIFY: a fresh connection (no pooling with strangers), status read, body ignored. */
export const httpNotify: Notifier = (url, headers, body, deadlineMs) =>
  new Promise<boolean>((resolve) => {
    const req = http.request(url, { method: 'NOTIFY', agent: false, timeout: deadlineMs, headers }, (res) => {
      // 2xx only: a redirect is not followed, and the answer's body is of no interest.
      resolve((res.statusCode ?? 500) >= 200 && (res.statusCode ?? 500) < 300);
      res.destroy();
    });
    const deadline = setTimeout(() => req.destroy(), deadlineMs);
    req.on('close', () => {
      clearTimeout(deadline);
      resolve(false);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end(body);
  });

export interface SubscriptionsOptions {
  /** The network callbacks must point into (the server's management network). */
  policy: UrlPolicy;
  log?: (msg: string) => void;
  notify?: Notifier;
  now?: () => number;
}

export class Subscriptions {
  private readonly subs = new Map<string, Subscription>();
  private readonly byPath = new Map<string, Set<Subscription>>();
  private readonly perSubscriber = new Map<string, number>();
  /** Expiry times (possibly stale: a renewal pushes a new entry; stale ones are skipped). */
  private readonly expiries = new MinHeap<{ at: number; sid: string }>((a, b) => a.at < b.at);
  private readonly deliveries = new TaskLimiter(GENA_LIMITS.deliveryConcurrency, GENA_LIMITS.deliveryQueue);
  private readonly opts: SubscriptionsOptions;
  private readonly now: () => number;
  private readonly notify: Notifier;

  constructor(opts: SubscriptionsOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.notify = opts.notify ?? httpNotify;
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
      this.setExpiry(sub, timeout);
      return { status: 200, headers: { SID: sid, TIMEOUT: `Second-${timeout}` } };
    }
    if (h['nt'] !== 'upnp:event') return { status: 412 };
    const callbacks = callbackUrls(h['callback'] as string | undefined, subscriberAddress, this.opts.policy);
    if (!callbacks.length) return { status: 412 };
    // UDA: a publisher out of resources for a subscription answers 5xx.
    if (this.subs.size >= GENA_LIMITS.maxSubscriptions) return { status: 503 };
    if ((this.perSubscriber.get(subscriberAddress) ?? 0) >= GENA_LIMITS.maxPerSubscriber) return { status: 503 };
    const sub: Subscription = {
      sid: `uuid:${randomUUID()}`, eventPath, subscriber: subscriberAddress, callbacks,
      expires: 0, seq: 0, pending: 0, chain: Promise.resolve(),
    };
    this.add(sub);
    this.setExpiry(sub, timeout);
    // The initial event follows the SUBSCRIBE response.
    setImmediate(() => this.subs.has(sub.sid) && this.send(sub, initial()));
    return { status: 200, headers: { SID: sub.sid, TIMEOUT: `Second-${timeout}` } };
  }

  unsubscribe(eventPath: string, h: http.IncomingHttpHeaders): GenaReply {
    const sid = h['sid'] as string | undefined;
    if (!sid) return { status: 412 };
    if (h['nt'] || h['callback']) return { status: 400 };
    const sub = this.subs.get(sid);
    if (!sub || sub.eventPath !== eventPath) return { status: 412 };
    this.remove(sub);
    return { status: 200 };
  }

  /** Sends an event with the given values to every subscriber of the service. */
  publish(eventPath: string, values: Record<string, string>): void {
    this.expire();
    for (const sub of this.byPath.get(eventPath) ?? []) this.send(sub, values);
  }

  /** Drops subscriptions of services that no longer exist. */
  retain(isLive: (eventPath: string) => boolean): void {
    for (const [path, set] of this.byPath) if (!isLive(path)) for (const sub of [...set]) this.remove(sub);
  }

  count(): number {
    this.expire();
    return this.subs.size;
  }

  private add(sub: Subscription): void {
    this.subs.set(sub.sid, sub);
    let set = this.byPath.get(sub.eventPath);
    if (!set) this.byPath.set(sub.eventPath, (set = new Set()));
    set.add(sub);
    this.perSubscriber.set(sub.subscriber, (this.perSubscriber.get(sub.subscriber) ?? 0) + 1);
  }

  private remove(sub: Subscription): void {
    if (!this.subs.delete(sub.sid)) return;
    const set = this.byPath.get(sub.eventPath);
    set?.delete(sub);
    if (set && set.size === 0) this.byPath.delete(sub.eventPath);
    const n = (this.perSubscriber.get(sub.subscriber) ?? 1) - 1;
    if (n > 0) this.perSubscriber.set(sub.subscriber, n);
    else this.perSubscriber.delete(sub.subscriber);
  }

  private setExpiry(sub: Subscription, seconds: number): void {
    sub.expires = this.now() + seconds * 1000;
    this.expiries.push({ at: sub.expires, sid: sub.sid });
    // Renewals leave stale entries behind: rebuild when they outnumber the live ones (amortised O(1)).
    if (this.expiries.size > 2 * this.subs.size + 64) {
      this.expiries.reset([...this.subs.values()].map((s) => ({ at: s.expires, sid: s.sid })));
    }
  }

  /** Removes what has expired: only heap entries that are due are looked at. */
  private expire(): void {
    const now = this.now();
    for (let top = this.expiries.peek(); top && top.at <= now; top = this.expiries.peek()) {
      this.expiries.pop();
      const sub = this.subs.get(top.sid);
      if (sub && sub.expires <= now) this.remove(sub);
    }
  }

  private send(sub: Subscription, values: Record<string, string>): void {
    const seq = sub.seq;
    sub.seq = sub.seq >= 0xffffffff ? 1 : sub.seq + 1;
    if (sub.pending >= GENA_LIMITS.maxPendingPerSubscription) {
      this.opts.log?.(`event ${seq} for ${sub.sid} dropped: the subscriber is not keeping up`);
      return;
    }
    sub.pending++;
    const body = propertySet(values);
    sub.chain = sub.chain
      .then(() => this.deliveries.run(() => this.deliver(sub, seq, body)))
      .catch((err: unknown) => {
        if (err instanceof QueueFull) this.opts.log?.(`event ${seq} for ${sub.sid} dropped: too many events waiting`);
      })
      .finally(() => sub.pending--);
  }

  /** Tries the callback URLs in order until one accepts (UDA: no retries beyond that). */
  private async deliver(sub: Subscription, seq: number, body: string): Promise<void> {
    for (const url of sub.callbacks) {
      if (!this.subs.has(sub.sid)) return; // unsubscribed or expired meanwhile
      const headers = {
        HOST: url.host,
        'CONTENT-TYPE': 'text/xml; charset="utf-8"',
        NT: 'upnp:event',
        NTS: 'upnp:propchange',
        SID: sub.sid,
        SEQ: String(seq),
        'CONTENT-LENGTH': String(Buffer.byteLength(body)),
        SERVER: SERVER_HEADER,
      };
      if (await this.notify(url, headers, body, GENA_LIMITS.deliveryDeadlineMs)) return;
    }
    this.opts.log?.(`event ${seq} for ${sub.sid} not delivered`);
  }
}
