// The text of a report's scenario warnings (validate, plan, deploy): what the scenario asks that
// ediv does not apply, one `file:line:column: message` line each, grouped by feature (in order of
// first use); a long group is cut after WARNINGS_PER_FEATURE lines (--json lists all).
import { formatLocation } from '../../common/errors.ts';
import type { ScenarioWarning } from '../../scenario/feature-support.ts';

export const WARNINGS_PER_FEATURE = 8;

export function warningLines(ws: readonly ScenarioWarning[], indent = ''): string[] {
  if (ws.length === 0) return [];
  const groups = new Map<string, ScenarioWarning[]>();
  for (const w of ws) {
    const g = groups.get(w.feature);
    if (g) g.push(w);
    else groups.set(w.feature, [w]);
  }
  const out = [`${indent}warnings (${ws.length}): what the scenario asks that ediv does not apply`];
  for (const [feature, list] of groups) {
    for (const w of list.slice(0, WARNINGS_PER_FEATURE)) out.push(`${indent}  ${formatLocation(w.loc)}: ${w.message}`);
    const more = list.length - WARNINGS_PER_FEATURE;
    if (more > 0) out.push(`${indent}  … and ${more} more "${feature}" warning${more > 1 ? 's' : ''} (--json lists all)`);
  }
  return out;
}
