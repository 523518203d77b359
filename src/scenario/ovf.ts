// OVF envelopes (DMTF DSP0243 1.x and 2.x, and VMware's 0.9) → the Scenario model.
// docs/ovf.md has the mapping table. In short:
//   VirtualSystem (collections recursed)   → VM, named from ovf:id (else Name), made safe
//   ScaleOutSection default N > 1          → N VMs <name>-1 … <name>-N
//   NetworkSection/Network                 → net, mode virtual_bridge
//   ResourceType 3 VirtualQuantity         → cpus
//   ResourceType 4 VirtualQuantity × units → memMB
//   ResourceType 10 Connection             → interfaces 1, 2, ... in document order (+ MAC)
//   first disk (ResourceType 17) file      → <filesystem type="cow"> kept in the VM's extra
//   StartupSection                         → `unapplied` (warning: parallel start)
// Every VM is written as a VNX libvirt/kvm VM (OVF_VM_TYPE). Only the default deployment
// configuration is read. OVF 0.9 writes sections and systems as <Section xsi:type="…_Type">
// and <Content xsi:type="…_Type">: kindOf() reads both forms.
import { InputError } from '../common/errors.ts';
import type { Iface, Net, Scenario, Vm } from './model.ts';
import { emptyExtra } from './extras.ts';
import { RESOURCE, applicableItems, defaultConfiguration, field, resourceType, wholeNumber } from './ovf-hardware.ts';
import { SafeNamer } from './ovf-names.ts';
import { UNIT_FORMS, toMegabytes } from './ovf-units.ts';
import { readXml, type XmlDocument, type XmlEl } from './xml.ts';
import { escaped, quote } from './quote.ts';
import { memProblem, parseMac } from './values.ts';

/** Envelope namespace → OVF version (a Map: an xmlns="constructor" names no version). */
const ENVELOPE_VERSIONS = new Map([
  ['http://schemas.dmtf.org/ovf/envelope/1', '1.x'],
  ['http://schemas.dmtf.org/ovf/envelope/2', '2.x'],
  ['http://www.vmware.com/schema/ovf/1/envelope', '0.9'],
]);

/**
 * The VNX type of every OVF VM. VNX 2.0 requires a type on <vm>; an OVF virtual system is a
 * disk image booted by a hypervisor, which is what VNX calls libvirt/kvm. ediv itself runs it
 * with a driver chosen for OVF systems (controller/drivers.ts), whatever this says.
 */
const OVF_VM_TYPE = { type: 'libvirt', subtype: 'kvm', os: 'linux' } as const;

/** The most instances a ScaleOutSection may ask for (a small file must not make a huge lab). */
export const MAX_INSTANCES = 256;

const SYSTEM = 'VirtualSystem';
const COLLECTION = 'VirtualSystemCollection';

/**
 * '0.9' / '1.x' / '2.x': from the Envelope's namespace, but ovf:version="0.9" wins (some 0.9
 * files use the DMTF namespace); an unknown namespace goes by ovf:version.
 */
function envelopeVersion(env: XmlEl): string {
  const declared = env.attr('version')?.trim() ?? '';
  if (declared.startsWith('0.')) return '0.9';
  const byNs = env.ns !== undefined ? ENVELOPE_VERSIONS.get(env.ns) : undefined;
  if (byNs) return byNs;
  return declared.startsWith('2') ? '2.x' : '1.x';
}

/**
 * What an element is in OVF terms: its local name, or for OVF 0.9's <Section>/<Content> the
 * xsi:type it names without prefix and "_Type" (`ovf:NetworkSection_Type` → NetworkSection).
 */
function kindOf(el: XmlEl): string {
  const generic = el.localName === 'Section' || el.localName === 'Content';
  const type = generic ? el.attr('type')?.trim() : undefined;
  return type ? type.replace(/^.*:/, '').replace(/_Type$/, '') : el.localName;
}

function childrenOfKind(el: XmlEl, kind: string): XmlEl[] {
  return el.elements().filter((c) => kindOf(c) === kind);
}

function childOfKind(el: XmlEl, kind: string): XmlEl | undefined {
  return el.elements().find((c) => kindOf(c) === kind);
}

/**
 * A NIC's MAC address (its Address field), as parseMac keeps it; OVF files also write it without
 * separators (005056aabbcc). A value that is no unicast MAC is refused at its element.
 */
function nicMac(item: XmlEl): string | undefined {
  const el = item.child('Address');
  const text = field(item, 'Address');
  if (!el || text === undefined) return undefined;
  const m = parseMac(/^[0-9A-Fa-f]{12}$/.test(text) ? text.match(/../g)!.join(':') : text);
  if (!m.ok) throw InputError.at(el.file, el.line, el.column, m.message);
  return m.mac;
}

/** A VirtualSystem and how many VMs it becomes. */
interface System {
  el: XmlEl;
  instances: number;
}

