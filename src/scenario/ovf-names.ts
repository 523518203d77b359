// OVF ids and names are free text ("storage server", "VS Network"); ediv's VM and net names
// become namespace, bridge and directory names, so they are mapped to safe names
// (src/common/names.ts) deterministically, in document order:
//   1. every run of characters outside [A-Za-z0-9_.-] becomes one "_", ".." becomes ".",
//      leading characters other than letters/digits are dropped, the result is cut to 63;
//   2. an empty result becomes the fallback ("vm1", "net2", ...);
//   3. a name already taken (case-insensitively) gets "-2", "-3", ... appended.
// The instances of a scaled-out virtual system are named <name>-1, <name>-2, ...
import { isSafeName } from '../common/names.ts';

const MAX = 63;

/** `base` with `suffix` appended, `base` shortened so that the result fits in MAX characters. */
function withSuffix(base: string, suffix: string): string {
  return base.slice(0, MAX - suffix.length) + suffix;
}

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
    return this.unique(base);
  }

  /**
   * Names for `count` instances of one thing: <name>-1 … <name>-<count>, where <name> is what
   * name(raw, fallback) gives. <name> itself is taken too, so that no later VM gets it.
   */
  instances(raw: string, fallback: string, count: number): string[] {
    const base = this.name(raw, fallback);
    return Array.from({ length: count }, (_, i) => this.unique(withSuffix(base, `-${i + 1}`)));
  }

  /** `base`, or `base-2`, `base-3`, … when taken; the result is taken from now on. */
  private unique(base: string): string {
    let candidate = base;
    for (let n = 2; this.taken.has(candidate.toLowerCase()); n++) candidate = withSuffix(base, `-${n}`);
    this.taken.add(candidate.toLowerCase());
    return candidate;
  }
}
