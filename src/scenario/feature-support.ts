// What a scenario asks that ediv does not apply, in one table: FEATURES says, per feature,
// which drivers apply it (none yet for most). `featureWarnings` finds each use in a scenario and
// words a warning for the VMs whose driver does not apply it. `ediv validate`, `plan` and
// `deploy` list these warnings (src/controller/drivers.ts adds notices about VM types).
// docs/scenario.md has the same table. When a driver starts to apply a feature, add the driver
// to `appliedBy` here; when ediv itself does (for every driver), delete the entry and its finder.
import type { SourceLocation } from '../common/errors.ts';
import type { Extra, Scenario, Vm, XmlElement, XmlNode } from './model.ts';
import { inSeq } from './sequences.ts';
import { isHostLocalNet, LOOPBACK_NET, MGMT_NET } from './reserved-nets.ts';
import { escaped, quote } from './quote.ts';
import { ROUTER_PORT } from './values.ts';

/** One thing the scenario asks that ediv does not apply; JSON as printed by validate, plan and deploy. */
export interface ScenarioWarning {
  vm?: string;
  net?: string;
  /** A key of FEATURES, or `vm-type` (controller/drivers.ts). */
  feature: string;
  message: string;
  loc: SourceLocation;
}

export interface Feature {
  /** What the scenario writes, for the docs. */
  title: string;
  /** Drivers that apply it; empty: no driver does yet. */
  appliedBy: readonly string[];
  /** When no driver applies it: how ediv treats it ("is not applied yet"). */
  status?: string;
  /** What the lab gets instead. */
  effect: string;
  /** How the drivers of appliedBy apply it (said to users of the other drivers). */
  howApplied?: string;
}

