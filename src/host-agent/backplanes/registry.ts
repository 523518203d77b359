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

/** Refuses backplane links whose trunk interface this host does not have. */
export function checkTrunks(links: BackplaneLink[], hostLinks: ReadonlyMap<string, unknown>, host: string): void {
  for (const b of links) {
    if (!hostLinks.has(b.trunk)) throw new OperationError(`backplane trunk interface ${b.trunk} (net ${b.net}) does not exist on host ${host}`);
  }
}
