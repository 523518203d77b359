// Comparing and naming deployment owners, the same way on the controller and on the hosts.
import type { DeploymentOwner } from './agent.ts';

/** Both given, same user and same state store. */
export function sameOwner(a: DeploymentOwner | undefined, b: DeploymentOwner | undefined): boolean {
  return a !== undefined && b !== undefined && a.user === b.user && a.store === b.store;
}

/** A store id as messages show it: its first 8 characters. */
export function shortStore(store: string): string {
  return store.length > 8 ? `${store.slice(0, 8)}…` : store;
}

/** `alice (state store 1f2e3d4c…)`. */
export function describeOwner(o: DeploymentOwner): string {
  return `${o.user} (state store ${shortStore(o.store)})`;
}
