// VNX's `<net><connection name="c" net="m"/>`: a link between two nets (an Open vSwitch patch
// or a veth between their bridges). Connected nets are one layer-2 segment for placement and
// the split: they are carried by the same hosts, so every fragment that has one has the other.
import type { SourceLocation } from '../common/errors.ts';
import type { Net, Scenario } from './model.ts';

export interface NetConnection {
  /** The net whose element holds the connection. */
  from: string;
  name?: string;
  /** The net it connects to. */
  to: string;
  loc?: SourceLocation;
}

export function netConnections(nets: Pick<Net, 'name' | 'extra'>[]): NetConnection[] {
  return nets.flatMap((n) =>
    n.extra.children
      .filter((c) => c.node.tag === 'connection')
      .map((c): NetConnection => ({ from: n.name, to: c.node.attrs.net ?? '', ...(c.node.attrs.name ? { name: c.node.attrs.name } : {}), loc: c.loc })),
  );
}

/** net → the name of its segment (the first net, in document order, of its connected group). */
export function netSegments(s: Pick<Scenario, 'nets'>): Map<string, string> {
  const parent = new Map(s.nets.map((n) => [n.name, n.name]));
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  const order = new Map(s.nets.map((n, i) => [n.name, i]));
  for (const c of netConnections(s.nets)) {
    if (!parent.has(c.to) || !parent.has(c.from)) continue; // reported by the checks
    const [a, b] = [find(c.from), find(c.to)].sort((x, y) => order.get(x)! - order.get(y)!);
    parent.set(b!, a!);
  }
  return new Map([...parent.keys()].map((n) => [n, find(n)]));
}
