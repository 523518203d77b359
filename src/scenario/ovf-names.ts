// OVF ids and names are free text ("storage server", "VS Network"); ediv's VM and net names
// become namespace, bridge and directory names, so they are mapped to safe names
// (src/common/names.ts) deterministically, in document order:
//   1. every run of characters outside [A-Za-z0-9_.-] becomes one "_", ".." becomes ".",
//      leading characters other than letters/digits are dropped, the result is cut to 63;
//   2. an empty result becomes the fallback ("vm1", "net2", ...);
//   3. a name already taken (case-insensitively) gets "-2", "-3", ... appended.
import { isSafeName } from '../common/names.ts';

const MAX = 63;

export class SafeNamer {
  private readonly taken = new Set<string>();

  /** The safe name for `raw`; `fallback` is used when nothing usable is left. */
  name(raw: string, fallback: string): string {
    let base = raw
      .trim()
      .replace(/[^A-Za-z0-9_.-]+/g, '_')
      .replace(/\.{2,}/g, '.')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, MAX);
    if (!isSafeName(base)) base = fallback;
    let candidate = base;
    for (let n = 2; this.taken.has(candidate.toLowerCase()); n++) {
      const suffix = `-${n}`;
      candidate = base.slice(0, MAX - suffix.length) + suffix;
    }
    this.taken.add(candidate.toLowerCase());
    return candidate;
  }
}
