// The control point behind `ediv discover`: searches (M-SEARCH) and listens (NOTIFY) on one
// interface, fetches each root device's description once per CONFIGID/BOOTID, and merges
// hypervisor trees with VM self-advertisements (by UDN) into one hypervisor → VM → services
// tree. Entries expire on max-age and go on byebye.
import { EventEmitter } from 'node:events';
import type dgram from 'node:dgram';
import { DEVICE_HYPERVISOR, DEVICE_VM, SSDP_GROUP, SSDP_PORT, DEFAULT_MAX_AGE } from './types.ts';
import type { InterfaceAddress } from './netif.ts';
import { inSubnet } from './netif.ts';
import { openSsdpSocket, sendTo, sleep } from './ssdp.ts';
import { formatMSearch, maxAgeOf, parseSsdp } from './ssdp-messages.ts';
import type { SsdpMessage } from './ssdp-messages.ts';
import { udnOfUsn } from './udn.ts';
import { httpGetText } from './http-client.ts';
import type { RemoteAction, RemoteDevice, RemoteService } from './remote-description.ts';
import { MAX_DESCRIPTION_BYTES, parseDescription, parseScpd } from './remote-description.ts';

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
  deployment?: string;
  host?: string;
  friendlyName: string;
  /** The VM runs its own advertiser (its services are merged in). */
  selfAdvertised: boolean;
  services: TreeService[];
}

export interface TreeHypervisor {
  udn: string;
  host?: string;
  friendlyName: string;
  location: string;
  bootId?: number;
  configId?: number;
  vms: TreeVm[];
}

export interface DiscoveryTree {
  hypervisors: TreeHypervisor[];
  /** VMs that announce themselves but whose hypervisor was not (yet) seen. */
  vms: TreeVm[];
}

interface RootRecord {
  location: string;
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

export interface ControlPointOptions {
  iface: InterfaceAddress;
  /** MX of the searches (1..5). */
  mx?: number;
  /** Fetch SCPDs to list actions (cached by URL). */
  actions?: boolean;
  log?: (msg: string) => void;
}

const isType = (t: string, base: string) => t.startsWith(base.replace(/\d+$/, ''));

export class ControlPoint extends EventEmitter {
  private readonly opts: ControlPointOptions;
  private listen?: dgram.Socket;
  private search?: dgram.Socket;
  private readonly roots = new Map<string, RootRecord>();
  /** UDN (root or embedded) → LOCATION of its root, for byebye. */
  private readonly udnLocation = new Map<string, string>();
  private readonly scpds = new Map<string, Promise<RemoteAction[]>>();
  private readonly scpdDone = new Map<string, RemoteAction[]>();
  private expiry?: NodeJS.Timeout;
  private changeTimer?: NodeJS.Timeout;
  /** Messages seen (for the benchmark). */
  readonly seen = { notify: 0, response: 0, fetches: 0 };

