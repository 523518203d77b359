// Text report of `ediv cluster check`: one table of every item per host, then what is wrong.
import type { ClusterCheckReport } from '../../controller/health-check.ts';
import { table } from './table.ts';

export function renderCheck(r: ClusterCheckReport): string {
  const rows: string[][] = [];
  for (const h of r.hosts) {
    if (!h.reachable) {
      rows.push([h.host, 'ssh', 'FAILED', h.problems[0] ?? 'unreachable']);
      continue;
    }
    for (const q of h.requirements) rows.push([h.host, q.check, q.ok ? 'ok' : q.required ? 'MISSING' : 'advice', q.found]);
  }
  let s = table(['HOST', 'CHECK', 'RESULT', 'FOUND'], rows);
  s += `\nbackplane ids: ${r.ids.free} free of ${r.ids.total} (${r.ids.first}-${r.ids.last})\n`;
  const advice = r.hosts.flatMap((h) => h.requirements.filter((q) => !q.ok && !q.required).map((q) => `  ${h.host}: ${q.check}: ${q.need}`));
  if (advice.length) s += `\nadvice (a deploy goes on without these):\n${advice.join('\n')}\n`;
  if (r.problems.length > 0) {
    s += '\nwhat is wrong:\n' + r.problems.map((p) => `  ${p.host}: ${p.problem}`).join('\n') + '\n';
  } else {
    s += `\nall ${r.hosts.length} hosts are ready (backplane ${r.backplane}, controller ${r.controllerVersion})\n`;
  }
  return s;
}
