// The backplanes this host agent can make, by kind. Adding one: a module implementing
// Backplane (backplane.ts) next to vlan.ts/vxlan.ts, its kind and descriptor in src/protocol/
// (cluster.ts BACKPLANE_KINDS, backplane.ts BACKPLANES), and one line below.
import { OperationError } from '../../common/errors.ts';
import type { Capabilities } from '../../protocol/agent.ts';
import { BACKPLANE_KINDS, type BackplaneKind } from '../../protocol/cluster.ts';
import type { BackplaneLink } from '../../protocol/plan.ts';
import type { Backplane } from './backplane.ts';
import { vlanBackplane } from './vlan.ts';
import { vxlanBackplane } from './vxlan.ts';

const BACKPLANE_IMPLS: { readonly [K in BackplaneKind]: Backplane } = {
  vlan: vlanBackplane,
  vxlan: vxlanBackplane,
};

export function backplaneFor(kind: BackplaneKind): Backplane {
  const b = (BACKPLANE_IMPLS as Partial<Record<string, Backplane>>)[kind];
  if (!b) throw new OperationError(`unknown backplane ${JSON.stringify(kind)} (known: ${BACKPLANE_KINDS.join(', ')})`);
  return b;
}

/** Every backplane, in BACKPLANE_KINDS order. */
export function backplanes(): Backplane[] {
  return BACKPLANE_KINDS.map((k) => BACKPLANE_IMPLS[k]);
}

/** Refuses, before anything is made, backplane links this host's kernel cannot make (kind by kind). */
export function checkBackplaneSupport(caps: Capabilities, links: BackplaneLink[]): void {
  for (const b of backplanes()) {
    const nets = links.filter((l) => l.kind === b.descriptor.kind).map((l) => l.net);
    if (nets.length) b.check(caps, nets);
  }
}

/**
 * Refuses, before anything is made, backplane links whose trunk interface this host does not
 * have, or whose trunkMTU (the cluster file's) is more than that interface's MTU: the kernel would
 * refuse such a VLAN subinterface half-way through the apply, and silently cap a VXLAN device at
 * the interface's MTU - 50 while the bridge and the VMs took the larger MTU (big frames lost).
 */
export function checkTrunks(links: BackplaneLink[], hostLinks: ReadonlyMap<string, { mtu?: number }>, host: string): void {
  for (const b of links) {
    const trunk = hostLinks.get(b.trunk);
    if (!trunk) throw new OperationError(`backplane trunk interface ${b.trunk} (net ${b.net}) does not exist on host ${host}`);
    if (b.trunkMTU !== undefined && trunk.mtu !== undefined && trunk.mtu < b.trunkMTU) {
      throw new OperationError(
        `the cluster file's trunkMTU ${b.trunkMTU} (net ${b.net}) is more than the MTU ${trunk.mtu} of trunk interface ${b.trunk} on host ${host}; ` +
          `nothing was changed: raise the interface's MTU (ip link set dev ${b.trunk} mtu ${b.trunkMTU}) or lower trunkMTU`,
      );
    }
  }
}
