// The lab graph `ediv graph` draws, made from a plan (made now, or recorded at deploy): hosts
// holding their VMs (and the <host> section), nets, and one link per VM interface.
//
// A net that spans hosts is ONE net carried by the backplane: it appears once, with its id and
// carriers, and is linked to VMs on several hosts. Any other net lives on exactly one host (the
// split puts it in one fragment only), except a host's own bridge (managed="no"), which is per
// host and never joined: it appears once per host that has it, each with its `host`.
import type { IpAddress, Iface, Scenario } from '../scenario/model.ts';
import { netIfaces } from '../scenario/reserved-nets.ts';
import type { BackplaneKind } from '../protocol/cluster.ts';
import type { Plan } from '../protocol/plan.ts';

export interface GraphHost {
  name: string;
  /** Its VMs, in document order. */
  vms: string[];
  /** The scenario's <host> section (the physical host's own interfaces), on the one host that runs it. */
  hostSection?: { ifaces: { net: string; addresses: string[] }[] };
}

export interface GraphNet {
  name: string;
  /** The host the net is on; absent for a spanning net. */
  host?: string;
  /** A net carried by the backplane: its VLAN id / VNI and the hosts carrying it. */
  spanning?: { id: number; hosts: string[] };
}

export interface GraphLink {
  vm: string;
  /** The interface id (<if id>). */
  iface: number;
  net: string;
  /** "addr/prefix" per address, then DHCP as written ("dhcp", "dhcp,ADDR"; "…(ipv6)" for IPv6). */
  addresses: string[];
}

export interface LabGraph {
  scenario: string;
  backplane: BackplaneKind;
  hosts: GraphHost[];
  nets: GraphNet[];
  links: GraphLink[];
}

export function graphOfPlan(plan: Plan): LabGraph {
  const spanning = new Map(plan.spanning.map((s) => [s.net, s]));
  const hosts: GraphHost[] = [];
  const nets: GraphNet[] = [];
  const links: GraphLink[] = [];
  const seen = new Set<string>();
  for (const hp of Object.values(plan.hosts)) {
    hosts.push({ name: hp.host, vms: [...hp.vms], ...hostSectionOf(hp.fragment) });
    for (const net of hp.fragment.nets) {
      const s = spanning.get(net.name);
      const g: GraphNet = s ? { name: net.name, spanning: { id: s.id, hosts: [...s.hosts] } } : { name: net.name, host: hp.host };
      const key = netKey(g);
      if (seen.has(key)) continue;
      seen.add(key);
      nets.push(g);
    }
    for (const vm of hp.fragment.vms) {
      for (const f of netIfaces(vm)) links.push({ vm: vm.name, iface: f.id, net: f.net, addresses: ifaceAddresses(f) });
    }
  }
  return { scenario: plan.scenario, backplane: plan.backplane, hosts, nets, links };
}

/** A key naming one net node: the net's name, with its host unless it spans. */
export function netKey(net: GraphNet): string {
  return net.host === undefined ? net.name : `${net.name}@${net.host}`;
}

/** The net node that an interface on `net`, on `host`, is linked to. */
export function netOn(graph: LabGraph, host: string, net: string): GraphNet | undefined {
  return graph.nets.find((n) => n.name === net && (n.host === undefined || n.host === host));
}

/** vm name → the host it runs on. */
export function hostOfVm(graph: LabGraph): Map<string, string> {
  return new Map(graph.hosts.flatMap((h) => h.vms.map((vm) => [vm, h.name] as const)));
}

function hostSectionOf(fragment: Scenario): Pick<GraphHost, 'hostSection'> {
  if (!fragment.host) return {};
  return { hostSection: { ifaces: fragment.host.ifaces.map((hi) => ({ net: hi.net, addresses: addressTexts(hi.ipv4, hi.ipv6) })) } };
}

function ifaceAddresses(f: Iface): string[] {
  const dhcp = [f.dhcp?.ipv4, f.dhcp?.ipv6 && `${f.dhcp.ipv6} (ipv6)`].filter((d): d is string => Boolean(d));
  return [...addressTexts(f.ipv4, f.ipv6), ...dhcp];
}

function addressTexts(ipv4: IpAddress[], ipv6: IpAddress[]): string[] {
  return [...ipv4, ...ipv6].map((a) => `${a.address}/${a.prefix}`);
}
