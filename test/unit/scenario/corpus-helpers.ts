// Helpers of corpus.test.ts: finding the real scenario files of ../shared/third-party (read in
// place), running xmllint against VNX's XSD, and comparing a source scenario with the models of
// its per-host fragments (as a list of differences, so a failure says what was lost).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../../src/common/errors.ts';
import { readXml } from '../../../src/scenario/xml.ts';
import { parseScenarioFile, parseScenarioText } from '../../../src/scenario/index.ts';
import type { Net, Scenario } from '../../../src/scenario/model.ts';
import { isHostLocalNet } from '../../../src/scenario/reserved-nets.ts';
import { seqNames } from '../../../src/scenario/sequences.ts';
import { emulatedCluster } from '../../../src/emulated/layout.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import { backplaneBinding } from '../../../src/controller/split.ts';
import type { Cluster } from '../../../src/protocol/cluster.ts';
import type { Plan } from '../../../src/protocol/plan.ts';
import { THIRD_PARTY_DIR, haveThirdParty } from '../../helpers/third-party.ts';

export const THIRD_PARTY = THIRD_PARTY_DIR;
export const CORPUS_FOLDERS = ['vnx', 'vnx-more', 'ovf', 'ovf-more'] as const;
export const VNX_XSD = path.join(THIRD_PARTY, 'vnx', 'vnx-2.00.xsd');
export const XMLLINT = '/usr/bin/xmllint';

export interface CorpusFile {
  folder: string;
  /** `folder/file`, as test names show it. */
  rel: string;
  path: string;
  /** Root element (local name), or undefined when the file is not well-formed XML. */
  root?: string;
  /** Why the file could not be read as XML, when it could not. */
  xmlError?: string;
  /** <global><version> of a <vnx>/<vnuml> document, trimmed. */
  version?: string;
}

/** Roots parseScenarioFile reads as a scenario (src/scenario/index.ts fromDocument). */
export function isScenarioRoot(root: string | undefined): boolean {
  return root === undefined || root === 'vnx' || root === 'vnuml' || root === 'Envelope';
}

/** Every *.xml / *.ovf of a corpus folder (sorted), with its root element. Synchronous: used while mocha collects tests. */
export function corpusFiles(folder: string): CorpusFile[] {
  const dir = path.join(THIRD_PARTY, folder);
  const out: CorpusFile[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!/\.(xml|ovf)$/i.test(name)) continue;
    const file = path.join(dir, name);
    const f: CorpusFile = { folder, rel: `${folder}/${name}`, path: file };
    try {
      const doc = readXml(readFileSync(file), file);
      f.root = doc.root.localName;
      f.version = doc.root.child('global')?.child('version')?.text().trim();
    } catch (err) {
      f.xmlError = err instanceof Error ? err.message : String(err);
    }
    out.push(f);
  }
  return out;
}

export function folderPresent(folder: string): boolean {
  return haveThirdParty(folder);
}

/** A VNX 2.x document (root <vnx>, version 2.*): the ones the 2.00 XSD is for. */
export function isVnx2(f: CorpusFile): boolean {
  return f.root === 'vnx' && /^2(\.|$)/.test(f.version ?? '');
}

export const haveXmllint = existsSync(XMLLINT);

/**
 * xmllint --schema vnx-2.00.xsd over `files` in one run: file → its error lines (empty = valid).
 * Never fetches anything (--nonet).
 */
export function xsdErrors(files: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>(files.map((f) => [f, []]));
  if (files.length === 0) return out;
  const r = spawnSync(XMLLINT, ['--noout', '--nonet', '--schema', VNX_XSD, ...files], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  const lines = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n');
  const verdict = new Map<string, boolean>();
  for (const f of files) {
    for (const l of lines) {
      if (l === `${f} validates`) verdict.set(f, true);
      else if (l === `${f} fails to validate` || l === `${f} validation generated an internal error`) verdict.set(f, false);
      else if (l.startsWith(`${f}:`)) out.get(f)!.push(l.slice(f.length + 1));
    }
    if (verdict.get(f) === false && out.get(f)!.length === 0) out.get(f)!.push('fails to validate');
    if (!verdict.has(f) && out.get(f)!.length === 0) out.get(f)!.push(`no verdict from xmllint (status ${r.status}, signal ${r.signal})`);
  }
  return out;
}

/** The model without source locations and source file path (what must survive the split). */
export function withoutLocations(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutLocations);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, withoutLocations(x)]));
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'loc' && k !== 'cmdSeqLoc') o[k] = withoutLocations(x);
    return o;
  }
  return v;
}

function show(v: unknown): string {
  const j = JSON.stringify(v, (_k, x: unknown) => (x instanceof Map ? Object.fromEntries(x) : x));
  if (j === undefined) return String(v);
  return j.length > 240 ? `${j.slice(0, 240)}…` : j;
}

