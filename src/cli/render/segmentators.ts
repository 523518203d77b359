// Text output of `ediv segmentators`: one line per segmentator, with its EDIV aliases.
import type { listSegmentators } from '../../segmentators/registry.ts';

export function renderSegmentators(list: ReturnType<typeof listSegmentators>): string {
  const w = Math.max(...list.map((s) => s.name.length));
  return list.map((s) => `${s.name.padEnd(w)}  ${s.description}${s.aliases.length ? ` (EDIV: ${s.aliases.join(', ')})` : ''}\n`).join('');
}
