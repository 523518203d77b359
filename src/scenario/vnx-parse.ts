// VNUML 1.8 (<vnuml>, <simulation_name>) and VNX 1.x/2.0 (<vnx>, <scenario_name>) → Scenario.
//
// Named elements become model fields; everything else is kept in `extra` in document order
// (see extras.ts). Problems found while reading (bad numbers, bad addresses, missing required
// attributes) are collected, not thrown, so that one run reports all of them.
import type { InputProblem, SourceLocation } from '../common/errors.ts';
import type {
  Dialect, Exec, Extra, Filetree, Forwarding, GlobalSection, HostSection, Iface, IpAddress, Net, Route, Scenario, Vm,
} from './model.ts';
import { familyOf, isAddress, parseInterfaceAddress, type Family } from './addresses.ts';
import { escaped, quote } from './quote.ts';
import { memProblem, parseMac } from './values.ts';
import { collectChildren, NO_EXTRA } from './extras.ts';
import type { XmlDocument, XmlEl } from './xml.ts';

// The tags and attributes the model names, per element. The writer uses the same lists.
export const NAMED = {
  root: new Set(['global', 'net', 'vm', 'host']),
  global: new Set(['version', 'scenario_name', 'simulation_name', 'automac', 'cmd-seq']),
  netAttrs: new Set(['name', 'mode', 'external', 'vlan', 'type']),
  vm: new Set(['mem', 'if', 'route', 'forwarding', 'filetree', 'exec']),
  vmAttrs: new Set(['name', 'type', 'subtype', 'os', 'vcpu']),
  if: new Set(['mac', 'ipv4', 'ipv6']),
  ifAttrs: new Set(['id', 'net', 'name']),
  hostif: new Set(['ipv4', 'ipv6']),
  hostifAttrs: new Set(['net']),
  host: new Set(['hostif', 'route', 'forwarding', 'exec']),
  execAttrs: new Set(['seq', 'type', 'ostype', 'mode', 'user']),
  filetreeAttrs: new Set(['seq', 'root', 'user', 'group', 'perms']),
};
const NONE: ReadonlySet<string> = new Set();

export interface ParseResult {
  scenario: Scenario;
  problems: InputProblem[];
}

/**
 * Parses a document whose root is <vnx> or <vnuml>. With `release`, the caller gives the tree
 * away: each <vm>'s subtree is dropped once read, so that a large scenario's tree and model are
 * not both whole in memory at once (the tree is most of the peak).
 */
export function parseVnxDocument(doc: XmlDocument, opts: { release?: boolean } = {}): ParseResult {
  return new VnxReader(doc, opts.release ?? false).read();
}

class VnxReader {
  private readonly doc: XmlDocument;
  private readonly release: boolean;
  private readonly problems: InputProblem[] = [];

  constructor(doc: XmlDocument, release: boolean) {
    this.doc = doc;
    this.release = release;
  }

  private problem(at: XmlEl | SourceLocation, message: string): void {
    this.problems.push({ loc: 'loc' in at ? at.loc : at, message });
  }

  read(): ParseResult {
    const root = this.doc.root;
    const dialect: Dialect = root.tag === 'vnuml' ? 'vnuml' : 'vnx';
    const nameTag = dialect === 'vnuml' ? 'simulation_name' : 'scenario_name';
    const s: Scenario = {
      name: '',
      global: { version: '', extra: NO_EXTRA },
      nets: [],
      vms: [],
      cmdSeqs: new Map(),
      source: { format: dialect, path: this.doc.file, version: '' },
      extra: NO_EXTRA,
    };
    let globals = 0;
    s.extra = collectChildren(root, NAMED.root, (c) => {
      if (c.tag === 'global') {
        if (++globals > 1) this.problem(c, 'a second <global> section: merge it into the first');
        else this.global(c, s, nameTag);
      } else if (c.tag === 'net') s.nets.push(this.net(c));
      else if (c.tag === 'vm') {
        s.vms.push(this.vm(c));
        if (this.release) c.children = [];
      }
      else if (c.tag === 'host') {
        if (s.host) this.problem(c, 'a second <host> section: merge it into the first');
        else s.host = this.host(c);
      }
    });
    s.nets = exact(s.nets);
    s.vms = exact(s.vms);
    if (globals === 0) this.problem(root, `<${escaped(root.tag)}> has no <global> section (with <version> and <${nameTag}>)`);
    s.source.version = s.global.version;
    return { scenario: s, problems: this.problems };
  }

  // ---- <global> ------------------------------------------------------------------------