/**
 * Where `a` (what the fragment must hold: the source's element, adjusted for what the split
 * changes by design) and `b` (the fragment's) differ, after withoutLocations; a missing key
 * equals an undefined one. At most `max` differences.
 */
export function differences(a: unknown, b: unknown, at = '', max = 12): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, p: string): void => {
    if (out.length >= max) return;
    if (x === y) return;
    if (x instanceof Map && y instanceof Map) {
      const keys = [...new Set([...x.keys(), ...y.keys()])];
      for (const k of keys) walk(x.get(k), y.get(k), `${p}[${show(k)}]`);
      return;
    }
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) {
        out.push(`${p || '(value)'}: expected ${x.length} item(s) ${show(x)}, fragment has ${y.length} ${show(y)}`);
        return;
      }
      x.forEach((xi, i) => walk(xi, y[i], `${p}[${i}]`));
      return;
    }
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y) && !(x instanceof Map) && !(y instanceof Map)) {
      const xo = x as Record<string, unknown>;
      const yo = y as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(xo), ...Object.keys(yo)])]) walk(xo[k], yo[k], p ? `${p}.${k}` : k);
      return;
    }
    out.push(`${p || '(value)'}: expected ${show(x)}, fragment has ${show(y)}`);
  };
  walk(withoutLocations(a), withoutLocations(b), at);
  return out;
}

/**
 * The cmd-seqs a fragment must have, per the rule of src/controller/split.ts (written again here
 * so that the test does not check the split with itself): a cmd-seq is kept when one of its
 * members is a sequence defined in the fragment (an exec or filetree of its VMs, an exec of its
 * host section) or a kept cmd-seq, or when it has no members (it does nothing anywhere, so every
 * fragment has it); it keeps those members only, in order.
 */
export function expectedCmdSeqs(source: Scenario, fragment: Pick<Scenario, 'vms' | 'host'>): Map<string, string[]> {
  const defined = new Set<string>();
  for (const vm of fragment.vms) for (const x of [...vm.execs, ...vm.filetrees]) for (const q of seqNames(x.seq)) defined.add(q);
  for (const x of fragment.host?.execs ?? []) for (const q of seqNames(x.seq)) defined.add(q);
  const kept = new Set<string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [seq, parts] of source.cmdSeqs) {
      if (!kept.has(seq) && (parts.length === 0 || parts.some((p) => defined.has(p) || kept.has(p)))) {
        kept.add(seq);
        changed = true;
      }
    }
  }
  const out = new Map<string, string[]>();
  for (const [seq, parts] of source.cmdSeqs) if (kept.has(seq)) out.set(seq, parts.filter((p) => defined.has(p) || kept.has(p)));
  return out;
}

// --- Planning a corpus file and what its fragments keep -------------------------------------

export const HOSTS = 3;
export const SEGMENTATORS = ['round-robin', 'mincut'] as const;
export type Seg = (typeof SEGMENTATORS)[number];

/** The emulated cluster plan-preview plans for without a cluster file (its directory is never created). */
export const cluster: Cluster = emulatedCluster(HOSTS, path.join(os.tmpdir(), 'ediv-corpus-test-cluster'));

export interface Planned {
  plan: Plan;
  /** Each host's fragment, parsed back from plan.hosts[h].fragmentXml (or why it could not be). */
  fragments: Map<string, Scenario | Error>;
}

export interface Analysis {
  source: Scenario;
  planned: Record<Seg, Planned>;
}

const analyses = new Map<string, Promise<Analysis>>();

/** Parses and plans a file once (both segmentators); later checks of the same file reuse it. */
export function analyse(f: CorpusFile): Promise<Analysis> {
  let a = analyses.get(f.path);
  if (!a) {
    a = (async () => {
      const source = await parseScenarioFile(f.path);
      const planned = {} as Record<Seg, Planned>;
      for (const seg of SEGMENTATORS) {
        const plan = await makePlan({ scenario: source, cluster, segmentator: seg });
        const fragments = new Map<string, Scenario | Error>();
        for (const [host, hp] of Object.entries(plan.hosts)) {
          try {
            // Named as `plan --out` would write it, next to the source (relative lab paths as they are).
            fragments.set(host, parseScenarioText(hp.fragmentXml, path.join(path.dirname(f.path), `${hp.fragmentName}.xml`)));
          } catch (err) {
            fragments.set(host, err as Error);
          }
        }
        planned[seg] = { plan, fragments };
      }
      return { source, planned };
    })();
    analyses.set(f.path, a);
  }
  return a;
}

export const messageOf = (err: Error) => (err instanceof InputError ? err.problems.map((p) => `${p.loc.line ?? '?'}:${p.loc.column ?? '?'}: ${p.message}`).join('; ') : err.message);

