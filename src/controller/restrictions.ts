// EDIV restriction files (<deployment_restrictions>): parsed with the safe XML reader,
// checked against the scenario (every VM and net named must exist) and, when a cluster is
// given, against the cluster (hosts resolved to cluster host names). Contradictions that are
// visible in the file alone (a VM pinned to two hosts, two VMs both kept together and apart,
// more VMs kept apart than there are hosts) are reported here, in time linear in the file;
// deciding whether the rules can be met together is the constraints segmentator's job.
import { InputError, type InputProblem, type SourceLocation } from '../common/errors.ts';
import { readXml, readXmlFile, type XmlDocument, type XmlEl } from '../scenario/xml.ts';
import type { Scenario } from '../scenario/model.ts';
import type { Cluster } from '../protocol/cluster.ts';
import type { Restrictions } from '../protocol/restrictions.ts';
import { listed } from '../segmentators/problem.ts';
import { resolveHostName } from './restrictions-hosts.ts';
import { orderedProblems } from './cluster-schema-errors.ts';
import { hostAddressProblem } from './cluster-values.ts';

/** Restriction files are small (EDIV's are a few lines); anything bigger is refused unread. */
export const MAX_RESTRICTION_FILE_BYTES = 4 * 1024 * 1024;
/** Contradictions reported one by one; the rest are counted. */
export const MAX_CONFLICTS_SHOWN = 10;
/** VM names (or lines) one message lists at most. */
const NAMES_SHOWN = 5;

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

/** "a, b and c" / "a, b, c, d, e and 7 more": at most `max` items in prose, the rest counted. */
function enumerate(items: readonly string[], max = NAMES_SHOWN): string {
  if (items.length < 2 || items.length > max) return listed(items, max);
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The first names of a list, for "its VMs: ..." (computed once per file, not once per problem). */
function sample(names: Iterable<string>): string {
  const all = [...names];
  return all.length > 12 ? `${all.slice(0, 12).join(', ')}, ...` : all.join(', ');
}

function checkNames(raw: RawRestrictions, scenario: Scenario, problems: InputProblem[]): void {
  const vms = new Set(scenario.vms.map((v) => v.name));
  const nets = new Set(scenario.nets.map((n) => n.name));
  const vmList = sample(vms);
  const netList = sample(nets);
  const vm = (n: Named) => {
    if (!vms.has(n.name)) problems.push({ loc: n.loc, message: `VM ${JSON.stringify(n.name)} is not in scenario "${scenario.name}" (its VMs: ${vmList})` });
  };
  const net = (n: Named) => {
    if (!nets.has(n.name)) problems.push({ loc: n.loc, message: `net ${JSON.stringify(n.name)} is not in scenario "${scenario.name}" (its nets: ${netList})` });
  };
  raw.vmDeployAt.forEach((p) => vm(p.target));
  raw.netDeployAt.forEach((p) => net(p.target));
  [...raw.affinity, ...raw.antiAffinity].forEach((g) => g.forEach(vm));
  raw.netDeployTogether.forEach((g) => g.forEach(net));
}

/**
 * The VMs kept together: <affinity> rules that share a VM are one component (union-find over
 * the rules), so that "together" is transitive, as it is when placing.
 */
class AffinityComponents {
  private readonly affinity: Named[][];
  private readonly parent: number[];
  private readonly ruleOfVm = new Map<string, number>();
  private members?: Map<number, number[]>;

  constructor(affinity: Named[][]) {
    this.affinity = affinity;
    this.parent = affinity.map((_g, i) => i);
    affinity.forEach((group, i) => {
      for (const vm of group) {
        const earlier = this.ruleOfVm.get(vm.name);
        if (earlier === undefined) this.ruleOfVm.set(vm.name, i);
        else this.union(earlier, i);
      }
    });
  }

  private find(i: number): number {
    while (this.parent[i] !== i) {
      this.parent[i] = this.parent[this.parent[i]!]!;
      i = this.parent[i]!;
    }
    return i;
  }

  private union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }

  /** The component a VM is kept together in, if any. */
  componentOf(vm: string): number | undefined {
    const rule = this.ruleOfVm.get(vm);
    return rule === undefined ? undefined : this.find(rule);
  }

  /** The lines of the <affinity> rules of a component (built once, when a conflict needs them). */
  lines(component: number): number[] {
    if (!this.members) {
      this.members = new Map();
      this.affinity.forEach((_g, i) => {
        const root = this.find(i);
        const list = this.members!.get(root);
        if (list) list.push(i);
        else this.members!.set(root, [i]);
      });
    }
    return (this.members.get(component) ?? []).map((i) => this.affinity[i]![0]!.loc.line ?? 0);
  }
}

/** Contradictions visible without placing anything, each pass linear in the rules' size. */
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
  // One pass over each <antiaffinity>: its VMs bucketed by affinity component; a bucket of two
  // or more is a contradiction. Only the first few are spelt out, the rest counted.
  const together = new AffinityComponents(raw.affinity);
  let conflicts = 0;
  let firstUnshown: SourceLocation | undefined;
  for (const apart of raw.antiAffinity) {
    const byComponent = new Map<number, Named[]>();
    for (const vm of apart) {
      const c = together.componentOf(vm.name);
      if (c === undefined) continue;
      const bucket = byComponent.get(c);
      if (bucket) bucket.push(vm);
      else byComponent.set(c, [vm]);
    }
    for (const [c, both] of byComponent) {
      if (both.length < 2) continue;
      if (++conflicts > MAX_CONFLICTS_SHOWN) {
        firstUnshown ??= both[0]!.loc;
        continue;
      }
      const lines = together.lines(c);
      problems.push({
        loc: both[0]!.loc,
        message:
          `VMs ${enumerate(both.map((b) => JSON.stringify(b.name)))} must be apart (this <antiaffinity>) and together ` +
          `(<affinity> at line${lines.length > 1 ? 's' : ''} ${enumerate(lines.map(String))})`,
      });
    }
    if (cluster && apart.length > cluster.hosts.length) {
      problems.push({
        loc: apart[0]!.loc,
        message: `this <antiaffinity> keeps ${apart.length} VMs apart but the cluster has only ${cluster.hosts.length} host(s)`,
      });
    }
  }
  if (firstUnshown) {
    const more = conflicts - MAX_CONFLICTS_SHOWN;
    problems.push({ loc: firstUnshown, message: `and ${more} more <antiaffinity> group(s) of VMs that <affinity> keeps together, from here on` });
  }
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
  if (problems.length > 0) throw new InputError(orderedProblems(problems));

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
  return restrictionsFromXml(await readXmlFile(path, { maxBytes: MAX_RESTRICTION_FILE_BYTES }), scenario, cluster);
}
