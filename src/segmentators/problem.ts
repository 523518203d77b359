// The shared pre-placement step every built-in segmentator starts from.
//
// Restrictions are turned into *groups* of VMs that must share a host (union-find over
// affinity, net_deploy_together and pins), each group possibly pinned to a host
// (vm_deploy_at, net_deploy_at), plus anti-affinity between groups and per-host capacity
// (maxVMs, memory). Algorithms then place groups, never single VMs, so restrictions hold
// whatever the algorithm.
import { InputError } from '../common/errors.ts';
import type { HostFacts, Mapping, SegmentInput } from './api.ts';
import { netIfaces } from '../scenario/reserved-nets.ts';
import { netSegments } from '../scenario/net-connections.ts';

/** One restriction, as the user wrote it (used to name the rules in a conflict). */
export type Rule =
  | { kind: 'vm_deploy_at'; vm: string; host: string }
  | { kind: 'net_deploy_at'; net: string; host: string }
  | { kind: 'affinity'; vms: string[] }
  | { kind: 'antiaffinity'; vms: string[] }
  | { kind: 'net_deploy_together'; nets: string[] }
  | { kind: 'capacity'; host: string; maxVMs?: number; memMB?: number };

/** Names shown in one message list at most; the rest are counted, so a 10 000-VM rule stays one line. */
export const MAX_LISTED = 10;

/** "a, b, c and 7 more": the first `max` items, then how many more. */
export function listed(items: readonly string[], max = MAX_LISTED, separator = ', '): string {
  const shown = items.slice(0, max).join(separator);
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}

export function describeRule(r: Rule): string {
  switch (r.kind) {
    case 'vm_deploy_at':
      return `vm_deploy_at ${r.vm} → ${r.host}`;
    case 'net_deploy_at':
      return `net_deploy_at ${r.net} → ${r.host}`;
    case 'affinity':
      return `affinity {${listed(r.vms)}}`;
    case 'antiaffinity':
      return `antiaffinity {${listed(r.vms)}}`;
    case 'net_deploy_together':
      return `net_deploy_together {${listed(r.nets)}}`;
    case 'capacity': {
      const parts: string[] = [];
      if (r.maxVMs) parts.push(`at most ${r.maxVMs} VMs`);
      if (r.memMB !== undefined) parts.push(`${r.memMB} MB of memory`);
      return `capacity of host ${r.host} (${parts.join(', ')})`;
    }
  }
}

/** Every rule of the input: the restrictions, then one capacity rule per limited host. */
export function rulesOf(input: SegmentInput): Rule[] {
  const r = input.restrictions;
  const rules: Rule[] = [
    ...r.vmDeployAt.map((x): Rule => ({ kind: 'vm_deploy_at', vm: x.vm, host: x.host })),
    ...r.netDeployAt.map((x): Rule => ({ kind: 'net_deploy_at', net: x.net, host: x.host })),
    ...r.affinity.map((x): Rule => ({ kind: 'affinity', vms: x.vms })),
    ...r.antiAffinity.map((x): Rule => ({ kind: 'antiaffinity', vms: x.vms })),
    ...r.netDeployTogether.map((x): Rule => ({ kind: 'net_deploy_together', nets: x.nets })),
  ];
  const memUsed = input.scenario.vms.some((vm) => vm.memMB !== undefined);
  for (const h of input.hosts) {
    const maxVMs = h.maxVMs ? h.maxVMs : undefined;
    const memMB = memUsed && h.memMB !== undefined ? h.memMB : undefined;
    if (maxVMs !== undefined || memMB !== undefined) rules.push({ kind: 'capacity', host: h.name, maxVMs, memMB });
  }
  return rules;
}

export interface Group {
  /** VM indices (document order). */
  vms: number[];
  size: number;
  memMB: number;
  /** Host index the group is pinned to, or -1. */
  pin: number;
}

export interface Problem {
  vmNames: string[];
  hosts: HostFacts[];
  groups: Group[];
  /** VM index → group index. */
  groupOf: Int32Array;
  /** Per group: groups it must not share a host with. */
  apart: number[][];
  /** Per host: VM limit (Infinity = unlimited). */
  maxVMs: number[];
  /** Per host: memory limit in MB (Infinity = unknown/unlimited). */
  memMB: number[];
}

class UnionFind {
  parent: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    // The smaller index stays the root, so groups are keyed by their first VM.
    if (ra < rb) this.parent[rb] = ra;
    else if (rb < ra) this.parent[ra] = rb;
  }
}

function restrictionsFile(input: SegmentInput): string {
  return input.restrictions.source ?? '(restrictions)';
}