  private global(el: XmlEl, s: Scenario, nameTag: string): void {
    const g: GlobalSection = { version: '', loc: el.loc, extra: NO_EXTRA };
    let sawName = false;
    g.extra = collectChildren(el, NAMED.global, (c) => {
      switch (c.tag) {
        case 'version':
          g.version = c.text().trim();
          break;
        case 'scenario_name':
        case 'simulation_name':
          if (c.tag !== nameTag) {
            this.problem(c, `<${c.tag}> belongs to the other dialect: a <${this.doc.root.tag}> file names its scenario with <${nameTag}>`);
          }
          s.name = c.text().trim();
          sawName = true;
          break;
        case 'automac': {
          g.automac = true;
          const off = c.attrs.offset;
          if (off !== undefined) {
            const n = this.int(c, 'offset', off, 0);
            if (n !== undefined) g.automacOffset = n;
          }
          break;
        }
        case 'cmd-seq': {
          const seq = c.attrs.seq;
          if (!seq) {
            this.problem(c, '<cmd-seq> needs a seq="name" attribute');
            break;
          }
          if (s.cmdSeqs.has(seq)) {
            this.problem(c, `cmd-seq ${quote(seq)} is declared twice (first at line ${s.cmdSeqLoc?.get(seq)?.line})`);
            break;
          }
          s.cmdSeqs.set(seq, c.text().split(',').map((x) => x.trim()).filter((x) => x !== ''));
          (s.cmdSeqLoc ??= new Map()).set(seq, c.loc);
          break;
        }
      }
    });
    if (!g.version) this.problem(el, '<global> has no <version> (e.g. <version>2.0</version>)');
    if (!sawName) this.problem(el, `<global> has no <${nameTag}>`);
    s.global = g;
  }

  // ---- <net> ---------------------------------------------------------------------------

  private net(el: XmlEl): Net {
    const a = el.attrs;
    const net: Net = { name: a.name ?? '', mode: a.mode ?? '', loc: el.loc, extra: NO_EXTRA };
    if (a.name === undefined) this.problem(el, '<net> needs a name="..." attribute');
    if (a.mode === undefined) this.problem(el, `net ${net.name ? escaped(net.name) : '(unnamed)'} needs a mode="..." attribute (e.g. virtual_bridge)`);
    if (a.external) net.external = a.external;
    if (a.vlan) {
      const v = this.int(el, 'vlan', a.vlan, 1, 4094);
      if (v !== undefined) net.vlan = v;
    }
    if (a.type) net.type = a.type;
    net.extra = collectChildren(el, NONE, () => {}, NAMED.netAttrs);
    return net;
  }

  // ---- <vm> ----------------------------------------------------------------------------

  private vm(el: XmlEl): Vm {
    const a = el.attrs;
    if (a.name === undefined) this.problem(el, '<vm> needs a name="..." attribute');
    const vm: Vm = { name: a.name ?? '', ifaces: [], routes: [], execs: [], filetrees: [], loc: el.loc, extra: NO_EXTRA };
    if (a.type !== undefined) vm.type = a.type;
    // VNX's XSD and DTD require the type (a fragment without it is not VNX); VNUML has none.
    else if (this.doc.root.tag === 'vnx') this.problem(el, `vm ${a.name !== undefined ? escaped(a.name) : '(unnamed)'} needs a type="..." attribute, as VNX requires: e.g. type="lxc", or type="libvirt" subtype="kvm"`);
    if (a.subtype !== undefined) vm.subtype = a.subtype;
    if (a.os !== undefined) vm.os = a.os;
    if (a.vcpu !== undefined) {
      const n = this.int(el, 'vcpu', a.vcpu, 1, 4096);
      if (n !== undefined) vm.cpus = n;
    }
    let mems = 0;
    vm.extra = collectChildren(
      el,
      NAMED.vm,
      (c) => {
        switch (c.tag) {
          case 'mem': {
            if (++mems > 1) this.problem(c, `vm ${escaped(vm.name)} has more than one <mem>`);
            const mb = parseMem(c.text());
            const why = typeof mb === 'string' ? mb : memProblem(mb);
            if (why !== undefined) this.problem(c, `vm ${escaped(vm.name)}: ${why}`);
            else if (typeof mb === 'number') vm.memMB = mb;
            break;
          }
          case 'if':
            vm.ifaces.push(this.iface(c, vm.name));
            break;
          case 'route': {
            const r = this.route(c);
            if (r) vm.routes.push(r);
            break;
          }
          case 'forwarding':
            vm.forwarding = this.forwarding(c, vm.forwarding);
            break;
          case 'filetree': {
            const f = this.filetree(c);
            if (f) vm.filetrees.push(f);
            break;
          }
          case 'exec': {
            const x = this.exec(c);
            if (x) vm.execs.push(x);
            break;
          }
        }
      },
      NAMED.vmAttrs,
    );
    return { ...vm, ifaces: exact(vm.ifaces), routes: exact(vm.routes), execs: exact(vm.execs), filetrees: exact(vm.filetrees) };
  }

