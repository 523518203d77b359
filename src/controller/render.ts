// Human-readable output of the controller commands (the --json forms print the reports as-is).
import type { DeployReport } from './deploy.ts';
import type { ExecReport } from './exec.ts';
import type { ClusterCheckReport } from './health-check.ts';
import type { StatusReport } from './status.ts';
import type { UndeployReport } from './undeploy.ts';

/** A plain text table: columns padded to their widest cell. */
export function table(head: string[], rows: (string | number | undefined)[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (c === undefined ? '' : String(c))))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function renderDeploy(r: DeployReport): string {
  let s = `${r.scenario} is running (${r.mapping.length} VMs on ${r.hosts.length} hosts, segmentator ${r.segmentator}, ` +
    `backplane ${r.backplane}, ${(r.elapsedMs / 1000).toFixed(1)} s)\n\n`;
  s += table(['VM', 'HOST'], r.mapping.map((m) => [m.vm, m.host]));
  if (r.spanning.length > 0) {
    s += '\n' + table(['NET', 'ID', 'HOSTS'], r.spanning.map((n) => [n.net, n.id, n.hosts.join(',')]));
  }
  for (const e of r.excludedHosts) s += `\nexcluded (inactive): ${e.host}: ${e.reason}`;
  if (r.excludedHosts.length) s += '\n';
  return s;
}

export function renderExec(r: ExecReport): string {
  let s = '';
  for (const v of r.vms) {
    s += `== ${v.vm} (${v.host}) ==\n`;
    for (const c of v.commands) {
      s += `$ ${c.command.trim().split('\n').join('\n  ')}\n`;
      if (c.stdout) s += c.stdout.endsWith('\n') ? c.stdout : c.stdout + '\n';
      if (c.stderr) s += c.stderr.split('\n').filter(Boolean).map((l) => `[stderr] ${l}`).join('\n') + '\n';
      if (c.exitCode !== 0) s += `[exit ${c.exitCode}]\n`;
    }
  }
  for (const f of r.failedHosts) s += `!! ${f.host}: ${f.error}\n`;
  const failed = r.vms.flatMap((v) => v.commands.filter((c) => c.exitCode !== 0).map(() => v.vm));
  if (failed.length > 0) s += `${failed.length} command(s) failed (in ${[...new Set(failed)].join(', ')})\n`;
  return s;
}

export function renderUndeploy(r: UndeployReport): string {
  if (r.record === 'partial') return `${r.scenario}: removed the selected VMs on ${r.destroyedHosts.join(', ') || 'no host'}\n`;
  let s = `${r.scenario}: destroyed on ${r.destroyedHosts.join(', ') || 'no host'}`;
  if (r.freedIds.length) s += `; freed ids ${r.freedIds.join(', ')}`;
  return s + '\n';
}

export function renderStatus(r: StatusReport, one: boolean): string {
  if (r.scenarios.length === 0) return 'no scenario is deployed\n';
  let s = '';
  if (!one) {
    s += table(
      ['SCENARIO', 'STATUS', 'VMS', 'HOSTS', 'IDS', 'SINCE'],
      r.scenarios.map((x) => [x.name, x.status, x.vms.length, x.hosts.map((h) => h.host).join(','), x.ids.map((i) => i.id).join(',') || '-', x.updatedAt]),
    );
  } else {
    const x = r.scenarios[0]!;
    s += `${x.name}: ${x.status} since ${x.updatedAt} (source ${x.source}, cluster ${x.clusterFile})\n`;
    if (x.error) s += `  last error: ${x.error}\n`;
    if (x.ids.length) s += `  ids: ${x.ids.map((i) => `${i.net}=${i.id}`).join(', ')}\n`;
    s += '\n' + table(['VM', 'HOST', 'RECORDED', 'LIVE'], x.vms.map((v) => [v.vm, v.host, v.recorded, v.live]));
  }
  if (r.hosts.length > 0) {
    s += '\n' + table(
      ['HOST', 'ADDRESS', 'LOAD', 'STATE'],
      r.hosts.map((h) => [h.host, h.address, h.loadAvg ? h.loadAvg.map((l) => l.toFixed(2)).join(' ') : '-', h.reachable ? 'up' : `unreachable: ${h.error}`]),
    );
  }
  return s;
}

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
