// `ediv validate` as one call: parse and check a scenario (and optionally a cluster file and a
// restriction file, checked against it) without touching any host, and summarize what it holds.
import type { Scenario } from '../scenario/model.ts';
import type { ScenarioWarning } from '../scenario/feature-support.ts';
import { AUTO_DRIVER, type Cluster } from '../protocol/cluster.ts';
import type { Restrictions } from '../protocol/restrictions.ts';
import { parseScenarioFile } from '../scenario/index.ts';
import { loadCluster } from './cluster.ts';
import { candidateDrivers, unplacedWarnings } from './drivers.ts';
import { loadRestrictions } from './restrictions.ts';
import { seqNames } from '../scenario/sequences.ts';

export interface ValidateRequest {
  file: string;
  cluster?: string;
  restrictions?: string;
}

/** Checks, in this order, stopping at the first file with problems (InputError): scenario, cluster, restrictions. */
export async function validateFiles(req: ValidateRequest): Promise<ValidateSummary> {
  const scenario = await parseScenarioFile(req.file);
  const cluster = req.cluster ? await loadCluster(req.cluster) : undefined;
  const restrictions = req.restrictions ? await loadRestrictions(req.restrictions, scenario, cluster) : undefined;
  return summarize(req.file, scenario, cluster, restrictions);
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
  vms: {
    name: string;
    type?: string;
    memMB?: number;
    cpus?: number;
    /** The driver(s) it would run with (several when the cluster's hosts differ). */
    drivers: string[];
    /** `dhcp`: the families configured by DHCP (`<ipv4>dhcp</ipv4>`). */
    ifaces: { id: number; net: string; ipv4: string[]; ipv6: string[]; dhcp?: ('ipv4' | 'ipv6')[] }[];
    sequences: string[];
  }[];
  nets: { name: string; mode: string; external?: string; vlan?: number; vms: string[] }[];
  sequences: SequenceSummary[];
  host: { ifaces: { net: string; ipv4: string[]; ipv6: string[] }[]; routes: number; sequences: string[] } | null;
  cluster?: { file: string; format: string; hosts: string[]; ids: { first: number; last: number }; backplane: string; segmentator: string; driver: string };
  restrictions?: { file?: string; vmDeployAt: number; netDeployAt: number; affinity: number; antiAffinity: number; netDeployTogether: number };
  /** What the scenario asks that ediv does not apply, for the drivers its VMs would get. */
  warnings: ScenarioWarning[];
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
    const own = [...new Set([...vm.filetrees, ...vm.execs].flatMap((x) => seqNames(x.seq)))];
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
      drivers: candidateDrivers(vm, s, cluster),
      ifaces: vm.ifaces.map((i) => ({ id: i.id, net: i.net, ipv4: i.ipv4.map(addr), ipv6: i.ipv6.map(addr), ...(i.dhcp ? { dhcp: (['ipv4', 'ipv6'] as const).filter((f) => i.dhcp![f] !== undefined) } : {}) })),
      sequences: own,
    };
  });
  const hostSeqs = [...new Set(s.host?.execs.flatMap((x) => seqNames(x.seq)) ?? [])];
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
      driver: cluster.driver ?? AUTO_DRIVER,
    },
    restrictions: r && {
      file: r.source,
      vmDeployAt: r.vmDeployAt.length,
      netDeployAt: r.netDeployAt.length,
      affinity: r.affinity.length,
      antiAffinity: r.antiAffinity.length,
      netDeployTogether: r.netDeployTogether.length,
    },
    warnings: unplacedWarnings(s, cluster),
  };
}