/** The parsed fragments, in cluster order; throws naming every fragment that did not parse. */
export function parsedFragments(p: Planned): [string, Scenario][] {
  const bad = [...p.fragments].filter((e): e is [string, Error] => e[1] instanceof Error);
  if (bad.length) throw new Error(bad.map(([h, e]) => `fragment of ${h} does not parse: ${messageOf(e)}`).join('\n'));
  const order = cluster.hosts.map((h) => h.name);
  return [...p.fragments].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0])) as [string, Scenario][];
}

/** Check 1: VM placement. */
export function placementProblems(source: Scenario, seg: Seg, p: Planned): string[] {
  const out: string[] = [];
  const where = new Map<string, string[]>();
  for (const [host, hp] of Object.entries(p.plan.hosts)) {
    for (const vm of hp.vms) where.set(vm, [...(where.get(vm) ?? []), host]);
    const frag = p.fragments.get(host);
    if (frag && !(frag instanceof Error)) {
      const names = frag.vms.map((v) => v.name);
      if (names.join(',') !== hp.vms.join(',')) out.push(`[${seg}] ${host}: plan lists VMs ${hp.vms.join(',')} but its fragment XML has ${names.join(',')}`);
    }
  }
  for (const vm of source.vms) {
    const hs = where.get(vm.name) ?? [];
    if (hs.length !== 1) out.push(`[${seg}] vm ${vm.name} is in ${hs.length} fragments (${hs.join(', ') || 'none'})`);
    else if (p.plan.mapping[vm.name] !== hs[0]) out.push(`[${seg}] vm ${vm.name}: mapping says ${p.plan.mapping[vm.name]}, fragment is ${hs[0]}`);
  }
  const known = new Set(source.vms.map((v) => v.name));
  for (const vm of where.keys()) if (!known.has(vm)) out.push(`[${seg}] fragment VM ${vm} is not a VM of the source`);
  const hosts = new Set(cluster.hosts.map((h) => h.name));
  for (const h of Object.keys(p.plan.hosts)) if (!hosts.has(h)) out.push(`[${seg}] fragment for ${h}, which is not a cluster host`);
  return out;
}

/** The <vm_mgmt> element of a global section, if any. */
function vmMgmtElement(g: Scenario['global']) {
  return g.extra.children.find((c) => c.node.tag === 'vm_mgmt');
}

