// Text report of `ediv deploy`: the VM → host table and spanning nets, or what a failure left.
import type { DeployFailure, DeployReport } from '../../controller/deploy.ts';
import type { ScenarioWarning } from '../../scenario/feature-support.ts';
import { table } from './table.ts';
import { warningLines } from './warnings.ts';

const OUTCOME: Record<DeployFailure['outcome'], string> = {
  untouched: 'nothing was touched',
  'rolled-back': 'rolled back: nothing is left on any host',
  kept: 'left in place for inspection (recorded as failed)',
  'rollback-incomplete': 'rollback incomplete: the record is kept',
};

function excludedLines(r: DeployReport): string {
  let s = '';
  for (const e of r.excludedHosts) s += `\nexcluded (inactive): ${e.host}: ${e.reason}`;
  if (r.excludedHosts.length) s += '\n';
  return s;
}

/** The scenario's warnings (the operational ones were shown as they happened). */
function warningText(r: DeployReport): string {
  const lines = warningLines(r.warnings.filter((w): w is ScenarioWarning => w.feature !== 'deploy'));
  return lines.length ? '\n' + lines.join('\n') + '\n' : '';
}

function renderFailure(r: DeployFailure): string {
  let s = `${r.scenario} is not deployed (${OUTCOME[r.outcome]})\n`;
  if (r.failedHosts.length > 0) s += '\n' + table(['FAILED HOST', 'ERROR'], r.failedHosts.map((f) => [f.host, f.error.split('\n')[0]]));
  if (r.leftovers.length > 0) s += '\n' + table(['NOT CLEANED', 'ERROR'], r.leftovers.map((f) => [f.host, f.error.split('\n')[0]]));
  return s + excludedLines(r) + warningText(r);
}

export function renderDeploy(r: DeployReport): string {
  if (!r.ok) return renderFailure(r);
  let s = `${r.scenario} is running (${r.mapping.length} VMs on ${r.hosts.length} hosts, segmentator ${r.segmentator}, ` +
    `backplane ${r.backplane}, ${(r.elapsedMs / 1000).toFixed(1)} s)\n\n`;
  s += table(['VM', 'HOST'], r.mapping.map((m) => [m.vm, m.host]));
  if (r.spanning.length > 0) {
    s += '\n' + table(['NET', 'ID', 'HOSTS'], r.spanning.map((n) => [n.net, n.id, n.hosts.join(',')]));
  }
  return s + excludedLines(r) + warningText(r);
}
