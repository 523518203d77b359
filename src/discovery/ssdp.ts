// SSDP on one management interface (UDA 1.1 §1): multicast only there (membership and
// outgoing interface set to its address, TTL 2), alive/byebye announcements, periodic
// re-announcement before max-age expires, and delayed unicast answers to M-SEARCH.
//
// Announcements run in the background: setDevice changes the advert set at once (searches see
// it) and queues its byebye and alive rounds on one chain, so rounds never interleave and go out
// in the order of the calls. A round is sent in bursts of SEND_BURST datagrams (a thousand VMs
// are 3 003 adverts a copy), never more than that many in flight on the socket.
//
// An M-SEARCH of a few bytes (`ssdp:all`) makes a hypervisor with d VMs answer 3 + 3d
// datagrams, to an address the searcher chooses (it may be spoofed): answers are rate-limited
// per source address and overall, in datagrams. Each source may have about two full answers
// at once and gets about one per ANSWER_REFILL_SECONDS; all sources together about eight.
import dgram from 'node:dgram';
import type { DeviceModel } from './types.ts';
import { SSDP_GROUP, SSDP_PORT } from './types.ts';
import type { InterfaceAddress } from './netif.ts';
import { inSubnet } from './netif.ts';
import type { Advert, AdvertHeaders } from './ssdp-messages.ts';
import {
  advertSet, formatAlive, formatByebye, formatSearchResponse, matchSearch, parseSsdp, searchDelayMs,
} from './ssdp-messages.ts';
import { KeyedBuckets, TokenBucket } from './limits.ts';

export const MULTICAST_TTL = 2;
/** Seconds in which a source's answer budget (about two full answers) refills. */
export const ANSWER_REFILL_SECONDS = 30;
/** Budgets never below this many datagrams (a small device still answers a few searches). */
const MIN_ANSWER_BUDGET = 64;
/** Announcement datagrams handed to the socket at once before their callbacks are awaited. */
export const SEND_BURST = 32;
/** Spacing of the copies of an alive round (UDA 1.1 §1.2.2: a few hundred ms apart). */
export const COPY_SPACING_MS = 200;
/** The initial announcement waits a random time up to this (UDA 1.1 §1.2.2). */
export const INITIAL_DELAY_MS = 100;

