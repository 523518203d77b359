// Running one operation on many hosts with bounded parallelism.
export type HostOutcome<H, T> = { host: H; ok: true; value: T } | { host: H; ok: false; error: unknown };

/**
 * Runs `fn` for every host, at most `limit` at once, and returns every outcome in the hosts'
 * order. Never rejects: a failed host is an outcome, so callers can report or roll back per host.
 */
export async function mapHosts<H, T>(hosts: readonly H[], limit: number, fn: (host: H, index: number) => Promise<T>): Promise<HostOutcome<H, T>[]> {
  const out = new Array<HostOutcome<H, T>>(hosts.length);
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const i = next++;
      const host = hosts[i]!;
      try {
        out[i] = { host, ok: true, value: await fn(host, i) };
      } catch (error) {
        out[i] = { host, ok: false, error };
      }
    }
  };
  const n = Math.max(1, Math.min(Number.isFinite(limit) ? Math.floor(limit) : hosts.length, hosts.length));
  await Promise.all(Array.from({ length: n }, worker));
  return out;
}

/** The values of all outcomes, or throws the first failure. */
export function valuesOrThrow<H, T>(outcomes: HostOutcome<H, T>[]): T[] {
  const bad = outcomes.find((o) => !o.ok);
  if (bad && !bad.ok) throw bad.error;
  return outcomes.map((o) => (o as { value: T }).value);
}