/** The VirtualSystems under `el`, collections recursed, in document order. */
function virtualSystems(el: XmlEl): System[] {
  const scaled = scaleOut(el);
  const out: System[] = [];
  for (const c of el.elements()) {
    const kind = kindOf(c);
    if (kind === SYSTEM) {
      const id = c.attr('id')?.trim() ?? '';
      out.push({ el: c, instances: scaled.get(id)?.count ?? 1 });
      scaled.delete(id);
    } else if (kind === COLLECTION) out.push(...virtualSystems(c));
  }
  // What is left names no VirtualSystem of `el`.
  for (const [id, { at }] of scaled) {
    throw InputError.at(at.file, at.line, at.column, `ScaleOutSection ovf:id=${quote(id)} names no VirtualSystem of this collection`);
  }
  return out;
}

/** The ScaleOutSections of a collection (OVF 2): VirtualSystem id → default instance count. */
function scaleOut(collection: XmlEl): Map<string, { count: number; at: XmlEl }> {
  const counts = new Map<string, { count: number; at: XmlEl }>();
  for (const so of childrenOfKind(collection, 'ScaleOutSection')) {
    const id = so.attr('id')?.trim();
    if (!id) throw InputError.at(so.file, so.line, so.column, 'ScaleOutSection needs an ovf:id naming a VirtualSystem of its collection');
    const earlier = counts.get(id)?.at;
    if (earlier) throw InputError.at(so.file, so.line, so.column, `a second ScaleOutSection for ${quote(id)} (the first is at line ${earlier.line})`);
    counts.set(id, { count: instanceCount(so), at: so });
  }
  return counts;
}

/** InstanceCount@ovf:default (1 without it): how many instances are deployed. */
function instanceCount(section: XmlEl): number {
  const el = section.child('InstanceCount');
  const v = el?.attr('default')?.trim();
  if (el === undefined || v === undefined) return 1;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > MAX_INSTANCES) {
    throw InputError.at(el.file, el.line, el.column, `InstanceCount ovf:default must be a whole number from 1 to ${MAX_INSTANCES}, found ${quote(v, 40)}`);
  }
  return Number(v);
}

/** Disk id → file href, through DiskSection/Disk@fileRef and References/File. */
function diskFiles(env: XmlEl): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of env.child('References')?.elements('File') ?? []) {
    const id = f.attr('id');
    const href = f.attr('href');
    if (id && href) files.set(id, href);
  }
  const disks = new Map<string, string>();
  for (const d of childOfKind(env, 'DiskSection')?.elements('Disk') ?? []) {
    const id = d.attr('diskId');
    const href = files.get(d.attr('fileRef') ?? '');
    if (id && href) disks.set(id, href);
  }
  return disks;
}

class OvfReader {
  private readonly vmNames = new SafeNamer();
  private readonly netNames = new SafeNamer();
  /** OVF network name → ediv net. */
  private readonly nets = new Map<string, Net>();
  private readonly env: XmlEl;
  private readonly defaultConfig: string | undefined;
  private readonly disks: Map<string, string>;
  private readonly unapplied: NonNullable<Scenario['unapplied']> = [];

  constructor(env: XmlEl) {
    this.env = env;
    this.defaultConfig = defaultConfiguration(childOfKind(env, 'DeploymentOptionSection'));
    this.disks = diskFiles(env);
  }

  read(file: string): Scenario {
    const env = this.env;
    for (const n of childOfKind(env, 'NetworkSection')?.elements('Network') ?? []) {
      const name = n.attr('name')?.trim();
      if (!name) throw InputError.at(n.file, n.line, n.column, '<Network> needs an ovf:name');
      this.net(name, n);
    }
    const systems = virtualSystems(env);
    if (systems.length === 0) {
      throw InputError.at(
        file,
        env.line,
        env.column,
        'this OVF envelope has no VirtualSystem (nor, as in OVF 0.9, a <Content xsi:type="ovf:VirtualSystem_Type">): there is no virtual machine to deploy',
      );
    }
    const vms = systems.flatMap((sys, i) => this.instances(sys, i + 1));
    this.startupSections(env);
    const top = env.elements().find((c) => kindOf(c) === SYSTEM || kindOf(c) === COLLECTION)!;
    const scenarioName = new SafeNamer().name(top.attr('id') ?? field(top, 'Name') ?? '', 'ovf');
    const s: Scenario = {
      name: scenarioName,
      global: { version: '2.0', extra: emptyExtra() },
      nets: [...this.nets.values()],
      vms,
      cmdSeqs: new Map(),
      source: { format: 'ovf', path: file, version: envelopeVersion(env) },
      extra: emptyExtra(),
    };
    if (this.unapplied.length) s.unapplied = this.unapplied;
    return s;
  }

  /** The StartupSections of VirtualSystemCollections (collections recursed): read, not applied. */
  private startupSections(el: XmlEl): void {
    for (const c of childrenOfKind(el, COLLECTION)) {
      const startup = childOfKind(c, 'StartupSection');
      const items = startup?.elements('Item').length ?? 0;
      if (startup && items > 0) this.unapplied.push({ feature: 'order', what: `StartupSection (${items} items)`, loc: startup.loc });
      this.startupSections(c);
    }
  }