/** Check 4: what the union of the fragments keeps of the source (differences; empty = nothing lost). */
export function lossProblems(source: Scenario, seg: Seg, p: Planned): string[] {
  const out: string[] = [];
  const say = (s: string) => out.push(`[${seg}] ${s}`);
  const frags = parsedFragments(p);
  const isOvf = source.source.format === 'ovf';

  // VMs: each exactly as in the source, in its fragment, in document order.
  for (const vm of source.vms) {
    const at = frags.find(([, f]) => f.vms.some((v) => v.name === vm.name));
    if (!at) {
      say(`vm ${vm.name}: in no fragment`);
      continue;
    }
    for (const d of differences(vm, at[1].vms.find((v) => v.name === vm.name), `vm ${vm.name} (${at[0]}) `)) say(d);
  }
  for (const [host, f] of frags) {
    const order = source.vms.map((v) => v.name).filter((n) => f.vms.some((v) => v.name === n));
    if (order.join(',') !== f.vms.map((v) => v.name).join(',')) say(`${host}: VMs ${f.vms.map((v) => v.name).join(',')} are not in source order (${order.join(',')})`);
  }

  // Nets: each in at least one fragment, equal but for the backplane binding of a spanning net.
  const spanning = new Map(p.plan.spanning.map((s) => [s.net, s]));
  const byHost = new Map(cluster.hosts.map((h) => [h.name, h]));
  for (const net of source.nets) {
    const holders = frags.filter(([, f]) => f.nets.some((n) => n.name === net.name));
    if (holders.length === 0) say(`net ${net.name}: in no fragment`);
    const span = spanning.get(net.name);
    for (const [host, f] of holders) {
      const expected: Net = span && !net.external ? { ...net, external: backplaneBinding(cluster.backplane, byHost.get(host)!, span.id) } : net;
      for (const d of differences(expected, f.nets.find((n) => n.name === net.name), `net ${net.name} (${host}) `)) say(d);
    }
    // A net in several fragments is one net only through the backplane (unless it is each host's own bridge).
    if (holders.length > 1 && !isHostLocalNet(net)) {
      const hs = holders.map(([h]) => h).sort();
      if (!span) say(`net ${net.name}: in the fragments of ${hs.join(', ')} but not a spanning net: its segments are not joined`);
      else if (span.hosts.join(',') !== hs.join(',')) say(`net ${net.name}: in the fragments of ${hs.join(', ')} but spans ${span.hosts.join(', ')}`);
    }
  }
  const sourceNets = new Set(source.nets.map((n) => n.name));
  for (const [host, f] of frags) for (const n of f.nets) if (!sourceNets.has(n.name)) say(`${host}: net ${n.name} is not a net of the source`);

  // The <host> section: in exactly one fragment, unchanged.
  const withHost = frags.filter(([, f]) => f.host !== undefined);
  if (source.host) {
    if (withHost.length !== 1) say(`<host> section: in ${withHost.length} fragments (${withHost.map(([h]) => h).join(', ') || 'none'}), not exactly one`);
    for (const [host, f] of withHost) for (const d of differences(source.host, f.host, `host section (${host}) `)) say(d);
  } else if (withHost.length) say(`<host> section: the source has none, the fragments of ${withHost.map(([h]) => h).join(', ')} have one`);

  // Global sections: equal, but for the name and the private vm_mgmt offset, which the split
  // shifts by 4 × the VMs of the earlier fragments (cluster order).
  const mgmt = vmMgmtElement(source.global);
  let vmsBefore = 0;
  for (const [host, f] of frags) {
    if (f.name !== `${source.name}_${host}`) say(`${host}: fragment named ${JSON.stringify(f.name)}, not ${JSON.stringify(`${source.name}_${host}`)}`);
    let expected = source.global;
    if (mgmt && mgmt.node.attrs.type === 'private' && vmsBefore > 0) {
      const offset = String(Number(mgmt.node.attrs.offset ?? 0) + 4 * vmsBefore);
      expected = {
        ...source.global,
        extra: {
          ...source.global.extra,
          children: source.global.extra.children.map((c) => (c === mgmt ? { ...c, node: { ...c.node, attrs: { ...c.node.attrs, offset } } } : c)),
        },
      };
    }
    vmsBefore += f.vms.length;
    // An element that followed a <cmd-seq> (its `after` anchor) follows the named element before
    // it in a fragment that keeps no cmd-seq (split.ts drops those whose sequences are defined
    // elsewhere): there its place among the other elements is compared, not that anchor.
    const relax = source.cmdSeqs.size > 0 && f.cmdSeqs.size === 0;
    const anchored = (g: Scenario['global']): Scenario['global'] =>
      relax ? { ...g, extra: { ...g.extra, children: g.extra.children.map((c, i) => (expected.extra.children[i]?.after === 'cmd-seq' ? { ...c, after: '(after the cmd-seqs)' } : c)) } } : g;
    for (const d of differences(anchored(expected), anchored(f.global), `global (${host}) `)) say(d);
    // The dialect: kept, except OVF, written as VNX 2.0.
    const dialect = isOvf ? { format: 'vnx', version: '2.0' } : { format: source.source.format, version: source.source.version };
    for (const d of differences(dialect, { format: f.source.format, version: f.source.version }, `dialect (${host}) `)) say(d);
  }

  // cmd-seqs: each fragment has those the rule keeps; together they cover every one.
  for (const [host, f] of frags) {
    const vms = source.vms.filter((v) => f.vms.some((x) => x.name === v.name));
    for (const d of differences(expectedCmdSeqs(source, { vms, host: f.host ? source.host : undefined }), f.cmdSeqs, `cmd-seqs (${host}) `)) say(d);
  }
  for (const [seq, parts] of source.cmdSeqs) {
    if (!frags.some(([, f]) => f.cmdSeqs.has(seq))) say(`cmd-seq ${seq}: in no fragment`);
    const kept = new Set(frags.flatMap(([, f]) => f.cmdSeqs.get(seq) ?? []));
    const missing = parts.filter((q) => !kept.has(q));
    if (missing.length) say(`cmd-seq ${seq}: member(s) ${missing.join(', ')} in no fragment's copy`);
  }

  // Everything else the model holds (root-level extra elements and attributes, and any field
  // added later), equal in every fragment. `unapplied` (OVF sections ediv does not apply) is
  // documented as not written into fragments.
  const rest = (s: Scenario) => {
    const { name: _n, global: _g, nets: _ne, vms: _v, host: _h, cmdSeqs: _c, cmdSeqLoc: _cl, source: _s, unapplied: _u, ...others } = s;
    return others;
  };
  // An OVF source is written as VNX 2.0 naming VNX's schema on its root (vnx-write.ts).
  const XSD_ATTRS = { 'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance', 'xsi:noNamespaceSchemaLocation': '/usr/share/xml/vnx/vnx-2.00.xsd' };
  const expectedRest = isOvf && Object.keys(source.extra.attrs).length === 0 ? { ...rest(source), extra: { ...source.extra, attrs: XSD_ATTRS } } : rest(source);
  for (const [host, f] of frags) for (const d of differences(expectedRest, rest(f), `scenario (${host}) `)) say(d);
  return out;
}
