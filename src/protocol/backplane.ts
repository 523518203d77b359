// What the controller (and the emulated cluster) know of each backplane kind: the one table of
// per-kind facts that cannot import the host agent. The host agent's implementations
// (src/host-agent/backplanes/) carry these descriptors and add the kernel work.
import { BACKPLANE_KINDS, type BackplaneKind } from './cluster.ts';
import type { Capability } from './agent.ts';

export interface BackplaneDescriptor {
  readonly kind: BackplaneKind;
  /** Name of the link type in messages ("VLAN interface ..."). */
  readonly label: string;
  /** The facts capability every host of a cluster with this backplane needs. */
  readonly capability: Capability;
  /** What a host lacking `capability` lacks ("kernel lacks <this>"). */
  readonly lacking: string;
  /** Largest id (802.1q VLAN id, VXLAN VNI); ids are 1..maxId. */
  readonly maxId: number;
  /** Whether a host's link needs its underlay address (`localAddress` of the BackplaneLink). */
  readonly needsLocalAddress: boolean;
  /** Whether the link is a subinterface of the trunk whose name (`external`) must fit in an interface name. */
  readonly namedAfterTrunk: boolean;
  /** The `external` a spanning net is bound to in a host's fragment (EDIV's naming). */
  external(trunk: string, id: number): string;
}

export const BACKPLANES: { readonly [K in BackplaneKind]: BackplaneDescriptor & { readonly kind: K } } = {
  vlan: {
    kind: 'vlan',
    label: 'VLAN',
    capability: 'vlan8021q',
    lacking: '802.1q VLANs (backplane vlan; use backplane: vxlan where the kernel lacks 8021q)',
    maxId: 4094,
    needsLocalAddress: false,
    namedAfterTrunk: true,
    external: (trunk, id) => `${trunk}.${id}`,
  },
  vxlan: {
    kind: 'vxlan',
    label: 'VXLAN',
    capability: 'vxlan',
    lacking: 'VXLAN (backplane vxlan)',
    maxId: 16777215,
    needsLocalAddress: true,
    namedAfterTrunk: false,
    external: (_trunk, id) => `vxlan${id}`,
  },
};

/** The backplane of a cluster file that names none (EDIV's). */
export const DEFAULT_BACKPLANE: BackplaneKind = BACKPLANE_KINDS[0];

export function isBackplaneKind(kind: unknown): kind is BackplaneKind {
  return (BACKPLANE_KINDS as readonly unknown[]).includes(kind);
}

/** The descriptor of every kind, in BACKPLANE_KINDS order. */
export function backplaneDescriptors(): BackplaneDescriptor[] {
  return BACKPLANE_KINDS.map((k) => BACKPLANES[k]);
}
