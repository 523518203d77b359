// OVF envelopes (DMTF DSP0243 1.x and 2.x, and VMware's 0.9) → the Scenario model.
// docs/ovf.md has the mapping table. In short:
//   VirtualSystem (collections recursed)   → VM, named from ovf:id (else Name), made safe
//   NetworkSection/Network                 → net, mode virtual_bridge
//   ResourceType 3 VirtualQuantity         → cpus
//   ResourceType 4 VirtualQuantity × units → memMB
//   ResourceType 10 Connection             → interfaces 1, 2, ... in document order (+ MAC)
//   first disk (ResourceType 17) file      → <filesystem type="cow"> kept in the VM's extra
//   ScaleOutSection, StartupSection        → `unapplied` (warnings: one instance, parallel start)
// Only the default deployment configuration is read.
import { InputError } from '../common/errors.ts';
import type { Iface, Net, Scenario, Vm } from './model.ts';
import { emptyExtra } from './extras.ts';
import { RESOURCE, applicableItems, defaultConfiguration, field, resourceType, wholeNumber } from './ovf-hardware.ts';
import { SafeNamer } from './ovf-names.ts';
import { UNIT_FORMS, toMegabytes } from './ovf-units.ts';
import { readXml, type XmlDocument, type XmlEl } from './xml.ts';

const ENVELOPE_VERSIONS: Record<string, string> = {
  'http://schemas.dmtf.org/ovf/envelope/1': '1.x',
  'http://schemas.dmtf.org/ovf/envelope/2': '2.x',
  'http://www.vmware.com/schema/ovf/1/envelope': '0.9',
};

/** '1.x' / '2.x' from the Envelope's namespace, else from its ovf:version attribute. */
function envelopeVersion(env: XmlEl): string {
  const byNs = env.ns !== undefined ? ENVELOPE_VERSIONS[env.ns] : undefined;
  if (byNs) return byNs;
  return env.attr('version')?.trim().startsWith('2') ? '2.x' : '1.x';
}

function normalizeMac(text: string | undefined): string | undefined {
  const hex = text?.replace(/[:-]/g, '').toLowerCase();
  if (!hex || !/^[0-9a-f]{12}$/.test(hex) || !/^([0-9a-fA-F]{2}[:-]?){5}[0-9a-fA-F]{2}$/.test(text!)) return undefined;
  return hex.match(/../g)!.join(':');
}

/** The VirtualSystems under `el`, collections recursed, in document order. */
function virtualSystems(el: XmlEl): XmlEl[] {
  const out: XmlEl[] = [];
  for (const c of el.elements()) {
    if (c.localName === 'VirtualSystem') out.push(c);
    else if (c.localName === 'VirtualSystemCollection') out.push(...virtualSystems(c));
  }
  return out;
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
  for (const d of env.child('DiskSection')?.elements('Disk') ?? []) {
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
  /** OVF VirtualSystem id → VM name. */
  private readonly vmByOvfId = new Map<string, string>();
  private readonly unapplied: NonNullable<Scenario['unapplied']> = [];

  constructor(env: XmlEl) {
    this.env = env;
    this.defaultConfig = defaultConfiguration(env);
    this.disks = diskFiles(env);
  }

  read(file: string): Scenario {
    const env = this.env;
    for (const n of env.child('NetworkSection')?.elements('Network') ?? []) {
      const name = n.attr('name')?.trim();
      if (!name) throw InputError.at(n.file, n.line, n.column, '<Network> needs an ovf:name');
      this.net(name, n);
    }
    const systems = virtualSystems(env);
    if (systems.length === 0) {
      throw InputError.at(file, env.line, env.column, 'this OVF envelope has no VirtualSystem: there is no virtual machine to deploy');
    }
    const vms = systems.map((vs, i) => this.vm(vs, i + 1));
    this.collectionSections(env);
    const top = env.elements().find((c) => c.localName === 'VirtualSystem' || c.localName === 'VirtualSystemCollection');
    const scenarioName = new SafeNamer().name(top?.attr('id') ?? field(top!, 'Name') ?? '', 'ovf');
    const version = envelopeVersion(env);
    const s: Scenario = {
      name: scenarioName,
      global: { version: '2.0', extra: emptyExtra() },
      nets: [...this.nets.values()],
      vms,
      cmdSeqs: new Map(),
      source: { format: 'ovf', path: file, version },
      extra: emptyExtra(),
    };
    if (this.unapplied.length) s.unapplied = this.unapplied;
    return s;
  }

  /** The sections of VirtualSystemCollections ediv reads but does not apply (collections recursed). */
  private collectionSections(el: XmlEl): void {
    for (const c of el.elements()) {
      if (c.localName !== 'VirtualSystemCollection') continue;
      for (const so of c.elements('ScaleOutSection')) {
        const id = so.attr('id') ?? '';
        const count = so.child('InstanceCount')?.attr('default') ?? '1';
        const vm = this.vmByOvfId.get(id);
        this.unapplied.push({ feature: 'ovf-scale-out', what: `ScaleOutSection of "${id}" (${count} instances by default)`, ...(vm ? { vm } : {}), loc: so.loc });
      }
      const startup = c.child('StartupSection');
      const items = startup?.elements('Item').length ?? 0;
      if (startup && items > 0) this.unapplied.push({ feature: 'order', what: `StartupSection (${items} items)`, loc: startup.loc });
      this.collectionSections(c);
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

  private vm(vs: XmlEl, index: number): Vm {
    const raw = vs.attr('id')?.trim() || field(vs, 'Name') || '';
    const vm: Vm = {
      name: this.vmNames.name(raw, `vm${index}`),
      ifaces: [],
      routes: [],
      execs: [],
      filetrees: [],
      loc: vs.loc,
      extra: emptyExtra(),
    };
    const ovfId = vs.attr('id')?.trim();
    if (ovfId) this.vmByOvfId.set(ovfId, vm.name);
    // DSP0243 allows one VirtualHardwareSection per virtualization platform; the first is read.
    const hw = vs.child('VirtualHardwareSection');
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
          this.nic(vm, item);
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
      throw InputError.at(el.file, el.line, el.column, `memory AllocationUnits ${JSON.stringify(units)} is not a byte unit (expected e.g. ${UNIT_FORMS})`);
    }
    return mb;
  }

  /** A NIC joins the net its Connection names; a NIC without a Connection is left out. */
  private nic(vm: Vm, item: XmlEl): void {
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
    const mac = normalizeMac(field(item, 'Address'));
    if (mac) iface.mac = mac;
    vm.ifaces.push(iface);
  }

  /** The file behind HostResource "ovf:/disk/<id>" (or "/disk/<id>", as VirtualBox writes it). */
  private diskFile(item: XmlEl): string | undefined {
    const m = /^(?:ovf:)?\/disk\/(.+)$/.exec(field(item, 'HostResource') ?? '');
    return m ? this.disks.get(m[1]!) : undefined;
  }
}

/** Builds the scenario from an already-read OVF document (root element Envelope). */
export function ovfFromXml(doc: XmlDocument): Scenario {
  const env = doc.root;
  if (env.localName !== 'Envelope') {
    throw InputError.at(doc.file, env.line, env.column, `the root element is <${env.tag}>: an OVF descriptor is an <Envelope>`);
  }
  return new OvfReader(env).read(doc.file);
}

/** Parses an OVF descriptor (DSP0243 1.x / 2.x envelope) into a Scenario. */
export function parseOvfText(text: string, file: string): Scenario {
  return ovfFromXml(readXml(text, file));
}
