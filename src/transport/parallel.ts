// Running one operation on many hosts with bounded parallelism.
import { mapLimitSettled } from '../common/parallel.ts';

export type HostOutcome<H, T> = { host: H; ok: true; value: T } | { host: H; ok: false; error: unknown };

/**
 * Runs `fn` for every host, at most `limit` at once, and returns every outcome in the hosts'
 * order. Never rejects: a failed host is an outcome, so callers can report or roll back per host.
 */
export async function mapHosts<H, T>(hosts: readonly H[], limit: number, fn: (host: H, index: number) => Promise<T>): Promise<HostOutcome<H, T>[]> {
  const settled = await mapLimitSettled(hosts, limit, fn);
  return settled.map((o) => (o.ok ? { host: o.item, ok: true, value: o.value } : { host: o.item, ok: false, error: o.error }));
}

/** The values of all outcomes, or throws the first failure. */
export function valuesOrThrow<H, T>(outcomes: HostOutcome<H, T>[]): T[] {
  const bad = outcomes.find((o) => !o.ok);
  if (bad && !bad.ok) throw bad.error;
  return outcomes.map((o) => (o as { value: T }).value);
}
