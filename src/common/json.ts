// JSON that keeps Maps: the scenario model's tables are Maps (names like `__proto__` are just
// keys there), and a plan stored as JSON must come back with them. A Map is written as
// {"$map": [[key, value], ...]}; nothing else in ediv's data has a "$map" key.

const TAG = '$map';

/** `omitKeys`: object keys left out wherever they occur (e.g. source positions, to compare definitions). */
export function stringifyWithMaps(value: unknown, omitKeys?: ReadonlySet<string>): string {
  return JSON.stringify(value, (key, v: unknown) => (omitKeys?.has(key) ? undefined : v instanceof Map ? { [TAG]: [...v] } : v));
}

export function parseWithMaps<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && Array.isArray((v as Record<string, unknown>)[TAG])) {
      return new Map((v as Record<string, [unknown, unknown][]>)[TAG]);
    }
    return v;
  }) as T;
}
