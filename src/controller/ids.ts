// Backplane id allocation (VLAN ids / VNIs) for the nets that span hosts.
//
// Deterministic: nets sorted by name (code-point order) take the lowest free ids of the
// cluster's range(s) in turn, skipping ids used by other running scenarios.
import { OperationError } from '../common/errors.ts';
import type { Cluster } from '../protocol/cluster.ts';

/** The usable id ranges of a cluster, ascending. */
export function idRanges(ids: Cluster['ids']): { first: number; last: number }[] {
  return ids.ranges && ids.ranges.length ? ids.ranges : [{ first: ids.first, last: ids.last }];
}

export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * net name → id for every net given, or OperationError when the range runs out. `keep`: ids
 * nets already hold (a redeployed lab's spanning nets keep theirs, even though they are in use).
 */
export function allocateIds(
  nets: string[],
  ids: Cluster['ids'],
  inUse: Set<number> = new Set(),
  keep: ReadonlyMap<string, number> = new Map(),
): Map<string, number> {
  const ranges = idRanges(ids);
  const out = new Map<string, number>();
  for (const net of nets) {
    const held = keep.get(net);
    if (held !== undefined && ranges.some((r) => held >= r.first && held <= r.last)) out.set(net, held);
  }
  const sorted = nets.filter((n) => !out.has(n)).sort(byName);
  inUse = new Set([...inUse, ...out.values()]);
  let r = 0;
  let next = ranges.length ? ranges[0].first : 0;
  for (const net of sorted) {
    let id: number | undefined;
    while (r < ranges.length) {
      if (next > ranges[r].last) {
        r++;
        if (r < ranges.length) next = ranges[r].first;
        continue;
      }
      if (!inUse.has(next)) {
        id = next++;
        break;
      }
      next++;
    }
    if (id === undefined) {
      const text = ranges.map((x) => `${x.first}-${x.last}`).join(', ');
      throw new OperationError(
        `backplane id range ${text} is exhausted: ${nets.length} nets span hosts, only ${out.size} ids are free ` +
          `(${inUse.size} in use by other scenarios); widen the cluster's id range or undeploy a scenario`,
        { details: { needed: nets.length, free: out.size, ranges } },
      );
    }
    out.set(net, id);
  }
  return out;
}
