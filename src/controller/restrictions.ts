// EDIV restriction files (<deployment_restrictions>): parsed with the safe XML reader,
// checked against the scenario (every VM and net named must exist) and, when a cluster is
// given, against the cluster (hosts resolved to cluster host names). Contradictions that are
// visible in the file alone (a VM pinned to two hosts, two VMs both kept together and apart,
// more VMs kept apart than there are hosts) are reported here; deciding whether the rules
// can be met together is the constraints segmentator's job.
import { InputError, type InputProblem, type SourceLocation } from '../common/errors.ts';
import { readXml, readXmlFile, type XmlDocument, type XmlEl } from '../scenario/xml.ts';
import type { Scenario } from '../scenario/model.ts';
import type { Cluster } from '../protocol/cluster.ts';
import type { Restrictions } from '../protocol/restrictions.ts';
import { resolveHostName } from './restrictions-hosts.ts';
import { hostAddressProblem } from './cluster-values.ts';

const ROOT = 'deployment_restrictions';
const RULES = ['vm_deploy_at', 'net_deploy_at', 'affinity', 'antiaffinity', 'net_deploy_together'];

/** A name as written in the file, with where it was written. */
interface Named {
  name: string;
  loc: SourceLocation;
}
interface Pin {
  target: Named;
  host: Named;
}

interface RawRestrictions {
  vmDeployAt: Pin[];
  netDeployAt: Pin[];
  affinity: Named[][];
  antiAffinity: Named[][];
  netDeployTogether: Named[][];
}

/** Reads the rules of the file, checking only their shape. */
function readRules(doc: XmlDocument, problems: InputProblem[]): RawRestrictions {
  const raw: RawRestrictions = { vmDeployAt: [], netDeployAt: [], affinity: [], antiAffinity: [], netDeployTogether: [] };
  const root = doc.root;
  if (root.localName !== ROOT) {
    problems.push({ loc: root.loc, message: `the root element is <${root.tag}>: a restriction file is a <${ROOT}> document` });
    return raw;
  }
  const attrOf = (el: XmlEl, name: string): Named | undefined => {
    const v = el.attr(name)?.trim();
    if (v === undefined || v === '') {
      problems.push({ loc: el.loc, message: `<${el.tag}> needs a non-empty ${name}="..." attribute` });
      return undefined;
    }
    return { name: v, loc: el.loc };
  };
  const members = (el: XmlEl, child: string, min: number): Named[] => {
    const out: Named[] = [];
    for (const c of el.elements()) {
      if (c.localName !== child) {
        problems.push({ loc: c.loc, message: `<${el.tag}> holds <${child}> elements, not <${c.tag}>` });
        continue;
      }
      const name = c.text().trim();
      if (name === '') problems.push({ loc: c.loc, message: `empty <${child}> in <${el.tag}>` });
      else out.push({ name, loc: c.loc });
    }
    // EDIV's older form: <net_deploy_together net="A"/>.
    const attr = el.attr(child)?.trim();
    if (attr) out.unshift({ name: attr, loc: el.loc });
    if (out.length < min) problems.push({ loc: el.loc, message: `<${el.tag}> must list at least ${min} <${child}> element(s)` });
    const seen = new Set<string>();
    for (const m of out) {
      if (seen.has(m.name)) problems.push({ loc: m.loc, message: `"${m.name}" is listed twice in this <${el.tag}>` });
      seen.add(m.name);
    }
    return out;
  };
  for (const el of root.elements()) {
    switch (el.localName) {
      case 'vm_deploy_at':
      case 'net_deploy_at': {
        const target = attrOf(el, el.localName === 'vm_deploy_at' ? 'vm' : 'net');
        const host = attrOf(el, 'host');
        if (target && host) (el.localName === 'vm_deploy_at' ? raw.vmDeployAt : raw.netDeployAt).push({ target, host });
        break;
      }
      case 'affinity':
        raw.affinity.push(members(el, 'vm', 1));
        break;
      case 'antiaffinity':
        raw.antiAffinity.push(members(el, 'vm', 2));
        break;
      case 'net_deploy_together':
        raw.netDeployTogether.push(members(el, 'net', 1));
        break;
      default:
        problems.push({ loc: el.loc, message: `unknown rule <${el.tag}> (known: ${RULES.join(', ')})` });
    }
  }
  return raw;
}

