// `ediv validate <file> [--cluster F] [--restrictions F] [--json]`: parse and check a scenario
// (and optionally a cluster file and a restriction file) without touching any host.
import type { Command } from 'commander';
import type { Scenario } from '../scenario/model.ts';
import type { Cluster } from '../protocol/cluster.ts';
import type { Restrictions } from '../protocol/restrictions.ts';
import { parseScenarioFile } from '../scenario/index.ts';
import { loadCluster } from '../controller/cluster.ts';
import { loadRestrictions } from '../controller/restrictions.ts';
import { action, printJson } from './output.ts';

interface ValidateOptions {
  cluster?: string;
  restrictions?: string;
  json?: boolean;
}

const HELP = `
Checks, in this order, stopping at the first file with problems:
  1. the scenario: well-formed XML (no external entities, bounded entity expansion), the
     VNUML 1.8 / VNX 1.x-2.0 / OVF structure, then the semantics: unique VM and net names,
     names usable as host-side identifiers, interfaces on declared nets with unique ids,
     valid IPv4/IPv6 addresses, prefixes and route gateways, cmd-seqs naming existing
     sequences without loops;
  2. --cluster: the cluster file (YAML, JSON or EDIV cluster.conf);
  3. --restrictions: the EDIV restriction file, against the scenario (and the cluster).
Every problem of a file is listed as file:line:column: message.

Exit codes: 0 valid, 2 invalid input, 1 anything else.

Examples:
  ediv validate scenario.xml
  ediv validate scenario.xml --cluster cluster.yaml --restrictions restrictions.xml
  ediv validate scenario.xml --json | jq .vms[].name`;

export function register(program: Command): void {
  program
    .command('validate')
    .description('Check a scenario (and optionally cluster and restriction files) and summarize it')
    .argument('<file>', 'scenario file: VNUML 1.8 (<vnuml>), VNX 1.x/2.0 (<vnx>) or OVF (<Envelope>)')
    .option('--cluster <file>', 'also load and check this cluster file')
    .option('--restrictions <file>', 'also load this EDIV restriction file and check it against the scenario')
    .option('--json', 'print one JSON document: the summary, or {ok:false, problems:[{file,line,column,message}]}')
    .addHelpText('after', HELP)
    .action(
      action(async (file: string, opts: ValidateOptions) => {
        const scenario = await parseScenarioFile(file);
        const cluster = opts.cluster ? await loadCluster(opts.cluster) : undefined;
        const restrictions = opts.restrictions ? await loadRestrictions(opts.restrictions, scenario, cluster) : undefined;
        const summary = summarize(file, scenario, cluster, restrictions);
        if (opts.json) printJson(summary);
        else process.stdout.write(renderSummary(summary));
        return 0;
      }),
    );
}

export interface SequenceSummary {
  name: string;
  /** exec / filetree sequences run on VMs (or the host); cmd-seq runs other sequences. */
  kind: 'exec' | 'cmd-seq';
  vms: string[];
  host: boolean;
  steps?: string[];
}

export interface ValidateSummary {
  ok: true;
  file: string;
  dialect: Scenario['source']['format'];
  version: string;
  scenario: string;
  vms: { name: string; type?: string; memMB?: number; cpus?: number; ifaces: { id: number; net: string; ipv4: string[]; ipv6: string[] }[]; sequences: string[] }[];
  nets: { name: string; mode: string; external?: string; vlan?: number; vms: string[] }[];
  sequences: SequenceSummary[];
  host: { ifaces: { net: string; ipv4: string[]; ipv6: string[] }[]; routes: number; sequences: string[] } | null;
  cluster?: { file: string; format: string; hosts: string[]; ids: { first: number; last: number }; backplane: string; segmentator: string };
  restrictions?: { file?: string; vmDeployAt: number; netDeployAt: number; affinity: number; antiAffinity: number; netDeployTogether: number };
}