  private iface(el: XmlEl, vmName: string): Iface {
    const a = el.attrs;
    let id = NaN;
    if (a.id === undefined) this.problem(el, `an <if> of vm ${escaped(vmName)} needs an id="N" attribute`);
    else id = this.int(el, 'id', a.id, 0, 4095) ?? NaN;
    if (a.net === undefined) this.problem(el, `<if id=${quote(a.id ?? '?', 20)}> of vm ${escaped(vmName)} needs a net="..." attribute`);
    const iface: Iface = { id, net: a.net ?? '', ipv4: [], ipv6: [], loc: el.loc, extra: NO_EXTRA };
    if (a.name !== undefined) iface.name = a.name;
    iface.extra = collectChildren(
      el,
      NAMED.if,
      (c) => {
        if (c.tag === 'mac') this.mac(c, iface);
        else if (isDhcp(c.text())) this.dhcp(c, iface);
        else this.address(c, iface);
      },
      NAMED.ifAttrs,
    );
    return { ...iface, ipv4: exact(iface.ipv4), ipv6: exact(iface.ipv6) };
  }

  /** `<mac>`: kept in the one form iproute2 reads (lower case, ':'), or refused here, at its line. */
  private mac(el: XmlEl, iface: Iface): void {
    const m = parseMac(el.text());
    if (m.ok) iface.mac = m.mac;
    else this.problem(el, m.message);
  }

  private address(el: XmlEl, into: { ipv4: IpAddress[]; ipv6: IpAddress[] }): void {
    const family = el.tag as Family;
    const p = parseInterfaceAddress(family, el.text(), el.attrs.mask);
    if (!p.ok) this.problem(el, `<${el.tag}>: ${p.message}`);
    else into[family].push(p.value);
  }

  /** `<ipv4>dhcp</ipv4>` or VNX's `dhcp,ADDRESS` form (the address must be of the family). */
  private dhcp(el: XmlEl, iface: Iface): void {
    const family = el.tag as Family;
    const text = el.text().trim();
    const hint = text.slice(text.indexOf(',') + 1).trim();
    if (text.includes(',') && !isAddress(family, hint.split('/')[0]!)) {
      this.problem(el, `<${el.tag}>${escaped(text, 60)}</${el.tag}>: after "dhcp," VNX expects an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} address`);
    }
    if (iface.dhcp?.[family] !== undefined) this.problem(el, `a second <${el.tag}>dhcp</${el.tag}> on the same interface`);
    (iface.dhcp ??= {})[family] = text;
  }

  private route(el: XmlEl): Route | undefined {
    const gw = el.attrs.gw?.trim() ?? '';
    const destination = el.text().trim();
    const type = el.attrs.type;
    let family: Family | undefined;
    if (type === 'ipv4' || type === 'ipv6') family = type;
    else if (type === undefined) family = familyOf(gw);
    if (!family) {
      this.problem(el, `<route> needs type="ipv4" or type="ipv6"${type !== undefined ? ` (found ${quote(type, 40)})` : ''}`);
      return undefined;
    }
    if (!el.attrs.gw) this.problem(el, '<route> needs a gw="address" attribute');
    if (!destination) this.problem(el, '<route> needs a destination: "default" or a network such as 10.1.2.0/24');
    return { family, destination, gateway: gw, loc: el.loc };
  }

  /** A <forwarding>; a VM may have several (the XSD allows it, VNX applies each): they add up. */
  private forwarding(el: XmlEl, prev: Forwarding | undefined): Forwarding {
    const t = el.attrs.type ?? 'ip';
    if (t !== 'ip' && t !== 'ipv4' && t !== 'ipv6') this.problem(el, `<forwarding type=${quote(t, 40)}>: use ip, ipv4 or ipv6`);
    return { ipv4: (prev?.ipv4 ?? false) || t === 'ip' || t === 'ipv4', ipv6: (prev?.ipv6 ?? false) || t === 'ip' || t === 'ipv6' };
  }