function checkNames(raw: RawRestrictions, scenario: Scenario, problems: InputProblem[]): void {
  const vms = new Set(scenario.vms.map((v) => v.name));
  const nets = new Set(scenario.nets.map((n) => n.name));
  const list = (s: Set<string>) => {
    const all = [...s];
    return all.length > 12 ? `${all.slice(0, 12).join(', ')}, ...` : all.join(', ');
  };
  const vm = (n: Named) => {
    if (!vms.has(n.name)) problems.push({ loc: n.loc, message: `VM "${n.name}" is not in scenario "${scenario.name}" (its VMs: ${list(vms)})` });
  };
  const net = (n: Named) => {
    if (!nets.has(n.name)) problems.push({ loc: n.loc, message: `net "${n.name}" is not in scenario "${scenario.name}" (its nets: ${list(nets)})` });
  };
  raw.vmDeployAt.forEach((p) => vm(p.target));
  raw.netDeployAt.forEach((p) => net(p.target));
  [...raw.affinity, ...raw.antiAffinity].forEach((g) => g.forEach(vm));
  raw.netDeployTogether.forEach((g) => g.forEach(net));
}

/** Contradictions visible without placing anything. */
function checkContradictions(raw: RawRestrictions, hostOf: (h: Named) => string, problems: InputProblem[], cluster?: Cluster): void {
  const pinned = new Map<string, Pin>();
  for (const p of raw.vmDeployAt) {
    const earlier = pinned.get(p.target.name);
    if (earlier && hostOf(earlier.host) !== hostOf(p.host)) {
      problems.push({
        loc: p.target.loc,
        message: `VM "${p.target.name}" is pinned to host "${p.host.name}" here and to "${earlier.host.name}" at line ${earlier.target.loc.line}`,
      });
    } else if (!earlier) {
      pinned.set(p.target.name, p);
    }
  }
  raw.antiAffinity.forEach((apart) => {
    for (const together of raw.affinity) {
      const both = apart.filter((a) => together.some((t) => t.name === a.name));
      if (both.length >= 2) {
        problems.push({
          loc: apart[0]!.loc,
          message: `VMs ${both.map((b) => `"${b.name}"`).join(' and ')} must be apart (this <antiaffinity>) and together (<affinity> at line ${together[0]!.loc.line})`,
        });
      }
    }
    if (cluster && apart.length > cluster.hosts.length) {
      problems.push({
        loc: apart[0]!.loc,
        message: `this <antiaffinity> keeps ${apart.length} VMs apart but the cluster has only ${cluster.hosts.length} host(s)`,
      });
    }
  });
}

/** Parses a restriction document and checks it against the scenario (and cluster, when given). */
export function restrictionsFromXml(doc: XmlDocument, scenario: Scenario, cluster?: Cluster): Restrictions {
  const problems: InputProblem[] = [];
  const raw = readRules(doc, problems);
  checkNames(raw, scenario, problems);

  const resolved = new Map<string, string>();
  const hostOf = (h: Named): string => resolved.get(h.name) ?? h.name;
  for (const p of [...raw.vmDeployAt, ...raw.netDeployAt]) {
    if (resolved.has(p.host.name)) continue;
    if (cluster) {
      const r = resolveHostName(p.host.name, cluster);
      if ('host' in r) resolved.set(p.host.name, r.host);
      else problems.push({ loc: p.host.loc, message: r.problem });
    } else {
      const bad = hostAddressProblem(p.host.name);
      if (bad) problems.push({ loc: p.host.loc, message: `host="${p.host.name}": ${bad}` });
    }
  }
  checkContradictions(raw, hostOf, problems, cluster);
  if (problems.length > 0) {
    problems.sort((a, b) => (a.loc.line ?? 0) - (b.loc.line ?? 0) || (a.loc.column ?? 0) - (b.loc.column ?? 0));
    throw new InputError(problems);
  }

  const names = (g: Named[]) => g.map((n) => n.name);
  return {
    vmDeployAt: raw.vmDeployAt.map((p) => ({ vm: p.target.name, host: hostOf(p.host) })),
    netDeployAt: raw.netDeployAt.map((p) => ({ net: p.target.name, host: hostOf(p.host) })),
    affinity: raw.affinity.map((g) => ({ vms: names(g) })),
    antiAffinity: raw.antiAffinity.map((g) => ({ vms: names(g) })),
    netDeployTogether: raw.netDeployTogether.map((g) => ({ nets: names(g) })),
    source: doc.file,
  };
}

export function parseRestrictionsText(text: string, file: string, scenario: Scenario, cluster?: Cluster): Restrictions {
  return restrictionsFromXml(readXml(text, file), scenario, cluster);
}

/** Reads an EDIV restriction file and checks it against the scenario and, if given, the cluster. */
export async function loadRestrictions(path: string, scenario: Scenario, cluster?: Cluster): Promise<Restrictions> {
  return restrictionsFromXml(await readXmlFile(path), scenario, cluster);
}
