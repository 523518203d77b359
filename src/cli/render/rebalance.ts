// Text report of `ediv rebalance --dry-run`: the moves, then each host's load before and after.
import type { RebalanceReport } from '../../controller/rebalance-command.ts';
import { table } from './table.ts';

export function renderRebalance(r: RebalanceReport): string {
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  let s = r.moves.length
    ? `${r.lab}: ${r.moves.length} move(s) to stay under ${pct(r.maxLoad)} of each host's CPUs (planned by ${r.planner}; not applied: --dry-run)\n\n` +
      table(['VM', 'FROM', 'TO', 'CPU %'], r.moves.map((m) => [m.vm, m.from, m.to, r.vmCpu[m.vm]?.toFixed(1) ?? '-']))
    : `${r.lab}: no move needed${r.over.length ? ' that can be made' : ''} (threshold ${pct(r.maxLoad)} of each host's CPUs)\n`;
  s += '\n' + table(['HOST', 'LOAD NOW', 'AFTER'], r.loads.map((l) => [l.host, pct(l.before), pct(l.after)]));
  if (r.over.length) s += `\nstill above the threshold (nothing of theirs fits elsewhere under the restrictions): ${r.over.join(', ')}\n`;
  return s;
}