/** A UDP socket joined to the SSDP group on exactly one interface. */
export async function openSsdpSocket(iface: InterfaceAddress, port = SSDP_PORT): Promise<dgram.Socket> {
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    // Bound to the group address: the socket receives SSDP multicast but no unicast.
    sock.bind({ port, address: port === SSDP_PORT ? SSDP_GROUP : iface.address }, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  if (port === SSDP_PORT) sock.addMembership(SSDP_GROUP, iface.address);
  sock.setMulticastInterface(iface.address);
  sock.setMulticastTTL(MULTICAST_TTL);
  sock.setMulticastLoopback(true);
  return sock;
}

export function sendTo(sock: dgram.Socket, msg: string, port: number, address: string): Promise<void> {
  return new Promise((resolve) => sock.send(msg, port, address, () => resolve()));
}

export interface TrafficCounter {
  packets: number;
  bytes: number;
}

export interface AdvertiserOptions {
  iface: InterfaceAddress;
  maxAge: number;
  bootId: number;
  log?: (msg: string) => void;
  /** Copies of each announcement round (UDA: repeat a few times for UDP loss). */
  repeats?: number;
  /**
   * Sends one datagram (default: on the socket); tests and the benchmark stub it. With a stub,
   * start() opens no socket (nothing reaches the network): searches come in through receive().
   */
  send?: (msg: string, port: number, address: string) => Promise<void>;
  now?: () => number;
}

/** Answer budgets for an advert set of `size` datagrams: per source and overall. */
function answerBuckets(size: number, now: () => number): KeyedBuckets {
  const perSource = Math.max(MIN_ANSWER_BUDGET, 2 * size);
  const overall = Math.max(4 * MIN_ANSWER_BUDGET, 8 * size);
  return new KeyedBuckets({
    perKey: () => new TokenBucket(perSource, perSource / 2 / ANSWER_REFILL_SECONDS, now),
    overall: new TokenBucket(overall, overall / 2 / ANSWER_REFILL_SECONDS, now),
  });
}

export class SsdpAdvertiser {
  private sock?: dgram.Socket;
  private adverts: Advert[] = [];
  private headers?: AdvertHeaders;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** stop() was called: alive rounds end at their next burst, nothing new is queued. */
  private quitting = false;
  private stopping?: Promise<void>;
  /** The announcements queued so far, one after the other (never rejects: failures are logged). */
  private announcing: Promise<void> = Promise.resolve();
  /** Ends the pause of the round in progress (stop() does not wait out a copy spacing). */
  private wake?: () => void;
  private readonly opts: AdvertiserOptions;
  private answers: KeyedBuckets;
  /** Traffic sent, for the benchmark and logs. */
  readonly sent: TrafficCounter = { packets: 0, bytes: 0 };
  /** Searches not answered because a budget was spent. */
  refusedSearches = 0;

  constructor(opts: AdvertiserOptions) {
    this.opts = opts;
    this.answers = answerBuckets(0, opts.now ?? Date.now);
  }

  async start(): Promise<void> {
    if (this.opts.send) return; // stubbed: no socket
    this.sock = await openSsdpSocket(this.opts.iface);
    this.sock.on('message', (buf, rinfo) => this.receive(buf, rinfo));
    this.sock.on('error', (err) => this.opts.log?.(`ssdp socket error: ${err.message}`));
  }

  /**
   * Sets (or replaces) the announced tree, at once: searches are answered from it as soon as
   * this returns. The announcements are queued behind those of earlier calls and sent in the
   * background (announced() waits for them): the first call sends the initial alive set; later
   * calls say byebye for adverts that went away (a VM undeployed) and re-announce the whole set
   * with the new CONFIGID.
   */
  setDevice(root: DeviceModel, location: string, configId: number): void {
    const next = advertSet(root);
    const first = !this.headers;
    const nextUsns = new Set(next.map((n) => n.usn));
    const gone = this.adverts.filter((a) => !nextUsns.has(a.usn));
    const old = this.headers;
    if (next.length !== this.adverts.length) this.answers = answerBuckets(next.length, this.opts.now ?? Date.now);
    const headers: AdvertHeaders = { location, maxAge: this.opts.maxAge, bootId: this.opts.bootId, configId };
    this.adverts = next;
    this.headers = headers;
    if (this.quitting) return; // stop() says byebye for the set as it is now
    const realive = first || gone.length > 0 || old?.configId !== configId || old?.location !== location;
    if (!realive) return;
    this.enqueue(async () => {
      if (first) await this.pause(Math.random() * INITIAL_DELAY_MS);
      // Byebyes are never cut short: stop()'s byebye covers only the adverts still in the set.
      if (old && gone.length) await this.burst(gone.map((a) => formatByebye(a, old)), false);
      await this.aliveRound(next.map((a) => formatAlive(a, headers)), this.opts.repeats ?? 2);
    });
  }

  /** Resolves when the announcements queued so far have been sent (or given up); never rejects. */
  announced(): Promise<void> {
    return this.announcing;
  }

  /** Queues one announcement job after the others; its failure is logged and ends only it. */
  private enqueue(job: () => Promise<void>): void {
    this.announcing = this.announcing
      .then(async () => {
        await job(); // after stop(): its byebyes only (alive rounds and pauses end at once)
        if (!this.quitting) this.schedule();
      })
      .catch((err: unknown) => this.opts.log?.(`ssdp announcement failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Alive messages, `copies` times (spaced COPY_SPACING_MS); ends early on stop(). */
  private async aliveRound(msgs: string[], copies: number): Promise<void> {
    for (let i = 0; i < copies && !this.quitting; i++) {
      if (i > 0) await this.pause(COPY_SPACING_MS);
      await this.burst(msgs, true);
    }
  }

  /**
   * Re-announce (one round: only the initial announcement is repeated) at a random point below
   * half of max-age (UDA 1.1 §1.2.2), on the chain like any other round.
   */
  private schedule(): void {
    clearTimeout(this.timer);
    const ms = this.opts.maxAge * 1000 * (0.3 + 0.15 * Math.random());
    this.timer = setTimeout(() => {
      const h = this.headers!;
      const msgs = this.adverts.map((a) => formatAlive(a, h));
      this.enqueue(() => this.aliveRound(msgs, 1));
    }, ms);
    this.timer.unref();
  }

  /**
   * Sends msgs to the group SEND_BURST at a time: each burst's callbacks are awaited, then one
   * turn of the event loop, before the next. A datagram the kernel takes at once gets its
   * callback on process.nextTick, so without that turn a round of thousands would hold the loop
   * (no search, HTTP request or timer served meanwhile) and go out back to back: a receiver in
   * the same process, which reads 32 a turn, then got 4 % of them (bench/discovery.ts --stub).
   * An abortable run (an alive round) ends between bursts once stop() is called.
   */
  private async burst(msgs: string[], abortable: boolean): Promise<void> {
    for (let i = 0; i < msgs.length; i += SEND_BURST) {
      if (i > 0) await new Promise<void>((r) => setImmediate(r));
      if (abortable && this.quitting) return;
      // Settled, not all: a failed send must not let the next burst start beside the rest.
      const results = await Promise.allSettled(msgs.slice(i, i + SEND_BURST).map(async (m) => {
        const ok = await this.send(m, SSDP_PORT, SSDP_GROUP);
        if (ok) {
          this.sent.packets++;
          this.sent.bytes += Buffer.byteLength(m);
        }
        return ok;
      }));
      for (const r of results) if (r.status === 'rejected') throw r.reason;
      if (results.some((r) => r.status === 'fulfilled' && !r.value)) return; // no way to send
    }
  }

  /** Waits ms, or less when stop() is called meanwhile. */
  private pause(ms: number): Promise<void> {
    if (this.quitting) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** One datagram out (the stub's, or the socket's); false when there is no way to send. */
  private async send(msg: string, port: number, address: string): Promise<boolean> {
    if (this.opts.send) {
      await this.opts.send(msg, port, address);
      return true;
    }
    if (!this.sock) return false;
    await sendTo(this.sock, msg, port, address);
    return true;
  }

  /** One datagram received on the SSDP socket: an M-SEARCH is answered (within budget). */
  receive(buf: Buffer, rinfo: Pick<dgram.RemoteInfo, 'address' | 'port'>): void {
    if (this.stopped || !this.headers) return;
    if (!inSubnet(rinfo.address, this.opts.iface)) return; // only the management network
    const msg = parseSsdp(buf);
    if (!msg || msg.kind !== 'search') return;
    if ((msg.headers['man'] ?? '').replace(/"/g, '') !== 'ssdp:discover') return;
    const st = msg.headers['st'];
    const delay = searchDelayMs(msg.headers);
    if (!st || delay === undefined) return;
    const hits = matchSearch(this.adverts, st);
    if (!hits.length) return;
    // The budget is taken now, so answers waiting for their delay are bounded too.
    if (!this.answers.take(rinfo.address, hits.length)) {
      this.refusedSearches++;
      return;
    }
    const t = setTimeout(() => {
      const h = this.headers;
      if (!h || this.stopped) return;
      void (async () => {
        const date = new Date();
        for (const r of hits) if (!(await this.send(formatSearchResponse(r, h, date), rinfo.port, rinfo.address))) return;
      })().catch((err: unknown) => this.opts.log?.(`ssdp answer failed: ${err instanceof Error ? err.message : String(err)}`));
    }, delay);
    t.unref();
  }

  /**
   * Ends the alive round in progress (at its next burst), waits for the queued announcements,
   * says byebye for everything (twice, for UDP loss), then closes.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.quitting = true;
      clearTimeout(this.timer);
      this.wake?.();
      await this.announcing;
      if (this.headers && (this.sock || this.opts.send)) {
        const msgs = this.adverts.map((a) => formatByebye(a, this.headers!));
        try {
          await this.burst(msgs, false);
          await sleep(100);
          await this.burst(msgs, false);
        } catch (err) {
          this.opts.log?.(`ssdp byebye failed: ${err instanceof Error ? err.message : String(err)}`); // the socket is closed all the same
        }
      }
      this.stopped = true;
      await new Promise<void>((r) => (this.sock ? this.sock.close(() => r()) : r()));
      this.sock = undefined;
    })();
    return this.stopping;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