/** Index of net name → VM indices attached to it. */
export function vmsByNet(input: SegmentInput): Map<string, number[]> {
  const byNet = new Map<string, number[]>();
  // Nets linked by <connection> are one segment: their VMs are on one net for placement.
  const segments = netSegments(input.scenario);
  input.scenario.vms.forEach((vm, i) => {
    for (const ifc of netIfaces(vm)) {
      const net = segments.get(ifc.net) ?? ifc.net;
      let list = byNet.get(net);
      if (!list) byNet.set(net, (list = []));
      if (list[list.length - 1] !== i) list.push(i);
    }
  });
  return byNet;
}

/** Checks that every name a restriction uses exists; throws InputError listing all unknown ones. */
export function checkRestrictionNames(input: SegmentInput): void {
  const vms = new Set(input.scenario.vms.map((v) => v.name));
  const nets = new Set(input.scenario.nets.map((n) => n.name));
  const hosts = new Set(input.hosts.map((h) => h.name));
  const file = restrictionsFile(input);
  const problems: string[] = [];
  const vm = (name: string, rule: Rule) => {
    if (!vms.has(name)) problems.push(`${describeRule(rule)}: no VM named ${JSON.stringify(name)} in the scenario`);
  };
  const net = (name: string, rule: Rule) => {
    if (!nets.has(name)) problems.push(`${describeRule(rule)}: no net named ${JSON.stringify(name)} in the scenario`);
  };
  const host = (name: string, rule: Rule) => {
    if (!hosts.has(name)) problems.push(`${describeRule(rule)}: ${JSON.stringify(name)} is not an active host`);
  };
  for (const rule of rulesOf(input)) {
    switch (rule.kind) {
      case 'vm_deploy_at':
        vm(rule.vm, rule);
        host(rule.host, rule);
        break;
      case 'net_deploy_at':
        net(rule.net, rule);
        host(rule.host, rule);
        break;
      case 'affinity':
      case 'antiaffinity':
        for (const v of rule.vms) vm(v, rule);
        break;
      case 'net_deploy_together':
        for (const n of rule.nets) net(n, rule);
        break;
      case 'capacity':
        break;
    }
  }
  if (problems.length) {
    const shown = problems.slice(0, MAX_LISTED);
    if (problems.length > MAX_LISTED) shown.push(`and ${problems.length - MAX_LISTED} more unknown name(s)`);
    throw new InputError(shown.map((message) => ({ loc: { file }, message })));
  }
}

/**
 * Most pairs of VMs the anti-affinity rules may keep apart, summed over the rules (a rule of s
 * VMs holds s(s − 1)/2): placement checks them pair by pair, so a few huge rules would cost
 * seconds and hundreds of MB. One rule over 1 400 VMs still fits.
 */
export const MAX_APART_PAIRS = 1_000_000;

/** Refuses anti-affinity rules that hold more than MAX_APART_PAIRS pairs, before any is built. */
export function checkRestrictionSize(input: SegmentInput): void {
  let pairs = 0;
  for (const rule of input.restrictions.antiAffinity) pairs += (rule.vms.length * (rule.vms.length - 1)) / 2;
  if (pairs > MAX_APART_PAIRS) {
    throw new InputError({
      loc: { file: restrictionsFile(input) },
      message: `the <antiaffinity> rules keep ${pairs} pairs of VMs apart; at most ${MAX_APART_PAIRS} are supported`,
    });
  }
}

/** Two VMs put on one host by rule `rule` (affinity, net_deploy_together, net_deploy_at). */
interface Join {
  a: number;
  b: number;
  rule: number;
}

/** The enabled rules, as VM indices: what joins VMs, pins them, keeps them apart, and host capacity. */
interface RuleEffects {
  joins: Join[];
  pins: { vm: number; host: number; rule: number }[];
  antis: { vms: number[]; rule: number }[];
  maxVMs: number[];
  memMB: number[];
}

