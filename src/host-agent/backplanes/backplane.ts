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
  /**
   * The link's UDP port, only when it is not the kind's `defaultPort` (so the spec, and its hash,
   * of a link made before ports were configurable stays the same).
   */
  port?: number;
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
  /** The UDP port of an encapsulating kind's links when the request names none; undefined: links of this kind have no port. */
  readonly defaultPort?: number;
  /**
   * Bytes the encapsulation takes from the trunk's MTU; 0 = without the request's trunkMTU, the
   * net keeps the default MTU (see backplaneMtu).
   */
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

/**
 * The MTU of a spanning net (its backplane device, bridge and VM interfaces): the trunk's MTU —
 * the request's `trunkMTU` (the cluster file's), else the trunk interface's own — minus the
 * encapsulation. Undefined: the kernel's defaults (a kind without overhead, and no trunkMTU).
 */
export function backplaneMtu(b: Backplane, link: BackplaneLink, trunkInterfaceMtu: number | undefined): number | undefined {
  const overhead = b.mtuOverhead(link);
  const trunk = link.trunkMTU ?? (overhead ? trunkInterfaceMtu : undefined);
  return trunk === undefined ? undefined : trunk - overhead;
}

/** The spec's `port`: the link's, unless it is the kind's default. */
export function specPort(b: Backplane, link: BackplaneLink): Pick<BackplaneSpec, 'port'> {
  return link.port !== undefined && link.port !== b.defaultPort ? { port: link.port } : {};
}
