// `ediv plan`: the plan as text (VM → host, hosts with fragments, spanning nets, quality) and as JSON.
import type { Plan } from '../../protocol/plan.ts';
import { fragmentFile } from '../../controller/plan-preview.ts';
import { table } from './table.ts';
import { warningLines } from './warnings.ts';

export function planJson(plan: Plan, out?: string): Record<string, unknown> {
  return {
    scenario: plan.scenario,
    segmentator: plan.segmentator,
    backplane: plan.backplane,
    mapping: plan.mapping,
    spanning: plan.spanning,
    hosts: Object.fromEntries(
      Object.values(plan.hosts).map((hp) => [
        hp.host,
        {
          vms: hp.vms,
          fragment: hp.fragmentName,
          file: out ? fragmentFile(out, hp.host) : undefined,
          backplane: hp.backplane,
          driver: hp.driver,
        },
      ]),
    ),
    quality: plan.quality,
    warnings: plan.warnings ?? [],
  };
}

export function renderPlan(plan: Plan, out?: string): string {
  const lines: string[] = [];
  lines.push(`scenario ${plan.scenario}: segmentator ${plan.segmentator}, backplane ${plan.backplane}\n`);
  const vms = Object.entries(plan.mapping);
  if (vms.length) lines.push(table(['VM', 'HOST'], vms.map(([vm, host]) => [vm, host])));
  lines.push(
    table(
      ['HOST', 'VMS', 'DRIVER', 'FRAGMENT'],
      Object.values(plan.hosts).map((hp) => [hp.host, String(hp.vms.length), hp.driver ?? '-', out ? fragmentFile(out, hp.host) : hp.fragmentName]),
    ),
  );
  if (plan.spanning.length) {
    lines.push(table(['SPANNING NET', 'ID', 'HOSTS'], plan.spanning.map((s) => [s.net, String(s.id), s.hosts.join(',')])));
  } else lines.push('no net spans hosts\n');
  const q = plan.quality;
  lines.push(
    `quality: ${q.spanningNets} spanning nets, ${q.crossHostAttachments} cross-host attachments, ` +
      `imbalance ${(q.imbalance * 100).toFixed(1)} %\n`,
  );
  const warnings = warningLines(plan.warnings ?? []);
  if (warnings.length) lines.push(warnings.join('\n') + '\n');
  return lines.join('\n');
}