  private exec(el: XmlEl): Exec | undefined {
    const a = el.attrs;
    if (!a.seq) this.problem(el, '<exec> needs a seq="name" attribute');
    if (a.type !== 'verbatim' && a.type !== 'file') {
      this.problem(el, `<exec> needs type="verbatim" or type="file"${a.type !== undefined ? ` (found ${quote(a.type, 40)})` : ''}`);
    }
    if (!a.seq) return undefined;
    const x: Exec = { seq: a.seq, type: a.type === 'file' ? 'file' : 'verbatim', text: el.text().trim(), loc: el.loc };
    if (a.ostype !== undefined) x.ostype = a.ostype;
    if (a.mode !== undefined) x.mode = a.mode;
    if (a.user !== undefined) x.user = a.user;
    const extra = collectChildren(el, NONE, () => {}, NAMED.execAttrs);
    if (hasExtra(extra)) x.extra = extra;
    return x;
  }

  private filetree(el: XmlEl): Filetree | undefined {
    const a = el.attrs;
    if (!a.seq) this.problem(el, '<filetree> needs a seq="name" attribute');
    if (!a.root) this.problem(el, '<filetree> needs a root="/directory/in/the/vm" attribute');
    const source = el.text().trim();
    if (!source) this.problem(el, '<filetree> needs the source path as its text');
    if (!a.seq || !a.root) return undefined;
    const f: Filetree = { seq: a.seq, root: a.root, source, loc: el.loc };
    if (a.user !== undefined) f.user = a.user;
    if (a.group !== undefined) f.group = a.group;
    if (a.perms !== undefined) f.perms = a.perms;
    const extra = collectChildren(el, NONE, () => {}, NAMED.filetreeAttrs);
    if (hasExtra(extra)) f.extra = extra;
    return f;
  }

  // ---- <host> --------------------------------------------------------------------------

  private host(el: XmlEl): HostSection {
    const h: HostSection = { ifaces: [], routes: [], execs: [], loc: el.loc, extra: NO_EXTRA };
    h.extra = collectChildren(el, NAMED.host, (c) => {
      switch (c.tag) {
        case 'hostif': {
          if (c.attrs.net === undefined) this.problem(c, '<hostif> needs a net="..." attribute');
          const hi: HostSection['ifaces'][number] = { net: c.attrs.net ?? '', ipv4: [], ipv6: [], loc: c.loc, extra: NO_EXTRA };
          hi.extra = collectChildren(c, NAMED.hostif, (x) => this.address(x, hi), NAMED.hostifAttrs);
          h.ifaces.push(hi);
          break;
        }
        case 'route': {
          const r = this.route(c);
          if (r) h.routes.push(r);
          break;
        }
        case 'forwarding':
          h.forwarding = this.forwarding(c, h.forwarding);
          break;
        case 'exec': {
          const x = this.exec(c);
          if (x) h.execs.push(x);
          break;
        }
      }
    });
    return h;
  }

  // ---- values --------------------------------------------------------------------------

  private int(el: XmlEl, attr: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const t = text.trim();
    if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) {
      this.problem(el, `${attr}=${quote(text, 40)} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`);
      return undefined;
    }
    return Number(t);
  }
}

/** An address element asking for DHCP: "dhcp" or "dhcp,ADDRESS" (any case). */
function isDhcp(text: string): boolean {
  return /^\s*dhcp\s*(,|$)/i.test(text);
}

/**
 * `xs` without spare capacity. An array grown by push keeps room for 16 or more items: with a few
 * interfaces, routes and execs per VM that room was a third of a large scenario's memory.
 */
function exact<T>(xs: T[]): T[] {
  return xs.slice();
}

function hasExtra(e: Extra): boolean {
  return e.children.length > 0 || Object.keys(e.attrs).length > 0;
}

/**
 * <mem> text → megabytes. VNX converts "M" and "G" suffixes and passes a plain number on
 * as kilobytes; we also accept K, T and the forms "MB", "MiB", "GB" (binary multiples).
 * Returns the message when the text is not a size.
 */
export function parseMem(text: string): number | string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:i?B)?)?\s*$/i.exec(text);
  if (!m) return `<mem>${escaped(text.trim(), 40)}</mem> is not a memory size: write e.g. 256M or 1G`;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'K').toUpperCase();
  const mb = unit === 'K' ? n / 1024 : unit === 'M' ? n : unit === 'G' ? n * 1024 : n * 1024 * 1024;
  if (!(mb > 0)) return `<mem>${escaped(text.trim(), 40)}</mem> must be more than zero`;
  return mb;
}