  /** The ediv net for an OVF network name, created on first use (NetworkSection order first). */
  private net(ovfName: string, at: XmlEl): Net {
    let net = this.nets.get(ovfName);
    if (!net) {
      net = { name: this.netNames.name(ovfName, `net${this.nets.size + 1}`), mode: 'virtual_bridge', loc: at.loc, extra: emptyExtra() };
      this.nets.set(ovfName, net);
    }
    return net;
  }

  /**
   * The VMs of one VirtualSystem (the `index`th): one, or <name>-1 … <name>-N for a scale-out.
   * Instances share the hardware but not the MAC addresses the file gives (one MAC, N machines).
   */
  private instances(sys: System, index: number): Vm[] {
    const raw = sys.el.attr('id')?.trim() || field(sys.el, 'Name') || '';
    const fallback = `vm${index}`;
    if (sys.instances === 1) return [this.vm(sys.el, this.vmNames.name(raw, fallback), true)];
    return this.vmNames.instances(raw, fallback, sys.instances).map((name) => this.vm(sys.el, name, false));
  }

  private vm(vs: XmlEl, name: string, withMacs: boolean): Vm {
    const vm: Vm = { name, ...OVF_VM_TYPE, ifaces: [], routes: [], execs: [], filetrees: [], loc: vs.loc, extra: emptyExtra() };
    // DSP0243 allows one VirtualHardwareSection per virtualization platform; the first is read.
    const hw = childOfKind(vs, 'VirtualHardwareSection');
    if (!hw) return vm;
    let disk: string | undefined;
    for (const item of applicableItems(hw, this.defaultConfig)) {
      switch (resourceType(item)) {
        case RESOURCE.cpu:
          vm.cpus = wholeNumber(item, 'VirtualQuantity', 1) ?? vm.cpus;
          break;
        case RESOURCE.memory:
          vm.memMB = this.memory(item) ?? vm.memMB;
          break;
        case RESOURCE.ethernet:
          this.nic(vm, item, withMacs);
          break;
        case RESOURCE.disk:
          disk ??= this.diskFile(item);
          break;
      }
    }
    if (disk !== undefined) {
      vm.extra.children.push({ node: { tag: 'filesystem', attrs: { type: 'cow' }, children: [{ text: disk }] } });
    }
    return vm;
  }

  private memory(item: XmlEl): number | undefined {
    const quantity = wholeNumber(item, 'VirtualQuantity', 0);
    if (quantity === undefined) return undefined;
    const units = field(item, 'AllocationUnits');
    const mb = toMegabytes(quantity, units);
    if (mb === undefined) {
      const el = item.child('AllocationUnits')!;
      throw InputError.at(el.file, el.line, el.column, `memory AllocationUnits ${quote(units ?? '', 60)} is not a byte unit (expected e.g. ${UNIT_FORMS})`);
    }
    const why = memProblem(mb);
    if (why) {
      const el = item.child('VirtualQuantity')!;
      throw InputError.at(el.file, el.line, el.column, `${why} (VirtualQuantity ${quantity} × ${quote(units ?? 'MB', 40)})`);
    }
    return mb;
  }

  /**
   * A NIC joins the net its Connection names, as the next interface id (ids follow the items,
   * not their InstanceIDs); a NIC without a Connection is left out.
   */
  private nic(vm: Vm, item: XmlEl, withMac: boolean): void {
    const connection = field(item, 'Connection');
    if (connection === undefined) return;
    const iface: Iface = {
      id: vm.ifaces.length + 1,
      net: this.net(connection, item).name,
      ipv4: [],
      ipv6: [],
      loc: item.loc,
      extra: emptyExtra(),
    };
    const mac = withMac ? nicMac(item) : undefined;
    if (mac) iface.mac = mac;
    vm.ifaces.push(iface);
  }

  /** The file behind HostResource "ovf:/disk/<id>" (or "/disk/<id>", as VirtualBox and OVF 0.9 write it). */
  private diskFile(item: XmlEl): string | undefined {
    const m = /^(?:ovf:)?\/disk\/(.+)$/.exec(field(item, 'HostResource') ?? '');
    return m ? this.disks.get(m[1]!) : undefined;
  }
}

/** Builds the scenario from an already-read OVF document (root element Envelope). */
export function ovfFromXml(doc: XmlDocument): Scenario {
  const env = doc.root;
  if (env.localName !== 'Envelope') {
    throw InputError.at(doc.file, env.line, env.column, `the root element is <${escaped(env.tag)}>: an OVF descriptor is an <Envelope>`);
  }
  return new OvfReader(env).read(doc.file);
}

/** Parses an OVF descriptor (DSP0243 1.x / 2.x or VMware 0.9 envelope) into a Scenario. */
export function parseOvfText(text: string, file: string): Scenario {
  return ovfFromXml(readXml(text, file));
}
