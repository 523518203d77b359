// The check every mapping passes, whoever made it: complete (every VM, nothing else), only
// active hosts, every restriction, and capacity (maxVMs, memory when both figures are known).
// Built-ins are held to it in tests; plugins at run time (see registry.ts).
import type { Mapping, SegmentInput } from './api.ts';
import { describeRule, listed as list, rulesOf, vmsByNet } from './problem.ts';

/** Every way `mapping` breaks the input's rules (empty when it is valid). */
export function mappingProblems(input: SegmentInput, mapping: unknown): string[] {
  if (!mapping || typeof mapping !== 'object' || Array.isArray(mapping)) {
    return [`the mapping is not an object of vm → host (got ${Array.isArray(mapping) ? 'an array' : typeof mapping})`];
  }
  const m = mapping as Record<string, unknown>;
  const problems: string[] = [];
  const hosts = new Set(input.hosts.map((h) => h.name));
  const vms = new Set(input.scenario.vms.map((v) => v.name));
  const missing = input.scenario.vms.filter((v) => !Object.hasOwn(m, v.name)).map((v) => v.name);
  if (missing.length) problems.push(`VMs missing from the mapping: ${list(missing)}`);
  const unknownVms = Object.keys(m).filter((k) => !vms.has(k));
  if (unknownVms.length) problems.push(`the mapping names VMs the scenario does not have: ${list(unknownVms)}`);
  const badHosts = Object.entries(m).filter(([, h]) => typeof h !== 'string' || !hosts.has(h));
  if (badHosts.length) {
    problems.push(`VMs mapped to an unknown or inactive host: ${list(badHosts.map(([vm, h]) => `${vm} → ${JSON.stringify(h)}`))}`);
  }
  if (problems.length) return problems;
  const map = m as Mapping;

  const byNet = vmsByNet(input);
  const names = input.scenario.vms.map((v) => v.name);
  for (const rule of rulesOf(input)) {
    const broken = (() => {
      switch (rule.kind) {
        case 'vm_deploy_at':
          return map[rule.vm] !== rule.host;
        case 'net_deploy_at':
          return (byNet.get(rule.net) ?? []).some((v) => map[names[v]] !== rule.host);
        case 'affinity':
          return new Set(rule.vms.map((v) => map[v])).size > 1;
        case 'antiaffinity':
          return new Set(rule.vms.map((v) => map[v])).size < new Set(rule.vms).size;
        case 'net_deploy_together':
          return new Set(rule.nets.flatMap((n) => (byNet.get(n) ?? []).map((v) => map[names[v]]))).size > 1;
        case 'capacity': {
          const on = input.scenario.vms.filter((v) => map[v.name] === rule.host);
          if (rule.maxVMs && on.length > rule.maxVMs) return true;
          const mem = on.reduce((a, v) => a + (v.memMB ?? 0), 0);
          return rule.memMB !== undefined && mem > rule.memMB;
        }
      }
    })();
    if (broken) problems.push(`${describeRule(rule)} is not honoured`);
  }
  return problems;
}