/** Translates the enabled rules (all when `enabled` is omitted) into RuleEffects. Names must have been checked. */
function ruleEffects(input: SegmentInput, enabled?: Set<number>): RuleEffects {
  const { scenario, hosts } = input;
  const vmIndex = new Map(scenario.vms.map((v, i) => [v.name, i]));
  const hostIndex = new Map(hosts.map((h, i) => [h.name, i]));
  const byNet = vmsByNet(input);
  const fx: RuleEffects = { joins: [], pins: [], antis: [], maxVMs: hosts.map(() => Infinity), memMB: hosts.map(() => Infinity) };
  // Every VM of a set joined to the set's first: a star, so a set of s VMs costs s joins.
  const joinAll = (vms: number[], rule: number) => {
    for (const v of vms) if (v !== vms[0]) fx.joins.push({ a: vms[0]!, b: v, rule });
  };
  rulesOf(input).forEach((rule, i) => {
    if (enabled && !enabled.has(i)) return;
    switch (rule.kind) {
      case 'vm_deploy_at':
        fx.pins.push({ vm: vmIndex.get(rule.vm)!, host: hostIndex.get(rule.host)!, rule: i });
        break;
      case 'net_deploy_at': {
        const list = byNet.get(rule.net) ?? [];
        for (const v of list) fx.pins.push({ vm: v, host: hostIndex.get(rule.host)!, rule: i });
        joinAll(list, i);
        break;
      }
      case 'affinity':
        joinAll(rule.vms.map((v) => vmIndex.get(v)!), i);
        break;
      case 'net_deploy_together':
        joinAll(rule.nets.flatMap((net) => byNet.get(net) ?? []), i);
        break;
      case 'antiaffinity':
        fx.antis.push({ vms: rule.vms.map((v) => vmIndex.get(v)!), rule: i });
        break;
      case 'capacity': {
        const h = hostIndex.get(rule.host)!;
        if (rule.maxVMs) fx.maxVMs[h] = rule.maxVMs;
        if (rule.memMB !== undefined) fx.memMB[h] = rule.memMB;
        break;
      }
    }
  });
  return fx;
}

function unionAll(n: number, joins: Join[]): UnionFind {
  const uf = new UnionFind(n);
  for (const j of joins) uf.union(j.a, j.b);
  return uf;
}

/** The rules along a shortest chain of joins from VM `from` to VM `to` (breadth-first; empty when equal). */
function joinPath(n: number, joins: Join[], from: number, to: number): number[] {
  if (from === to) return [];
  const adj: { to: number; rule: number }[][] = Array.from({ length: n }, () => []);
  for (const j of joins) {
    adj[j.a]!.push({ to: j.b, rule: j.rule });
    adj[j.b]!.push({ to: j.a, rule: j.rule });
  }
  const via = new Map<number, { from: number; rule: number }>([[from, { from: -1, rule: -1 }]]);
  const queue = [from];
  for (let q = 0; q < queue.length && !via.has(to); q++) {
    for (const e of adj[queue[q]!]!) {
      if (via.has(e.to)) continue;
      via.set(e.to, { from: queue[q]!, rule: e.rule });
      queue.push(e.to);
    }
  }
  const rules: number[] = [];
  for (let v = to; v !== from && via.has(v); v = via.get(v)!.from) rules.push(via.get(v)!.rule);
  return rules;
}

/**
 * A small set of rules that contradict each other without any placement being tried — a group
 * pinned to two hosts, two anti-affine VMs joined into one group, or two anti-affine groups
 * pinned to one host — found in near-linear time (union-find, then one pass over the pins and
 * the anti-affinity rules, then one breadth-first search for the joins involved). Rule indices
 * are those of rulesOf(input); undefined when there is no such contradiction.
 */
export function structuralConflict(input: SegmentInput): number[] | undefined {
  const n = input.scenario.vms.length;
  const fx = ruleEffects(input);
  const uf = unionAll(n, fx.joins);
  const pinOf = new Map<number, { vm: number; host: number; rule: number }>();
  const witness = (...parts: number[][]) => [...new Set(parts.flat())].sort((a, b) => a - b);
  for (const p of fx.pins) {
    const root = uf.find(p.vm);
    const earlier = pinOf.get(root);
    if (!earlier) pinOf.set(root, p);
    else if (earlier.host !== p.host) return witness([earlier.rule, p.rule], joinPath(n, fx.joins, earlier.vm, p.vm));
  }
  for (const anti of fx.antis) {
    const byRoot = new Map<number, number>();
    const byPinnedHost = new Map<number, number>();
    for (const v of anti.vms) {
      const root = uf.find(v);
      const mate = byRoot.get(root);
      if (mate === v) continue; // a VM listed twice is not kept apart from itself
      if (mate !== undefined) return witness([anti.rule], joinPath(n, fx.joins, mate, v));
      byRoot.set(root, v);
      const pin = pinOf.get(root);
      if (!pin) continue;
      const other = byPinnedHost.get(pin.host);
      if (other !== undefined) {
        const otherPin = pinOf.get(uf.find(other))!;
        return witness([anti.rule, pin.rule, otherPin.rule], joinPath(n, fx.joins, v, pin.vm), joinPath(n, fx.joins, other, otherPin.vm));
      }
      byPinnedHost.set(pin.host, v);
    }
  }
  return undefined;
}

/**
 * Builds the placement problem from the input, using only the rules whose index (in
 * `rulesOf(input)`) is in `enabled` (all when omitted). Returns null when the enabled rules
 * contradict each other structurally (a group pinned to two hosts, or anti-affine VMs forced
 * into one group). Names must have been checked (checkRestrictionNames).
 */