  constructor(opts: ControlPointOptions) {
    super();
    this.opts = opts;
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
      s.on('message', (buf, rinfo) => this.onDatagram(buf, rinfo));
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

  private onDatagram(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    if (!inSubnet(rinfo.address, this.opts.iface)) return;
    const msg = parseSsdp(buf);
    if (!msg || msg.kind === 'search') return;
    if (msg.kind === 'notify') this.seen.notify++;
    else this.seen.response++;
    const nts = msg.headers['nts'];
    if (msg.kind === 'notify' && nts === 'ssdp:byebye') return this.onByebye(msg);
    if (msg.kind === 'notify' && nts !== 'ssdp:alive') return;
    this.onAlive(msg);
  }

  private onAlive(msg: SsdpMessage): void {
    const location = msg.headers['location'];
    const usn = msg.headers['usn'];
    if (!location || !usn) return;
    let host: string;
    try {
      const u = new URL(location);
      if (u.protocol !== 'http:') return;
      host = u.hostname;
    } catch {
      return;
    }
    // Descriptions are fetched from the management network only.
    if (!inSubnet(host, this.opts.iface)) return;
    const maxAge = maxAgeOf(msg.headers) ?? DEFAULT_MAX_AGE;
    let rec = this.roots.get(location);
    if (!rec) {
      rec = { location, expires: 0, gone: new Set() };
      this.roots.set(location, rec);
    }
    rec.expires = Math.max(rec.expires, Date.now() + maxAge * 1000);
    const num = (h: string | undefined) => (h !== undefined && /^\d+$/.test(h) ? Number(h) : undefined);
    const bootId = num(msg.headers['bootid.upnp.org']);
    const configId = num(msg.headers['configid.upnp.org']);
    if (bootId !== undefined) rec.bootId = bootId;
    if (configId !== undefined) rec.configId = configId;
    this.udnLocation.set(udnOfUsn(usn), location);
    const key = `${rec.bootId ?? ''}/${rec.configId ?? ''}`;
    if (rec.fetchedFor !== key && !rec.fetching) void this.fetch(rec, key);
  }

  private onByebye(msg: SsdpMessage): void {
    const usn = msg.headers['usn'];
    if (!usn) return;
    const udn = udnOfUsn(usn);
    const location = this.udnLocation.get(udn);
    const rec = location ? this.roots.get(location) : undefined;
    if (!rec) return;
    if (msg.headers['nt'] === 'upnp:rootdevice' || rec.desc?.udn === udn) {
      this.dropRoot(rec);
    } else if (!rec.gone.has(udn)) {
      rec.gone.add(udn);
      this.changed();
    }
  }

  private dropRoot(rec: RootRecord): void {
    this.roots.delete(rec.location);
    for (const [udn, loc] of this.udnLocation) if (loc === rec.location) this.udnLocation.delete(udn);
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
        const desc = parseDescription(await httpGetText(rec.location, MAX_DESCRIPTION_BYTES), rec.location);
        if (this.opts.actions !== false) await this.fetchScpds(desc);
        if (this.roots.get(rec.location) !== rec) return; // dropped meanwhile
        rec.desc = desc;
        rec.fetchedFor = key;
        rec.gone.clear();
        const walk = (d: RemoteDevice) => {
          this.udnLocation.set(d.udn, rec.location);
          d.devices.forEach(walk);
        };
        walk(desc);
        this.changed();
      } catch (err) {
        this.opts.log?.(`${rec.location}: ${(err as Error).message}`);
      } finally {
        rec.fetching = undefined;
        // Announcements that came during the fetch may name a newer configuration.
        const now = `${rec.bootId ?? ''}/${rec.configId ?? ''}`;
        if (this.roots.get(rec.location) === rec && rec.fetchedFor !== undefined && rec.fetchedFor !== now) void this.fetch(rec, now);
      }
    })();
    return rec.fetching;
  }

  /** SCPDs of every service of the tree, each URL once (VMs of a hypervisor share one). */
  private async fetchScpds(desc: RemoteDevice): Promise<void> {
    const urls = new Set<string>();
    const walk = (d: RemoteDevice) => {
      d.services.forEach((s) => urls.add(s.scpdUrl));
      d.devices.forEach(walk);
    };
    walk(desc);
    await Promise.all(
      [...urls].map((url) => {
        let p = this.scpds.get(url);
        if (!p) {
          p = httpGetText(url, MAX_DESCRIPTION_BYTES).then(parseScpd);
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
      const vms = d.devices
        .filter((v) => isType(v.deviceType, DEVICE_VM) && !rec.gone.has(v.udn))
        .map((v) => {
          const vm = this.treeVm(v, 'hypervisor', d.vendor['host']);
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
        udn: d.udn, host: d.vendor['host'], friendlyName: d.friendlyName, location: rec.location,
        bootId: rec.bootId, configId: rec.configId, vms,
      });
    }
    hypervisors.sort((a, b) => (a.host ?? a.friendlyName).localeCompare(b.host ?? b.friendlyName));
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
      udn: d.udn, name: d.vendor['vm'], deployment: d.vendor['deployment'], host: host ?? d.vendor['host'],
      friendlyName: d.friendlyName, selfAdvertised: false,
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

function byVm(a: TreeVm, b: TreeVm): number {
  return `${a.deployment ?? ''}/${a.name ?? a.friendlyName}`.localeCompare(`${b.deployment ?? ''}/${b.name ?? b.friendlyName}`);
}
