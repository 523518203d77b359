// Text report of `ediv cluster check`: one line per host, then what is wrong.
import type { ClusterCheckReport } from '../../controller/health-check.ts';
import { table } from './table.ts';

export function renderCheck(r: ClusterCheckReport): string {
  let s = table(
    ['HOST', 'ADDRESS', 'VERSION', 'ROOT', 'RESULT'],
    r.hosts.map((h) => [h.host, h.address, h.version ?? '-', h.root === undefined ? '-' : h.root ? 'yes' : 'no', h.problems.length ? `${h.problems.length} problem(s)` : 'ok']),
  );
  if (r.problems.length > 0) {
    s += '\nwhat is wrong:\n' + r.problems.map((p) => `  ${p.host}: ${p.problem}`).join('\n') + '\n';
  } else {
    s += `\nall ${r.hosts.length} hosts are ready (backplane ${r.backplane}, controller ${r.controllerVersion})\n`;
  }
  return s;
}