export const FEATURES = {
  mem: {
    title: '`<mem>` (memory limit)',
    appliedBy: ['container'],
    effect: 'the VM has no memory limit',
    howApplied: 'the container driver applies it as a cgroup limit',
  },
  vcpu: {
    title: '`vcpu` (CPU limit)',
    appliedBy: ['container'],
    effect: 'the VM has no CPU limit',
    howApplied: 'the container driver applies it as a cgroup limit',
  },
  filesystem: {
    title: '`<filesystem>` (root file system)',
    appliedBy: ['container'],
    effect: "the VM sees the host's file system",
    howApplied: 'used by the container driver when it is a root-file-system directory on the host',
  },
  'net-shaping': {
    title: '`bw`, `delay`, `loss` on `<net>` and `<if>`, `<net><bw>` (link shaping)',
    appliedBy: ['netns', 'container'],
    effect: 'the link has no bandwidth limit, delay or loss',
    howApplied: 'the netns and container drivers apply it with tc: bw always, delay and loss where the host has netem',
  },
  'if-name': {
    title: '`<if name="e0/0">` (a router\'s port name: not a Linux interface name)',
    appliedBy: [],
    status: 'is refused by the host agents',
    effect: 'the deploy fails before anything is made: remove the name (the interface is then eth<id>) or give a Linux name (at most 15 letters, digits, \'_\', \'-\', \'.\')',
  },
  'net-dscp': {
    title: '`dscp` on `<net>` and `<if>` (DSCP marking)',
    appliedBy: [],
    status: 'is not applied',
    effect: "the link's packets keep the DSCP their sender gave them",
  },
  vm_mgmt: {
    title: '`<vm_mgmt type="private">` (a point-to-point management link per VM)',
    appliedBy: ['netns', 'container'],
    effect: 'the VMs get no management interface',
    howApplied: 'the netns and container drivers build it: a /30 link from the host to each VM',
  },
  'vm_mgmt-net': {
    title: '`<vm_mgmt type="net">` (one management bridge for the host and the VMs)',
    appliedBy: [],
    status: 'is refused by the host agents',
    effect: 'the deploy fails before anything is made: use type="private" (a management link per VM) or type="none"',
  },
  host_mapping: {
    title: '`<vm_mgmt><host_mapping/>` (the VMs\' management addresses in the host\'s /etc/hosts)',
    appliedBy: [],
    status: 'is not applied',
    effect: "the host's /etc/hosts does not name the VMs",
  },
  console: {
    title: '`<console>` (in a VM or `<vm_defaults>`)',
    appliedBy: [],
    status: 'is not provided',
    effect: "use 'ediv exec' to run commands in the VMs",
  },
  host: {
    title: 'the `<host>` section (`<hostif>` links, the host\'s routes and forwarding)',
    appliedBy: ['netns', 'container'],
    effect: "the physical host is not connected to the lab's nets",
    howApplied: "the netns and container drivers build it on the host that holds the section: a veth into each hostif's net, its addresses, the routes and forwarding",
  },
  'host-exec': {
    title: '`<exec>` in the `<host>` section (commands run on the physical host)',
    appliedBy: [],
    status: 'is not run',
    effect: 'nothing is run on the host: run those commands yourself after the deploy',
  },
  vm_defaults: {
    title: '`<vm_defaults>` values (`<mem>`, `<filesystem>`, `<forwarding>`, `<user>`)',
    appliedBy: [],
    status: 'is not applied to the VMs',
    effect: 'a VM without its own value does not inherit it',
  },
  shareddir: {
    title: '`<shareddir>` (host directory shared into a VM)',
    appliedBy: [],
    status: 'is not provided',
    effect: 'the VM does not see that host directory',
  },
  ssh_key: {
    title: '`<ssh_key>` (keys installed in the VMs)',
    appliedBy: [],
    status: 'is not installed',
    effect: "the key is not added to the VMs' authorized keys",
  },
  user: {
    title: '`<user>` (accounts made in a VM)',
    appliedBy: [],
    status: 'is not created',
    effect: 'the VM has no such account',
  },
  'if-vlan': {
    title: '`<if><vlan>` (802.1q tags on an interface)',
    appliedBy: [],
    status: 'is not applied yet',
    effect: "the interface's frames are untagged",
  },
  dns: {
    title: '`<if><dns>` (the VM\'s name server)',
    appliedBy: [],
    status: 'is not applied',
    effect: "the VM's resolver is not configured",
  },
  'net-external': {
    title: '`<net external="…">` (a net bridged to a host interface)',
    appliedBy: [],
    status: 'is not attached',
    effect: 'the net is not bridged to that host interface (ediv binds only spanning nets, to the backplane)',
  },
  'net-vlan': {
    title: '`<net vlan="…">` (the 802.1q tag on the external interface)',
    appliedBy: [],
    status: 'is not applied',
    effect: 'no tagged interface is made for the net',
  },
  'net-mtu': {
    title: '`<net mtu="…">`',
    appliedBy: [],
    status: 'is not applied',
    effect: "the net's interfaces keep the default MTU (or the backplane's)",
  },
  'net-unmanaged': {
    title: '`<net managed="no">` (an existing host bridge, e.g. virbr0)',
    appliedBy: ['netns', 'container'],
    effect: "the VMs do not reach the host's existing bridge of that name",
    howApplied:
      "the netns and container drivers plug the net's VMs into the bridge of that name on their host (never spanning hosts; a host without one gives them a bridge of their own, with a warning)",
  },
  'net-connection': {
    title: '`<net><connection>` (links between nets)',
    appliedBy: ['netns', 'container'],
    howApplied:
      "the netns and container drivers link the two nets' bridges with a veth, on one host (connected nets are carried by the same hosts and placed as one net)",
    effect: 'the nets are not linked',
  },
  extension: {
    title: '`<extension plugin="…">` (VNX plugins)',
    appliedBy: [],
    status: 'is not run',
    effect: "the plugin's configuration is not applied",
  },
  on_boot: {
    title: 'the `on_boot` sequence (run by VNX when a VM starts)',
    appliedBy: [],
    status: 'is not run when the VM starts',
    effect: "run it with 'ediv exec <scenario> on_boot' after the deploy",
  },
  order: {
    title: '`<vm order="…">`, OVF `StartupSection` (boot order)',
    appliedBy: [],
    status: 'is not followed',
    effect: 'the VMs start in parallel',
  },
} as const satisfies Record<string, Feature>;

