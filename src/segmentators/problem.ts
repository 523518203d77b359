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

export function describeRule(r: Rule): string {
  switch (r.kind) {
    case 'vm_deploy_at':
      return `vm_deploy_at ${r.vm} → ${r.host}`;
    case 'net_deploy_at':
      return `net_deploy_at ${r.net} → ${r.host}`;
    case 'affinity':
      return `affinity {${r.vms.join(', ')}}`;
    case 'antiaffinity':
      return `antiaffinity {${r.vms.join(', ')}}`;
    case 'net_deploy_together':
      return `net_deploy_together {${r.nets.join(', ')}}`;
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
  if (problems.length) throw new InputError(problems.map((message) => ({ loc: { file }, message })));
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
  const vmIndex = new Map(scenario.vms.map((v, i) => [v.name, i]));
  const hostIndex = new Map(hosts.map((h, i) => [h.name, i]));
  const byNet = vmsByNet(input);
  const rules = rulesOf(input);
  const on = (i: number) => !enabled || enabled.has(i);

  const uf = new UnionFind(n);
  const pins: { vm: number; host: number }[] = [];
  const maxVMs = hosts.map(() => Infinity);
  const memMB = hosts.map(() => Infinity);
  const antis: number[][] = [];
  rules.forEach((rule, i) => {
    if (!on(i)) return;
    switch (rule.kind) {
      case 'vm_deploy_at':
        pins.push({ vm: vmIndex.get(rule.vm)!, host: hostIndex.get(rule.host)! });
        break;
      case 'net_deploy_at': {
        const h = hostIndex.get(rule.host)!;
        const list = byNet.get(rule.net) ?? [];
        for (const v of list) {
          pins.push({ vm: v, host: h });
          uf.union(list[0], v);
        }
        break;
      }
      case 'affinity': {
        const idx = rule.vms.map((v) => vmIndex.get(v)!);
        for (const v of idx) uf.union(idx[0], v);
        break;
      }
      case 'net_deploy_together': {
        const idx = rule.nets.flatMap((net) => byNet.get(net) ?? []);
        for (const v of idx) uf.union(idx[0], v);
        break;
      }
      case 'antiaffinity':
        antis.push(rule.vms.map((v) => vmIndex.get(v)!));
        break;
      case 'capacity': {
        const h = hostIndex.get(rule.host)!;
        if (rule.maxVMs) maxVMs[h] = rule.maxVMs;
        if (rule.memMB !== undefined) memMB[h] = rule.memMB;
        break;
      }
    }
  });

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
  for (const p of pins) {
    const grp = groups[groupOf[p.vm]];
    if (grp.pin !== -1 && grp.pin !== p.host) return null;
    grp.pin = p.host;
  }
  const apart: number[][] = groups.map(() => []);
  for (const anti of antis) {
    const gs = [...new Set(anti.map((v) => groupOf[v]))];
    if (gs.length !== new Set(anti).size) return null; // two anti-affine VMs share a group
    for (const a of gs) for (const b of gs) if (a !== b && !apart[a].includes(b)) apart[a].push(b);
  }
  for (let g = 0; g < groups.length; g++) {
    const pin = groups[g].pin;
    if (pin !== -1 && apart[g].some((o) => groups[o].pin === pin)) return null;
  }
  return { vmNames: scenario.vms.map((v) => v.name), hosts, groups, groupOf, apart, maxVMs, memMB };
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
    const m: Mapping = {};
    const { groupOf, vmNames, hosts } = this.p;
    for (let v = 0; v < vmNames.length; v++) m[vmNames[v]] = hosts[this.hostOf[groupOf[v]]].name;
    return m;
  }
}

/** Host weights from cpu (relative speed); hosts without a usable cpu count as 1. */
export function cpuWeights(hosts: HostFacts[]): number[] {
  return hosts.map((h) => (Number.isFinite(h.cpu) && h.cpu > 0 ? h.cpu : 1));
}
