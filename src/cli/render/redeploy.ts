// Text report of `ediv redeploy` (and `deploy --reconfigure`): what changes, then per host what was done.
import type { RedeployReport } from '../../controller/redeploy.ts';
import type { RedeployChanges } from '../../controller/redeploy-changes.ts';
import type { ScenarioWarning } from '../../scenario/feature-support.ts';
import { table } from './table.ts';
import { warningLines } from './warnings.ts';

function list(items: string[]): string {
  return items.length ? items.join(', ') : '-';
}

/** One row per kind of change; the kinds with nothing in them are left out. */
export function changeRows(c: RedeployChanges): string[][] {
  const rows: [string, string[]][] = [
    ['VMs kept running', c.vms.kept],
    ['VMs changed', c.vms.changed],
    ['VMs added', c.vms.added.map((a) => `${a.vm} → ${a.host}`)],
    ['VMs moved', c.vms.moved.map((m) => `${m.vm} ${m.from} → ${m.to}`)],
    ['VMs removed', c.vms.removed.map((r) => `${r.vm} (${r.host})`)],
    ['nets added', c.nets.added],
    ['nets changed', c.nets.changed],
    ['nets removed', c.nets.removed],
    ['spanning nets with a new id', c.spanning.added.map((s) => `${s.net} = ${s.id}`)],
    ['ids freed', c.spanning.released.map((s) => `${s.id} (${s.net})`)],
    ['hosts left', c.hosts.destroy],
  ];
  return rows.filter(([, items]) => items.length > 0).map(([what, items]) => [what, String(items.length), list(items)]);
}

export function renderRedeploy(r: RedeployReport): string {
  const secs = (r.elapsedMs / 1000).toFixed(1);
  let s: string;
  if (r.dryRun) s = `${r.scenario}: ${r.changes.none ? 'nothing would change' : 'what a redeploy would change'} (dry run, nothing touched)\n`;
  else if (r.ok) s = `${r.scenario} is running, redeployed (${r.mapping.length} VMs on ${r.changes.hosts.apply.length} hosts, ${secs} s)\n`;
  else s = `${r.scenario}: redeploy failed (recorded as failed; run it again, or undeploy)\n`;
  const rows = changeRows(r.changes);
  if (rows.length) s += '\n' + table(['CHANGE', 'N', 'WHICH'], rows);
  if (!r.dryRun) {
    s += '\n' + table(
      ['HOST', 'STATUS', 'VMS', '(RE)MADE', 'ERROR'],
      r.hosts.map((h) => [h.host, h.status, h.vms.length, h.made ? list(h.made) : '', h.error?.split('\n')[0] ?? '']),
    );
  }
  const lines = warningLines(r.warnings.filter((w): w is ScenarioWarning => w.feature !== 'deploy'));
  return s + (lines.length ? '\n' + lines.join('\n') + '\n' : '');
}
