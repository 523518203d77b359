// The one in-memory Scenario model that every parser (VNUML 1.8, VNX 1.x/2.0, OVF) produces
// and the fragment writer consumes. See DESIGN.md, "Scenario".
//
// Elements and attributes the model does not name are kept in `extra` (in document order)
// so that a fragment written back is the same scenario, minus what moved to other hosts.
import type { SourceLocation } from '../common/errors.ts';
import type { CmdSeqs } from './sequences.ts';

export type Dialect = 'vnuml' | 'vnx' | 'ovf';

/** A raw XML element kept verbatim (what the model does not interpret). */
export interface XmlElement {
  tag: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | { text: string } | { comment: string };

/** Elements/attributes of one model entity that the model does not name, kept in order. */
export interface Extra {
  attrs: Record<string, string>;
  /**
   * Unnamed child elements. `after` is the tag of the named child element they followed
   * in the source (undefined = before the first one), so the writer can put them back in place.
   * `loc` is where the element was in the source (absent when made by a parser, e.g. OVF).
   */
  children: { after?: string; node: XmlElement; loc?: SourceLocation }[];
}

export interface IpAddress {
  address: string; // canonical text form, without prefix
  prefix: number; // 0..32 for IPv4, 0..128 for IPv6 (mask="255.255.255.0" form is converted)
}

export interface Route {
  family: 'ipv4' | 'ipv6';
  /** 'default' or a prefix in CIDR form (e.g. 10.1.2.0/24). */
  destination: string;
  gateway: string;
  loc?: SourceLocation;
}

export interface Forwarding {
  ipv4: boolean;
  ipv6: boolean;
}

export interface Iface {
  id: number;
  net: string;
  mac?: string;
  ipv4: IpAddress[];
  ipv6: IpAddress[];
  /**
   * Families configured by DHCP (VNX `<ipv4>dhcp</ipv4>`), with the element's text as written:
   * "dhcp", or VNX's "dhcp,ADDRESS".
   */
  dhcp?: { ipv4?: string; ipv6?: string };
  /** Interface name inside the VM when the scenario names one (VNX <if name=...>). */
  name?: string;
  loc?: SourceLocation;
  extra: Extra;
}

export interface Exec {
  seq: string;
  type: 'verbatim' | 'file';
  ostype?: string; // VNX
  mode?: string; // VNUML (mconsole, net, ...)
  user?: string;
  text: string;
  loc?: SourceLocation;
  extra?: Extra;
}

export interface Filetree {
  seq: string;
  /** Destination directory as seen from inside the VM. */
  root: string;
  /** Source path (relative paths are relative to the scenario file's directory). */
  source: string;
  user?: string;
  group?: string;
  perms?: string;
  loc?: SourceLocation;
  extra?: Extra;
}

export interface Vm {
  name: string;
  type?: string; // uml, libvirt, lxc, dynamips, ...
  subtype?: string;
  os?: string;
  cpus?: number;
  memMB?: number;
  ifaces: Iface[];
  routes: Route[];
  forwarding?: Forwarding;
  execs: Exec[];
  filetrees: Filetree[];
  loc?: SourceLocation;
  extra: Extra;
}

export interface Net {
  name: string;
  mode: string; // virtual_bridge | uml_switch | openvswitch | ...
  /** Host interface the net is bound to (the split sets `<trunk>.<id>` for vlan spanning nets). */
  external?: string;
  vlan?: number;
  type?: string; // lan | ppp | p2p
  loc?: SourceLocation;
  extra: Extra;
}

/** The scenario's `<host>` section: the physical host's own participation. */
export interface HostSection {
  ifaces: { net: string; ipv4: IpAddress[]; ipv6: IpAddress[]; loc?: SourceLocation; extra: Extra }[];
  routes: Route[];
  forwarding?: Forwarding;
  execs: Exec[];
  loc?: SourceLocation;
  extra: Extra;
}

export interface GlobalSection {
  version: string;
  automac?: boolean;
  /** <automac offset="N"/>: offset of the generated MAC addresses. */
  automacOffset?: number;
  loc?: SourceLocation;
  extra: Extra;
}

export interface Scenario {
  name: string;
  global: GlobalSection;
  nets: Net[];
  vms: Vm[];
  host?: HostSection;
  /** VNX <cmd-seq seq="a">b,c</cmd-seq>: a sequence that runs other sequences, in order. */
  cmdSeqs: CmdSeqs;
  /** Where each cmd-seq was declared (for error messages). */
  cmdSeqLoc?: Map<string, SourceLocation>;
  source: { format: Dialect; path: string; version: string };
  /** Root-level elements not named above, in order. */
  extra: Extra;
  /**
   * What a parser read that ediv does not apply and that has no other place in the model (OVF
   * sections); `feature` is a key of FEATURES in feature-support.ts, which words the warnings.
   * Not written into fragments.
   */
  unapplied?: { feature: string; what: string; vm?: string; loc: SourceLocation }[];
}
