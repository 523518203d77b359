// Text output of `ediv discover`: the hypervisor → VM → services tree, and an action's result.
import type { DiscoveryTree, TreeService, TreeVm } from '../../discovery/control-point.ts';
import type { ActionCallResult } from '../../discovery/browse.ts';
import { vmLabel } from '../../discovery/vm-ref.ts';

function shortType(t: string): string {
  const m = /^urn:[^:]+:service:([^:]+):(\d+)$/.exec(t);
  return m ? `${m[1]}:${m[2]}` : t;
}

function serviceLine(s: TreeService): string {
  const acts = (s.actions ?? []).map((a) => (a.in.length ? `${a.name}(${a.in.join(', ')})` : a.name));
  return `${shortType(s.serviceType)}${s.source === 'vm' ? ' [vm]' : ''}${acts.length ? ': ' + acts.join(' ') : ''}`;
}

function vmLines(vm: TreeVm, indent: string): string[] {
  const name = vm.name ? vmLabel(vm) : vm.friendlyName;
  const lines = [`${indent}${name}  ${vm.udn}${vm.selfAdvertised ? '  (self-advertised)' : ''}`];
  for (const s of vm.services) lines.push(`${indent}    ${serviceLine(s)}`);
  return lines;
}

export function renderTree(tree: DiscoveryTree): string {
  const lines: string[] = [];
  for (const h of tree.hypervisors) {
    lines.push(`${h.host ?? h.friendlyName}  ${h.udn}  ${h.location}  (${h.vms.length} VM${h.vms.length === 1 ? '' : 's'})`);
    for (const vm of h.vms) lines.push(...vmLines(vm, '  '));
  }
  if (tree.vms.length) {
    lines.push('VMs announcing themselves without a hypervisor seen:');
    for (const vm of tree.vms) lines.push(...vmLines(vm, '  '));
  }
  if (!lines.length) lines.push('no ediv hypervisors or VMs found');
  return lines.join('\n') + '\n';
}

/** A --watch refresh: the time, then the tree. */
export function renderTreeUpdate(tree: DiscoveryTree, time: string): string {
  return `--- ${time}\n${renderTree(tree)}`;
}

export function renderActionResult(r: ActionCallResult): string {
  let s = `${r.action} on ${vmLabel({ deployment: r.deployment, lab: r.lab, name: r.vm })}: ok\n`;
  for (const [k, v] of Object.entries(r.result)) s += `  ${k}: ${v}\n`;
  return s;
}
