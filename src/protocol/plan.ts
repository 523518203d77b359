// The plan: segmentation + split + id allocation (DESIGN.md, "Plan").
import type { Scenario } from '../scenario/model.ts';
import type { ScenarioWarning } from '../scenario/feature-support.ts';
import type { BackplaneKind } from './cluster.ts';

/** vm name → host name, for every VM of the scenario. */
export type Mapping = Record<string, string>;

/** A net whose VMs are on more than one host, carried by the backplane. */
export interface SpanningNet {
  net: string;
  /** VLAN id or VNI, from the cluster range, unique among running scenarios. */
  id: number;
  /** Hosts that carry the net, sorted. */
  hosts: string[];
}

/** Backplane work for one spanning net on one host. */
export interface BackplaneLink {
  kind: BackplaneKind;
  net: string;
  id: number;
  /** Local trunk interface (vlan parent / vxlan underlay device). */
  trunk: string;
  /** vxlan: this host's underlay address. */
  localAddress?: string;
  /** vxlan: underlay addresses of the other hosts carrying the net (head-end replication). */
  remotes: string[];
  /**
   * vxlan: the UDP port of the link (the cluster file's `vxlan.port`; the controller always sends
   * it for vxlan). Absent (requests made before it existed): VXLAN_DEFAULT_PORT. Not for vlan.
   */
  port?: number;
  /**
   * The trunk path's MTU (the cluster file's `trunkMTU`), from which the net's MTU is derived
   * (minus the encapsulation). Absent: the trunk interface's own MTU (vxlan) or the kernel's
   * default (vlan). Never more than the trunk interface's MTU on the host.
   */
  trunkMTU?: number;
}

export interface HostPlan {
  host: string;
  vms: string[];
  /** Fragment scenario name, `<scenario>_<host>`. */
  fragmentName: string;
  /** The fragment, in the source dialect (VNUML/VNX XML). */
  fragmentXml: string;
  fragment: Scenario;
  backplane: BackplaneLink[];
  /** The driver every VM of the fragment runs with (ApplyRequest.driver); absent in plans recorded before. */
  driver?: string;
}

export interface PlanQuality {
  spanningNets: number;
  /** Sum over spanning nets of (hosts carrying it - 1): extra trunk attachments. */
  crossHostAttachments: number;
  /** max host load / ideal load - 1, as a fraction (0 = perfectly balanced). */
  imbalance: number;
}

export interface Plan {
  scenario: string;
  segmentator: string;
  backplane: BackplaneKind;
  mapping: Mapping;
  spanning: SpanningNet[];
  hosts: Record<string, HostPlan>;
  quality: PlanQuality;
  /** What the scenario asks that the hosts' drivers do not apply (controller/drivers.ts); absent in plans recorded before. */
  warnings?: ScenarioWarning[];
}
