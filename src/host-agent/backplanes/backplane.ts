// The backplane interface: what a driver needs of a backplane kind to carry a spanning net
// between hosts. One implementation per kind (vlan.ts, vxlan.ts), found through registry.ts;
// each carries its protocol descriptor (src/protocol/backplane.ts: id range, capability, ...).
import type { Capabilities } from '../../protocol/agent.ts';
import type { BackplaneDescriptor } from '../../protocol/backplane.ts';
import type { BackplaneKind } from '../../protocol/cluster.ts';
import type { BackplaneLink } from '../../protocol/plan.ts';
import type { NameAllocator } from '../naming.ts';

/** A spanning net's backplane link as this host makes it. */
export interface BackplaneSpec {
  kind: BackplaneKind;
  /** Link name on the host. */
  dev: string;
  id: number;
  trunk: string;
  localAddress?: string;
  remotes: string[];
  /** MTU of the backplane device (and of every VM interface on the net); undefined = default. */
  mtu?: number;
}

/** What a link name may be derived from. */
export interface LinkNaming {
  /** The state-dir tag (tells apart emulated hosts sharing a kernel). */
  tag: string;
  deployment: string;
  /** The allocator of hashed host-side link names (journal + existing links). */
  names: NameAllocator;
}

export interface Backplane {
  readonly descriptor: BackplaneDescriptor;
  /** Whether link names come from the NameAllocator (their journaled names must be fed to it). */
  readonly allocatedNames: boolean;
  /** Throws an OperationError (nothing has been made yet) when this host cannot carry `nets`. */
  check(caps: Capabilities, nets: string[]): void;
  /** Host-side name of the link of `link.net`. */
  linkName(link: BackplaneLink, naming: LinkNaming): string;
  /** Bytes the encapsulation takes from the trunk's MTU; 0 = the net keeps the default MTU. */
  mtuOverhead(link: BackplaneLink): number;
  /** `ip -batch` lines that make the link and enslave it to the net's bridge. */
  linkLines(net: { bridge: string }, b: BackplaneSpec): string[];
  /** `bridge -batch` lines that tell the link its peers (none when the kernel needs none). */
  peerLines(b: BackplaneSpec): string[];
  /**
   * `facts` probe: an `ip` command line making a throw-away link of this kind (named `name`,
   * on `parent` when it needs one), or undefined when it cannot be tried.
   */
  probeLine(name: string, parent: string | undefined): string | undefined;
  /** Without root (no probe): whether the kernel shows support anyway. */
  presentWithoutRoot(): boolean;
}

/** Journal key of a net's backplane link. */
export function backplaneKey(net: string): string {
  return `backplane:${net}`;
}
