// The control point behind `ediv discover`: searches (M-SEARCH) and listens (NOTIFY) on one
// interface, fetches each root device's description once per CONFIGID/BOOTID, and merges
// hypervisor trees with VM self-advertisements (by UDN) into one hypervisor → VM → services
// tree. Entries expire on max-age and go on byebye.
//
// Everything it reads comes from whoever is on the management network, so:
// - a LOCATION must be an http URL on the IPv4 address the datagram came from, inside the
//   interface's subnet; every URL of the description must be on that same host
//   (remote-description.ts); the HTTP client re-checks each URL and follows no redirect;
// - a byebye counts only from the host that serves the LOCATION it would drop;
// - the number of roots (overall and per source address), of description fetches at once and
//   of SCPDs per description are bounded;
// - with the lab's record (the controller's state) each hypervisor and VM is marked verified
//   or not (identity.ts); unverified entries are shown, never trusted over verified ones.
import { EventEmitter } from 'node:events';
import type dgram from 'node:dgram';
import { DEVICE_HYPERVISOR, DEVICE_VM, SSDP_GROUP, SSDP_PORT, DEFAULT_MAX_AGE } from './types.ts';
import type { InterfaceAddress } from './netif.ts';
import { openSsdpSocket, sendTo, sleep } from './ssdp.ts';
import { formatMSearch, maxAgeOf, parseSsdp } from './ssdp-messages.ts';
import type { SsdpMessage } from './ssdp-messages.ts';
import { udnOfUsn } from './udn.ts';
import { httpGetText } from './http-client.ts';
import type { RemoteAction, RemoteDevice, RemoteService } from './remote-description.ts';
import { MAX_DESCRIPTION_BYTES, MAX_SCPD_BYTES, parseDescription, parseScpd } from './remote-description.ts';
import { checkUrl, subnetPolicy, type UrlPolicy } from './url-policy.ts';
import { QueueFull, TaskLimiter } from './limits.ts';
import { hypervisorVerified, vmVerified, type LabRecord } from './identity.ts';

export interface TreeService {
  serviceType: string;
  serviceId: string;
  /** Who offers it: the hypervisor (VM management) or the VM's own advertiser. */
  source: 'hypervisor' | 'vm';
  controlUrl: string;
  eventUrl: string;
  scpdUrl: string;
  actions?: RemoteAction[];
}

export interface TreeVm {
  udn: string;
  name?: string;
  /** The deployment's key on the hosts (ediv:deployment): with the name, the VM's identity. */
  deployment?: string;
  /** The lab's name people know (ediv:lab; else the key, as for labs deployed before keys). */
  lab?: string;
  host?: string;
  friendlyName: string;
  /** The VM runs its own advertiser (its services are merged in). */
  selfAdvertised: boolean;
  /** Embedded in a verified hypervisor that the lab's record says runs this VM (identity.ts). */
  verified: boolean;
  services: TreeService[];
}

export interface TreeHypervisor {
  udn: string;
  host?: string;
  friendlyName: string;
  location: string;
  bootId?: number;
  configId?: number;
  /** Served from the management address the lab's record gives this host. */
  verified: boolean;
  vms: TreeVm[];
}

export interface DiscoveryTree {
  hypervisors: TreeHypervisor[];
  /** VMs that announce themselves but whose hypervisor was not (yet) seen. */
  vms: TreeVm[];
}

interface RootRecord {
  location: string;
  /** The LOCATION's host: the only source of announcements and byebyes for this root. */
  host: string;
  expires: number;
  bootId?: number;
  configId?: number;
  /** The CONFIGID/BOOTID the held description belongs to. */
  fetchedFor?: string;
  desc?: RemoteDevice;
  fetching?: Promise<void>;
  /** Embedded devices that said byebye since the description was fetched. */
  gone: Set<string>;
}

/** Fetches a document (a description or an SCPD) of at most maxBytes; tests stub it. */
export type TextFetcher = (url: string, maxBytes: number) => Promise<string>;

export interface ControlPointOptions {
  iface: InterfaceAddress;
  /** MX of the searches (1..5). */
  mx?: number;
  /** Fetch SCPDs to list actions (cached by URL). */
  actions?: boolean;
  /** The lab's record, when known (on the controller): hypervisors and VMs are verified against it. */
  record?: LabRecord;
  log?: (msg: string) => void;
  fetchText?: TextFetcher;
}