export function buildProblem(input: SegmentInput, enabled?: Set<number>): Problem | null {
  const { scenario, hosts } = input;
  const n = scenario.vms.length;
  const fx = ruleEffects(input, enabled);
  const uf = unionAll(n, fx.joins);

  const groups: Group[] = [];
  const groupOf = new Int32Array(n);
  const rootGroup = new Map<number, number>();
  for (let v = 0; v < n; v++) {
    const r = uf.find(v);
    let g = rootGroup.get(r);
    if (g === undefined) {
      g = groups.length;
      rootGroup.set(r, g);
      groups.push({ vms: [], size: 0, memMB: 0, pin: -1 });
    }
    const grp = groups[g];
    grp.vms.push(v);
    grp.size++;
    grp.memMB += scenario.vms[v].memMB ?? 0;
    groupOf[v] = g;
  }
  for (const p of fx.pins) {
    const grp = groups[groupOf[p.vm]];
    if (grp.pin !== -1 && grp.pin !== p.host) return null;
    grp.pin = p.host;
  }
  // Sets, so that a pair named by many rules costs one check, not a scan of the list.
  const apartSets = groups.map(() => new Set<number>());
  for (const anti of fx.antis) {
    const gs = [...new Set(anti.vms.map((v) => groupOf[v]))];
    if (gs.length !== new Set(anti.vms).size) return null; // two anti-affine VMs share a group
    for (const a of gs) for (const b of gs) if (a !== b) apartSets[a].add(b);
  }
  const apart = apartSets.map((set) => [...set]);
  for (let g = 0; g < groups.length; g++) {
    const pin = groups[g].pin;
    if (pin !== -1 && apart[g].some((o) => groups[o].pin === pin)) return null;
  }
  return { vmNames: scenario.vms.map((v) => v.name), hosts, groups, groupOf, apart, maxVMs: fx.maxVMs, memMB: fx.memMB };
}

/** Placement state: which host each group is on, and the load of every host. */
export class Placement {
  readonly hostOf: Int32Array;
  readonly count: number[];
  readonly mem: number[];
  readonly p: Problem;

  constructor(p: Problem) {
    this.p = p;
    this.hostOf = new Int32Array(p.groups.length).fill(-1);
    this.count = p.hosts.map(() => 0);
    this.mem = p.hosts.map(() => 0);
  }

  /** Capacity, memory, pin and anti-affinity allow group g on host h. */
  canPlace(g: number, h: number): boolean {
    const grp = this.p.groups[g];
    if (grp.pin !== -1 && grp.pin !== h) return false;
    if (this.count[h] + grp.size > this.p.maxVMs[h]) return false;
    if (grp.memMB > 0 && this.mem[h] + grp.memMB > this.p.memMB[h]) return false;
    for (const o of this.p.apart[g]) if (this.hostOf[o] === h) return false;
    return true;
  }

  place(g: number, h: number): void {
    const grp = this.p.groups[g];
    this.hostOf[g] = h;
    this.count[h] += grp.size;
    this.mem[h] += grp.memMB;
  }

  unplace(g: number): void {
    const h = this.hostOf[g];
    if (h < 0) return;
    const grp = this.p.groups[g];
    this.hostOf[g] = -1;
    this.count[h] -= grp.size;
    this.mem[h] -= grp.memMB;
  }

  mapping(): Mapping {
    // No prototype: a VM named like an Object.prototype member is just a key.
    const m: Mapping = Object.create(null) as Mapping;
    const { groupOf, vmNames, hosts } = this.p;
    for (let v = 0; v < vmNames.length; v++) m[vmNames[v]] = hosts[this.hostOf[groupOf[v]]].name;
    return m;
  }
}

/** The smallest weight, relative to the largest (the cluster file's cpu bounds give at most 10^9 between them). */
export const MIN_RELATIVE_WEIGHT = 1e-9;

/**
 * Host weights from cpu (relative speed), normalised: the fastest host weighs 1, none less than
 * MIN_RELATIVE_WEIGHT. Sums and shares then stay finite and non-zero whatever the cpu values
 * (1.79e308 on two hosts overflowed a sum to Infinity; 5e-324 made every share Infinity). Hosts
 * without a usable cpu count as cpu 1.
 */
export function cpuWeights(hosts: Pick<HostFacts, 'cpu'>[]): number[] {
  const raw = hosts.map((h) => (Number.isFinite(h.cpu) && h.cpu > 0 ? h.cpu : 1));
  const max = raw.reduce((a, b) => Math.max(a, b), 0);
  return raw.map((w) => Math.max(w / max, MIN_RELATIVE_WEIGHT));
}
