// SSDP on one management interface (UDA 1.1 §1): multicast only there (membership and
// outgoing interface set to its address, TTL 2), alive/byebye announcements, periodic
// re-announcement before max-age expires, and delayed unicast answers to M-SEARCH.
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
  /** Sends one datagram (default: on the socket); tests stub it. */
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
    this.sock = await openSsdpSocket(this.opts.iface);
    this.sock.on('message', (buf, rinfo) => this.receive(buf, rinfo));
    this.sock.on('error', (err) => this.opts.log?.(`ssdp socket error: ${err.message}`));
  }

  /**
   * Sets (or replaces) the announced tree. The first call sends the initial alive set; later
   * calls say byebye for adverts that went away (a VM undeployed) and re-announce the whole
   * set with the new CONFIGID.
   */
  async setDevice(root: DeviceModel, location: string, configId: number): Promise<void> {
    const next = advertSet(root);
    const first = !this.headers;
    const gone = this.adverts.filter((a) => !next.some((n) => n.usn === a.usn));
    const old = this.headers;
    if (next.length !== this.adverts.length) this.answers = answerBuckets(next.length, this.opts.now ?? Date.now);
    this.adverts = next;
    this.headers = { location, maxAge: this.opts.maxAge, bootId: this.opts.bootId, configId };
    if (first) await sleep(Math.random() * 100);
    if (old && gone.length) await this.announce(gone.map((a) => formatByebye(a, old)));
    if (first || gone.length || old?.configId !== configId || old?.location !== location) {
      await this.announceAlive();
    }
    this.schedule();
  }

  /** One round of alive messages for the whole set, repeated (copies spaced 200 ms). */
  private async announceAlive(): Promise<void> {
    const h = this.headers!;
    const msgs = this.adverts.map((a) => formatAlive(a, h));
    const repeats = this.opts.repeats ?? 2;
    for (let i = 0; i < repeats && !this.stopped; i++) {
      if (i > 0) await sleep(200);
      await this.announce(msgs);
    }
  }

  /**
   * Re-announce (one round: only the initial announcement is repeated) at a random point below
   * half of max-age (UDA 1.1 §1.2.2).
   */
  private schedule(): void {
    clearTimeout(this.timer);
    const ms = this.opts.maxAge * 1000 * (0.3 + 0.15 * Math.random());
    this.timer = setTimeout(() => {
      const h = this.headers!;
      void this.announce(this.adverts.map((a) => formatAlive(a, h))).then(() => this.schedule());
    }, ms);
    this.timer.unref();
  }

  private async announce(msgs: string[]): Promise<void> {
    for (const m of msgs) {
      if (!(await this.send(m, SSDP_PORT, SSDP_GROUP))) return;
      this.sent.packets++;
      this.sent.bytes += Buffer.byteLength(m);
    }
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
      })();
    }, delay);
    t.unref();
  }

  /** Byebye for everything (twice, for UDP loss), then close. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.timer);
    if (this.headers && this.sock) {
      const msgs = this.adverts.map((a) => formatByebye(a, this.headers!));
      await this.announce(msgs);
      await sleep(100);
      await this.announce(msgs);
    }
    this.stopped = true;
    await new Promise<void>((r) => (this.sock ? this.sock.close(() => r()) : r()));
    this.sock = undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