export const CONTROL_POINT_LIMITS = {
  /** Root devices tracked at once, and per source address. */
  maxRoots: 1024,
  maxRootsPerSource: 16,
  /** Description or SCPD fetches at once, and waiting. */
  fetchConcurrency: 8,
  fetchQueue: 2048,
  /** Distinct SCPD URLs fetched for one description. */
  maxScpdsPerDescription: 64,
  fetchTimeoutMs: 10_000,
  /** Distinct refusals logged (each once). */
  maxLoggedRefusals: 256,
};

const isType = (t: string, base: string) => t.startsWith(base.replace(/\d+$/, ''));
const configKey = (rec: RootRecord) => `${rec.bootId ?? ''}/${rec.configId ?? ''}`;

export class ControlPoint extends EventEmitter {
  private readonly opts: ControlPointOptions;
  readonly policy: UrlPolicy;
  private listen?: dgram.Socket;
  private search?: dgram.Socket;
  private readonly roots = new Map<string, RootRecord>();
  /** UDN (root or embedded) → LOCATIONs of the roots naming it, for byebye. */
  private readonly udnLocations = new Map<string, Set<string>>();
  private readonly scpds = new Map<string, Promise<RemoteAction[]>>();
  private readonly scpdDone = new Map<string, RemoteAction[]>();
  private readonly fetches = new TaskLimiter(CONTROL_POINT_LIMITS.fetchConcurrency, CONTROL_POINT_LIMITS.fetchQueue);
  private readonly fetchText: TextFetcher;
  private readonly logged = new Set<string>();
  private expiry?: NodeJS.Timeout;
  private changeTimer?: NodeJS.Timeout;
  /** Messages seen (for the benchmark). */
  readonly seen = { notify: 0, response: 0, fetches: 0 };

  constructor(opts: ControlPointOptions) {
    super();
    this.opts = opts;
    this.policy = subnetPolicy(opts.iface);
    this.fetchText = opts.fetchText ?? ((url, maxBytes) => httpGetText(url, { maxBytes, policy: this.policy, timeoutMs: CONTROL_POINT_LIMITS.fetchTimeoutMs }));
  }

  async start(): Promise<void> {
    this.listen = await openSsdpSocket(this.opts.iface);
    this.search = await openSsdpSocket(this.opts.iface, 0);
    for (const s of [this.listen, this.search]) {
      try {
        s.setRecvBufferSize(4 * 1024 * 1024);
      } catch {
        // capped by the kernel; fine
      }
      s.on('message', (buf, rinfo) => this.receive(buf, rinfo));
      s.on('error', (err) => this.opts.log?.(`ssdp: ${err.message}`));
    }
    this.expiry = setInterval(() => this.expire(), 1000);
    this.expiry.unref();
  }

  /** Sends M-SEARCH for `st`, twice (UDP may drop one). */
  async searchFor(st = 'upnp:rootdevice'): Promise<void> {
    const msg = formatMSearch(st, this.opts.mx ?? 1);
    for (let i = 0; i < 2 && this.search; i++) {
      if (i) await sleep(100);
      await sendTo(this.search, msg, SSDP_PORT, SSDP_GROUP);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.expiry);
    clearTimeout(this.changeTimer);
    for (const s of [this.listen, this.search]) await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
    this.listen = this.search = undefined;
  }

  /** One SSDP datagram (NOTIFY or search response) from `rinfo`. */
  receive(buf: Buffer, rinfo: Pick<dgram.RemoteInfo, 'address'>): void {
    if (!this.policy.allows(rinfo.address)) return;
    const msg = parseSsdp(buf);
    if (!msg || msg.kind === 'search') return;
    if (msg.kind === 'notify') this.seen.notify++;
    else this.seen.response++;
    const nts = msg.headers['nts'];
    if (msg.kind === 'notify' && nts === 'ssdp:byebye') return this.onByebye(msg, rinfo.address);
    if (msg.kind === 'notify' && nts !== 'ssdp:alive') return;
    this.onAlive(msg, rinfo.address);
  }

  /** Logs a refusal once per distinct text (a flood of the same lie is one line). */
  private refuse(message: string): void {
    if (this.logged.has(message) || this.logged.size >= CONTROL_POINT_LIMITS.maxLoggedRefusals) return;
    this.logged.add(message);
    this.opts.log?.(message);
  }

  /** The LOCATION's host when the announcement may be followed; else undefined (refusal logged). */
  private acceptedLocation(location: string, from: string): string | undefined {
    try {
      const host = checkUrl(location, { policy: this.policy, what: 'LOCATION' }).hostname;
      // ediv's daemons announce from the address they serve on: a LOCATION pointing at another
      // host would make this control point fetch from wherever a stranger chooses.
      if (host !== from) throw new Error(`LOCATION ${location} announced by ${from} refused: it names another host`);
      return host;
    } catch (err) {
      this.refuse((err as Error).message);
      return undefined;
    }
  }