export function summarize(file: string, s: Scenario, cluster?: Cluster, r?: Restrictions): ValidateSummary {
  const addr = (a: { address: string; prefix: number }) => `${a.address}/${a.prefix}`;
  const seqs = new Map<string, SequenceSummary>();
  const seqOf = (name: string) => {
    let q = seqs.get(name);
    if (!q) seqs.set(name, (q = { name, kind: 'exec', vms: [], host: false }));
    return q;
  };
  const vmOnNet = new Map<string, Set<string>>();
  const vms = s.vms.map((vm) => {
    const own = [...new Set([...vm.filetrees.map((f) => f.seq), ...vm.execs.map((x) => x.seq)])];
    for (const q of own) seqOf(q).vms.push(vm.name);
    for (const i of vm.ifaces) {
      let set = vmOnNet.get(i.net);
      if (!set) vmOnNet.set(i.net, (set = new Set()));
      set.add(vm.name);
    }
    return {
      name: vm.name,
      type: vm.type,
      memMB: vm.memMB,
      cpus: vm.cpus,
      ifaces: vm.ifaces.map((i) => ({ id: i.id, net: i.net, ipv4: i.ipv4.map(addr), ipv6: i.ipv6.map(addr) })),
      sequences: own,
    };
  });
  const hostSeqs = [...new Set(s.host?.execs.map((x) => x.seq) ?? [])];
  for (const q of hostSeqs) seqOf(q).host = true;
  for (const [name, steps] of s.cmdSeqs) seqs.set(name, { name, kind: 'cmd-seq', vms: [], host: false, steps });
  return {
    ok: true,
    file,
    dialect: s.source.format,
    version: s.source.version,
    scenario: s.name,
    vms,
    nets: s.nets.map((n) => ({ name: n.name, mode: n.mode, external: n.external, vlan: n.vlan, vms: [...(vmOnNet.get(n.name) ?? [])] })),
    sequences: [...seqs.values()],
    host: s.host
      ? {
          ifaces: s.host.ifaces.map((h) => ({ net: h.net, ipv4: h.ipv4.map(addr), ipv6: h.ipv6.map(addr) })),
          routes: s.host.routes.length,
          sequences: hostSeqs,
        }
      : null,
    cluster: cluster && {
      file: cluster.source.path,
      format: cluster.source.format,
      hosts: cluster.hosts.map((h) => h.name),
      ids: { first: cluster.ids.first, last: cluster.ids.last },
      backplane: cluster.backplane,
      segmentator: cluster.segmentator,
    },
    restrictions: r && {
      file: r.source,
      vmDeployAt: r.vmDeployAt.length,
      netDeployAt: r.netDeployAt.length,
      affinity: r.affinity.length,
      antiAffinity: r.antiAffinity.length,
      netDeployTogether: r.netDeployTogether.length,
    },
  };
}

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
    const bits = [vm.type, vm.memMB !== undefined ? `${vm.memMB} MB` : undefined, vm.cpus !== undefined ? `${vm.cpus} vcpu` : undefined]
      .filter(Boolean)
      .join(', ');
    const ifs = vm.ifaces.map((i) => `if${i.id}→${i.net}${[...i.ipv4, ...i.ipv6].map((a) => ' ' + a).join('')}`).join('; ');
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
    out.push(`  cluster ${c.file} (${c.format}): ${c.hosts.length} host(s) ${c.hosts.join(', ')}; ids ${c.ids.first}-${c.ids.last}; backplane ${c.backplane}; segmentator ${c.segmentator}`);
  }
  if (v.restrictions) {
    const r = v.restrictions;
    out.push(
      `  restrictions${r.file ? ` ${r.file}` : ''}: ${r.vmDeployAt} vm_deploy_at, ${r.netDeployAt} net_deploy_at, ` +
        `${r.affinity} affinity, ${r.antiAffinity} antiaffinity, ${r.netDeployTogether} net_deploy_together`,
    );
  }
  return out.join('\n') + '\n';
}