export type FeatureId = keyof typeof FEATURES;

/** The drivers a VM may run with (one once it is placed; several hosts may differ before). */
export type DriversOf = (vm: Vm) => readonly string[];

const SHAPING = ['bw', 'delay', 'loss'];
/** The `<vm_defaults>` children that would change a VM (`<console>` is the console feature). */
const VM_DEFAULTS_WARNED = new Set(['mem', 'filesystem', 'forwarding', 'user']);

function list(xs: readonly string[]): string {
  return xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/** The end of a warning: how ediv treats the feature, for VMs whose drivers are `drivers`. */
function treatment(f: Feature, missing: readonly string[], plural: boolean): string {
  const verb = (phrase: string) => (plural ? phrase.replace(/^is /, 'are ') : phrase);
  if (f.appliedBy.length === 0) return `${verb(f.status ?? 'is not applied')}: ${f.effect}`;
  const by = `the ${list(missing)} driver${missing.length > 1 ? 's' : ''}`;
  return `${verb('is not applied')} by ${by}: ${f.effect} (${f.howApplied ?? `applied by the ${list(f.appliedBy)} driver`})`;
}

function text(node: XmlElement): string {
  const all = (n: XmlNode): string => ('text' in n ? n.text : 'tag' in n ? n.children.map(all).join('') : '');
  return node.children.map(all).join('').trim();
}

/** `name="value"` as a warning shows it (escaped, cut short: the value is the scenario's text). */
function attr(name: string, value: string): string {
  return `${escaped(name)}=${quote(value, 60)}`;
}

/** `<tag a="b">text</tag>` shortened, as the user wrote it (escaped). */
function show(node: XmlElement, withText = true): string {
  const attrs = Object.entries(node.attrs).map(([k, v]) => ` ${attr(k, v)}`).join('');
  const body = withText ? text(node) : '';
  const shown = escaped(body, 57);
  return `<${escaped(node.tag)}${attrs}>${shown ? ` ${shown}` : ''}`;
}

function children(extra: Extra, tag: string): Extra['children'] {
  return extra.children.filter((c) => c.node.tag === tag);
}

function consoleText(consoles: XmlElement[]): string {
  return consoles.length > 1 ? `${consoles.length} <console>s (ids ${consoles.map((c) => c.attrs.id ?? '?').join(', ')})` : show(consoles[0]!);
}

function megabytes(mb: number): string {
  return Number.isInteger(mb) ? `${mb} MB` : `${Math.round(mb * 1024)} KB`;
}

/** Every use in `s` of a feature the VM's drivers (or, for nets and globals, ediv) do not apply; in document order. */
export function featureWarnings(s: Scenario, driversOf: DriversOf): ScenarioWarning[] {
  const out: ScenarioWarning[] = [];
  const file = s.source.path;
  const at = (loc: SourceLocation | undefined, fallback?: SourceLocation): SourceLocation => loc ?? fallback ?? { file };
  const warn = (
    feature: FeatureId,
    subject: { vm?: string; net?: string },
    what: string,
    loc: SourceLocation,
    drivers: readonly string[] = [],
    plural = false,
  ): void => {
    const f: Feature = FEATURES[feature];
    const missing = f.appliedBy.length ? [...new Set(drivers)].filter((d) => !f.appliedBy.includes(d)) : [];
    if (f.appliedBy.length && missing.length === 0) return;
    const who = subject.vm !== undefined ? `vm ${escaped(subject.vm)}: ` : subject.net !== undefined ? `net ${escaped(subject.net)}: ` : '';
    out.push({ ...subject, feature, message: `${who}${what} ${treatment(f, missing, plural)}`, loc });
  };

  // The drivers any VM may get (for what concerns the whole scenario), and those of a net's VMs.
  const allDrivers = s.vms.flatMap((v) => driversOf(v));
  const netDrivers = (net: string) => s.vms.filter((v) => v.ifaces.some((i) => i.net === net)).flatMap((v) => driversOf(v));

  // <global>
  for (const c of s.global.extra.children) {
    const loc = at(c.loc, s.global.loc);
    if (c.node.tag === 'vm_mgmt' && c.node.attrs.type === 'private') {
      warn('vm_mgmt', {}, '<vm_mgmt type="private">', loc, allDrivers);
      for (const h of c.node.children) if ('tag' in h && h.tag === 'host_mapping') warn('host_mapping', {}, '<vm_mgmt> <host_mapping>', loc);
    } else if (c.node.tag === 'vm_mgmt' && c.node.attrs.type === 'net') {
      warn('vm_mgmt-net', {}, '<vm_mgmt type="net">', loc);
    } else if (c.node.tag === 'ssh_key') {
      warn('ssh_key', {}, show(c.node), loc);
    } else if (c.node.tag === 'extension') {
      warn('extension', {}, show(c.node, false), loc);
    } else if (c.node.tag === 'vm_defaults') {
      const elements = c.node.children.filter((d): d is XmlElement => 'tag' in d);
      const consoles = elements.filter((d) => d.tag === 'console');
      if (consoles.length) warn('console', {}, `<vm_defaults> ${consoleText(consoles)}`, loc, [], consoles.length > 1);
      for (const d of elements) if (VM_DEFAULTS_WARNED.has(d.tag)) warn('vm_defaults', {}, `<vm_defaults> ${show(d)}`, loc);
    }
  }
  for (const c of children(s.extra, 'extension')) warn('extension', {}, show(c.node, false), at(c.loc));

  // <net>
  for (const n of s.nets) {
    const subject = { net: n.name };
    const loc = at(n.loc);
    const shaping = SHAPING.filter((a) => n.extra.attrs[a] !== undefined).map((a) => attr(a, n.extra.attrs[a]!));
    if (shaping.length) warn('net-shaping', subject, shaping.join(' '), loc, netDrivers(n.name));
    for (const c of children(n.extra, 'bw')) warn('net-shaping', subject, show(c.node), at(c.loc, loc), netDrivers(n.name));
    if (n.extra.attrs.dscp !== undefined) warn('net-dscp', subject, attr('dscp', n.extra.attrs.dscp), loc);
    if (n.external) warn('net-external', subject, attr('external', n.external), loc);
    if (n.vlan !== undefined) warn('net-vlan', subject, `vlan="${n.vlan}"`, loc);
    if (n.extra.attrs.mtu !== undefined) warn('net-mtu', subject, attr('mtu', n.extra.attrs.mtu), loc);
    if (isHostLocalNet(n)) warn('net-unmanaged', subject, 'managed="no"', loc, netDrivers(n.name));
    for (const c of children(n.extra, 'connection')) warn('net-connection', subject, show(c.node, false), at(c.loc, loc), netDrivers(n.name));
  }

  // <vm>
  for (const vm of s.vms) {
    const subject = { vm: vm.name };
    const loc = at(vm.loc);
    const drivers = driversOf(vm);
    if (vm.memMB !== undefined) warn('mem', subject, `<mem> ${megabytes(vm.memMB)}`, loc, drivers);
    if (vm.cpus !== undefined) warn('vcpu', subject, `vcpu="${vm.cpus}"`, loc, drivers);
    for (const c of children(vm.extra, 'filesystem')) warn('filesystem', subject, show(c.node), at(c.loc, loc), drivers);
    const consoles = children(vm.extra, 'console');
    if (consoles.length) warn('console', subject, consoleText(consoles.map((c) => c.node)), at(consoles[0]!.loc, loc), [], consoles.length > 1);
    for (const c of children(vm.extra, 'shareddir')) warn('shareddir', subject, show(c.node), at(c.loc, loc));
    for (const c of children(vm.extra, 'user')) warn('user', subject, show(c.node, false), at(c.loc, loc));
    if (vm.extra.attrs.order?.trim()) warn('order', subject, attr('order', vm.extra.attrs.order), loc);
    const onBoot = [...vm.execs, ...vm.filetrees].filter((x) => inSeq(x, 'on_boot'));
    if (onBoot.length) {
      const n = onBoot.length;
      warn('on_boot', subject, `sequence "on_boot" (${n} exec/filetree element${n > 1 ? 's' : ''})`, at(onBoot[0]!.loc, loc));
    }
    for (const i of vm.ifaces) {
      const ifSubject = { vm: vm.name, net: i.net };
      const ifLoc = at(i.loc, loc);
      const shaping = SHAPING.filter((a) => i.extra.attrs[a] !== undefined).map((a) => attr(a, i.extra.attrs[a]!));
      if (shaping.length) warn('net-shaping', ifSubject, `<if id="${i.id}"> ${shaping.join(' ')}`, ifLoc, drivers);
      if (i.extra.attrs.dscp !== undefined) warn('net-dscp', ifSubject, `<if id="${i.id}"> ${attr('dscp', i.extra.attrs.dscp)}`, ifLoc);
      // Interfaces on lo and vm_mgmt are not made under their names: theirs may be anything.
      if (i.name !== undefined && ROUTER_PORT.test(i.name) && i.net !== LOOPBACK_NET && i.net !== MGMT_NET) {
        warn('if-name', ifSubject, `<if id="${i.id}" ${attr('name', i.name)}>`, ifLoc);
      }
      for (const c of children(i.extra, 'vlan')) warn('if-vlan', ifSubject, `<if id="${i.id}"> <vlan>`, at(c.loc, ifLoc));
      for (const c of children(i.extra, 'dns')) warn('dns', ifSubject, `<if id="${i.id}"> ${show(c.node)}`, at(c.loc, ifLoc));
    }
  }

  // What a parser recorded (OVF sections).
  for (const u of s.unapplied ?? []) {
    if (Object.hasOwn(FEATURES, u.feature)) warn(u.feature as FeatureId, u.vm !== undefined ? { vm: u.vm } : {}, u.what, u.loc);
  }

  // <host>: built by the driver of the host that holds it (one of the VMs' drivers); its execs are not run.
  if (s.host) {
    const h = s.host;
    for (const hi of h.ifaces) warn('host', { net: hi.net }, `<hostif ${attr('net', hi.net)}> of the <host> section`, at(hi.loc, h.loc), allDrivers);
    const rest = [h.routes.length ? `${h.routes.length} <route>${h.routes.length > 1 ? 's' : ''}` : '', h.forwarding ? '<forwarding>' : ''].filter(Boolean);
    if (rest.length) warn('host', {}, `the <host> section's ${list(rest)}`, at(h.loc), allDrivers, rest.length > 1 || h.routes.length > 1);
    if (h.execs.length) {
      const n = h.execs.length;
      warn('host-exec', {}, `the <host> section's ${n} <exec>${n > 1 ? 's' : ''}`, at(h.execs[0]!.loc, h.loc), [], n > 1);
    }
  }
  return sortByLocation(out);
}

/** Stable sort by line, then column. */
export function sortByLocation<T extends { loc: SourceLocation }>(ws: T[]): T[] {
  return ws
    .map((w, i) => ({ w, i }))
    .sort((a, b) => (a.w.loc.line ?? 0) - (b.w.loc.line ?? 0) || (a.w.loc.column ?? 0) - (b.w.loc.column ?? 0) || a.i - b.i)
    .map((x) => x.w);
}