  /** Room for one more root from `host` (bounded overall and per source). */
  private roomFor(host: string): boolean {
    if (this.roots.size >= CONTROL_POINT_LIMITS.maxRoots) return false;
    let n = 0;
    for (const r of this.roots.values()) if (r.host === host && ++n >= CONTROL_POINT_LIMITS.maxRootsPerSource) return false;
    return true;
  }

  private onAlive(msg: SsdpMessage, from: string): void {
    const location = msg.headers['location'];
    const usn = msg.headers['usn'];
    if (!location || !usn) return;
    const host = this.acceptedLocation(location, from);
    if (!host) return;
    const maxAge = maxAgeOf(msg.headers) ?? DEFAULT_MAX_AGE;
    let rec = this.roots.get(location);
    if (!rec) {
      if (!this.roomFor(host)) return this.refuse(`too many root devices announced (from ${from}): ${location} ignored`);
      rec = { location, host, expires: 0, gone: new Set() };
      this.roots.set(location, rec);
    }
    rec.expires = Math.max(rec.expires, Date.now() + Math.min(maxAge, 86400) * 1000);
    const num = (h: string | undefined) => (h !== undefined && /^\d{1,10}$/.test(h) ? Number(h) : undefined);
    const bootId = num(msg.headers['bootid.upnp.org']);
    const configId = num(msg.headers['configid.upnp.org']);
    if (bootId !== undefined) rec.bootId = bootId;
    if (configId !== undefined) rec.configId = configId;
    this.link(udnOfUsn(usn), location);
    if (rec.fetchedFor !== configKey(rec) && !rec.fetching) void this.fetch(rec, configKey(rec));
  }

  private link(udn: string, location: string): void {
    let set = this.udnLocations.get(udn);
    if (!set) this.udnLocations.set(udn, (set = new Set()));
    set.add(location);
  }

  private onByebye(msg: SsdpMessage, from: string): void {
    const usn = msg.headers['usn'];
    if (!usn) return;
    const udn = udnOfUsn(usn);
    for (const location of [...(this.udnLocations.get(udn) ?? [])]) {
      const rec = this.roots.get(location);
      // Only the host serving a root may take it (or its VMs) away.
      if (!rec || rec.host !== from) continue;
      if (msg.headers['nt'] === 'upnp:rootdevice' || rec.desc?.udn === udn) {
        this.dropRoot(rec);
      } else if (!rec.gone.has(udn)) {
        rec.gone.add(udn);
        this.changed();
      }
    }
  }

  private dropRoot(rec: RootRecord): void {
    this.roots.delete(rec.location);
    for (const [udn, locs] of this.udnLocations) {
      locs.delete(rec.location);
      if (locs.size === 0) this.udnLocations.delete(udn);
    }
    this.changed();
  }

  private expire(): void {
    const now = Date.now();
    for (const rec of [...this.roots.values()]) if (rec.expires <= now) this.dropRoot(rec);
  }

  private fetch(rec: RootRecord, key: string): Promise<void> {
    rec.fetching = (async () => {
      try {
        this.seen.fetches++;
        const xml = await this.fetches.run(() => this.fetchText(rec.location, MAX_DESCRIPTION_BYTES));
        const desc = parseDescription(xml, rec.location);
        if (this.opts.actions !== false) await this.fetchScpds(desc);
        if (this.roots.get(rec.location) !== rec) return; // dropped meanwhile
        rec.desc = desc;
        rec.fetchedFor = key;
        rec.gone.clear();
        const walk = (d: RemoteDevice) => {
          this.link(d.udn, rec.location);
          d.devices.forEach(walk);
        };
        walk(desc);
        this.changed();
      } catch (err) {
        if (!(err instanceof QueueFull)) this.refuse(`${rec.location}: ${(err as Error).message}`);
      } finally {
        rec.fetching = undefined;
        // Announcements that came during the fetch may name a newer configuration.
        const now = configKey(rec);
        if (this.roots.get(rec.location) === rec && rec.fetchedFor !== undefined && rec.fetchedFor !== now) void this.fetch(rec, now);
      }
    })();
    return rec.fetching;
  }

