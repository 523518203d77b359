// Bounded parallelism: the one map that runs at most `limit` tasks at once.

/** Runs `fn` over `items` with at most `limit` running at once; results in input order. Rejects on the first failure. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const n = Math.max(1, Math.min(Number.isFinite(limit) ? Math.floor(limit) : items.length, items.length));
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  if (items.length) await Promise.all(Array.from({ length: n }, worker));
  return results;
}

export type Settled<T, R> = { item: T; ok: true; value: R } | { item: T; ok: false; error: unknown };

/** Like mapLimit, but never rejects: every item gets an outcome, failures included. */
export async function mapLimitSettled<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<Settled<T, R>[]> {
  return mapLimit(items, limit, async (item, i): Promise<Settled<T, R>> => {
    try {
      return { item, ok: true, value: await fn(item, i) };
    } catch (error) {
      return { item, ok: false, error };
    }
  });
}
