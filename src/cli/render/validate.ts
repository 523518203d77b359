// Text report of `ediv validate`: the summary of a valid scenario (and cluster, restrictions).
import type { ValidateSummary } from '../../controller/validate-summary.ts';
import { warningLines } from './warnings.ts';

const LIST_MAX = 40;
const DIALECTS: Record<string, string> = { vnuml: 'VNUML', vnx: 'VNX', ovf: 'OVF' };

function list<T>(items: T[], line: (x: T) => string, out: string[]): void {
  for (const x of items.slice(0, LIST_MAX)) out.push('    ' + line(x));
  if (items.length > LIST_MAX) out.push(`    … and ${items.length - LIST_MAX} more (--json lists all)`);
}

export function renderSummary(v: ValidateSummary): string {
  const out: string[] = [`${v.file}: valid ${DIALECTS[v.dialect] ?? v.dialect} ${v.version} scenario "${v.scenario}"`];
  out.push(`  VMs (${v.vms.length}):`);
  list(v.vms, (vm) => {
    const bits = [
      vm.type,
      vm.memMB !== undefined ? `${vm.memMB} MB` : undefined,
      vm.cpus !== undefined ? `${vm.cpus} vcpu` : undefined,
      vm.drivers.length ? `driver ${vm.drivers.join(' or ')}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    const dhcp = (i: (typeof vm.ifaces)[number]) => (i.dhcp ?? []).map((f) => (f === 'ipv4' ? 'dhcp' : 'dhcp6'));
    const ifs = vm.ifaces.map((i) => `if${i.id}→${i.net}${[...i.ipv4, ...i.ipv6, ...dhcp(i)].map((a) => ' ' + a).join('')}`).join('; ');
    return `${vm.name}${bits ? ` (${bits})` : ''}${ifs ? `: ${ifs}` : ''}`;
  }, out);
  out.push(`  nets (${v.nets.length}):`);
  list(v.nets, (n) => `${n.name} (${n.mode}${n.external ? `, external ${n.external}` : ''}${n.vlan !== undefined ? `, vlan ${n.vlan}` : ''}): ${n.vms.length} VM(s)`, out);
  const execs = v.sequences.filter((q) => q.kind === 'exec');
  const cmds = v.sequences.filter((q) => q.kind === 'cmd-seq');
  out.push(`  exec sequences (${execs.length}):`);
  list(execs, (q) => `${q.name}: ${[...q.vms, ...(q.host ? ['host'] : [])].join(', ')}`, out);
  if (cmds.length) {
    out.push(`  cmd-seqs (${cmds.length}):`);
    list(cmds, (q) => `${q.name} = ${q.steps!.join(', ')}`, out);
  }
  if (v.host) {
    const ifs = v.host.ifaces.map((h) => `${h.net}${[...h.ipv4, ...h.ipv6].map((a) => ' ' + a).join('')}`).join('; ');
    out.push(`  host section: ${v.host.ifaces.length} interface(s)${ifs ? ` (${ifs})` : ''}, ${v.host.routes} route(s), ${v.host.sequences.length} sequence(s)`);
  } else out.push('  host section: none');
  if (v.cluster) {
    const c = v.cluster;
    out.push(
      `  cluster ${c.file} (${c.format}): ${c.hosts.length} host(s) ${c.hosts.join(', ')}; ids ${c.ids.first}-${c.ids.last}; ` +
        `backplane ${c.backplane}; segmentator ${c.segmentator}; driver ${c.driver}`,
    );
  }
  if (v.restrictions) {
    const r = v.restrictions;
    out.push(
      `  restrictions${r.file ? ` ${r.file}` : ''}: ${r.vmDeployAt} vm_deploy_at, ${r.netDeployAt} net_deploy_at, ` +
        `${r.affinity} affinity, ${r.antiAffinity} antiaffinity, ${r.netDeployTogether} net_deploy_together`,
    );
  }
  out.push(...warningLines(v.warnings, '  '));
  return out.join('\n') + '\n';
}