  /** SCPDs of the tree's services, each URL once (VMs of a hypervisor share one), a bounded number. */
  private async fetchScpds(desc: RemoteDevice): Promise<void> {
    const urls = new Set<string>();
    const walk = (d: RemoteDevice) => {
      d.services.forEach((s) => s.scpdUrl && urls.size < CONTROL_POINT_LIMITS.maxScpdsPerDescription && urls.add(s.scpdUrl));
      d.devices.forEach(walk);
    };
    walk(desc);
    await Promise.all(
      [...urls].map((url) => {
        let p = this.scpds.get(url);
        if (!p) {
          p = this.fetches.run(() => this.fetchText(url, MAX_SCPD_BYTES)).then(parseScpd);
          p.then((a) => this.scpdDone.set(url, a), () => this.scpds.delete(url));
          this.scpds.set(url, p);
        }
        return p.catch(() => []);
      }),
    );
  }

  /** Coalesces bursts of changes into one 'change' event. */
  private changed(): void {
    if (this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = undefined;
      this.emit('change');
    }, 20);
  }

  /** Whether any description is still being fetched. */
  busy(): boolean {
    return [...this.roots.values()].some((r) => r.fetching);
  }

  tree(): DiscoveryTree {
    const hypervisors: TreeHypervisor[] = [];
    const selfAds = new Map<string, { rec: RootRecord; dev: RemoteDevice }>();
    for (const rec of this.roots.values()) {
      if (rec.desc && isType(rec.desc.deviceType, DEVICE_VM)) selfAds.set(rec.desc.udn, { rec, dev: rec.desc });
    }
    const merged = new Set<string>();
    for (const rec of this.roots.values()) {
      const d = rec.desc;
      if (!d || !isType(d.deviceType, DEVICE_HYPERVISOR)) continue;
      const host = d.vendor['host'];
      const hvVerified = hypervisorVerified(this.opts.record, host, rec.host);
      const vms = d.devices
        .filter((v) => isType(v.deviceType, DEVICE_VM) && !rec.gone.has(v.udn))
        .map((v) => {
          const vm = this.treeVm(v, 'hypervisor', host);
          vm.verified = hvVerified && vmVerified(this.opts.record, vm, host, rec.host);
          const self = selfAds.get(v.udn);
          if (self) {
            merged.add(v.udn);
            vm.selfAdvertised = true;
            vm.services.push(...self.dev.services.map((s) => this.treeService(s, 'vm')));
          }
          return vm;
        })
        .sort(byVm);
      hypervisors.push({
        udn: d.udn, host, friendlyName: d.friendlyName, location: rec.location,
        bootId: rec.bootId, configId: rec.configId, verified: hvVerified, vms,
      });
    }
    hypervisors.sort((a, b) => (a.host ?? a.friendlyName).localeCompare(b.host ?? b.friendlyName) || Number(b.verified) - Number(a.verified));
    const vms = [...selfAds.values()]
      .filter((s) => !merged.has(s.dev.udn))
      .map((s) => {
        const vm = this.treeVm(s.dev, 'vm', s.dev.vendor['host']);
        vm.selfAdvertised = true;
        return vm;
      })
      .sort(byVm);
    return { hypervisors, vms };
  }

  private treeVm(d: RemoteDevice, source: TreeService['source'], host?: string): TreeVm {
    return {
      udn: d.udn, name: d.vendor['vm'], deployment: d.vendor['deployment'], lab: d.vendor['lab'] ?? d.vendor['deployment'],
      host: host ?? d.vendor['host'],
      friendlyName: d.friendlyName, selfAdvertised: false, verified: false,
      services: d.services.map((s) => this.treeService(s, source)),
    };
  }

  private treeService(s: RemoteService, source: TreeService['source']): TreeService {
    const actions = this.scpdDone.get(s.scpdUrl);
    return { ...s, source, ...(actions ? { actions } : {}) };
  }

  /** Resolves when pred(tree) holds (checked on every change) or after timeoutMs. */
  waitFor(pred: (t: DiscoveryTree) => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (!pred(this.tree())) return;
        cleanup();
        resolve(true);
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(pred(this.tree()));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('change', check);
      };
      this.on('change', check);
      check();
    });
  }
}

/** By lab/vm as people read them, then by key (two labs of one name), verified first. */
function byVm(a: TreeVm, b: TreeVm): number {
  const shown = (v: TreeVm) => `${v.lab ?? ''}/${v.name ?? v.friendlyName}`;
  return shown(a).localeCompare(shown(b)) || (a.deployment ?? '').localeCompare(b.deployment ?? '') || Number(b.verified) - Number(a.verified);
}
