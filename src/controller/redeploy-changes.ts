// What a redeploy changes: the recorded plan of a lab against the plan of its edited scenario.
// Pure. A VM is "changed" when its own definition differs (source positions aside) or it moves
// to another host; whether a host really remakes it is the agent's call (it compares what it
// would build), and the redeploy report gives the agents' answer.
import type { Scenario } from '../scenario/model.ts';
import type { Plan, SpanningNet } from '../protocol/plan.ts';
import { stringifyWithMaps } from '../common/json.ts';
import { byName } from './ids.ts';

export interface RedeployChanges {
  vms: {
    /** Same host, same definition: left running. */
    kept: string[];
    /** Same host, new definition. */
    changed: string[];
    /** To another host (its old host's VM goes, the new host makes it). */
    moved: { vm: string; from: string; to: string }[];
    added: { vm: string; host: string }[];
    removed: { vm: string; host: string }[];
  };
  nets: { added: string[]; changed: string[]; removed: string[] };
  spanning: {
    /** Nets that span hosts before and after (same id; the hosts carrying them may change). */
    kept: SpanningNet[];
    /** Nets that now span hosts: their new ids. */
    added: SpanningNet[];
    /** Nets that no longer span hosts: their ids are freed once every host is done. */
    released: SpanningNet[];
  };
  hosts: {
    /** Hosts the new plan applies to. */
    apply: string[];
    /** Hosts that no longer hold any of the lab's VMs: everything of the lab there is removed. */
    destroy: string[];
  };
  /** Nothing would change (every host still gets its apply: it repairs what is missing). */
  none: boolean;
}

/** A model value's JSON without source positions (a VM moved down the file is not a changed VM). */
function definition(value: unknown): string {
  return stringifyWithMaps(value, POSITIONS);
}
const POSITIONS = new Set(['loc']);

function definitions<T extends { name: string }>(items: Iterable<T>): Map<string, string> {
  return new Map([...items].map((x) => [x.name, definition(x)]));
}

/** Every VM and net of a plan, from its fragments (a net carried by several hosts once). */
function planModel(plan: Plan): { vms: Scenario['vms']; nets: Scenario['nets'] } {
  const vms: Scenario['vms'] = [];
  const nets = new Map<string, Scenario['nets'][number]>();
  for (const hp of Object.values(plan.hosts)) {
    vms.push(...hp.fragment.vms);
    // The fragment's `external` is the backplane binding, which changes with the id: compare the net as the user wrote it.
    for (const n of hp.fragment.nets) if (!nets.has(n.name)) nets.set(n.name, { ...n, external: undefined });
  }
  return { vms, nets: [...nets.values()] };
}

/** The changes from the recorded plan `before` to `after` (the edited scenario's plan). */
export function redeployChanges(before: Plan, after: Plan): RedeployChanges {
  const old = planModel(before);
  const now = planModel(after);
  const oldVm = definitions(old.vms);
  const newVm = definitions(now.vms);
  const vms: RedeployChanges['vms'] = { kept: [], changed: [], moved: [], added: [], removed: [] };
  // In the scenario's order (the mapping's), not the fragments'.
  for (const vm of Object.keys(after.mapping)) {
    const def = newVm.get(vm)!;
    const from = before.mapping[vm];
    const to = after.mapping[vm]!;
    if (from === undefined || !oldVm.has(vm)) vms.added.push({ vm, host: to });
    else if (from !== to) vms.moved.push({ vm, from, to });
    else if (oldVm.get(vm) === def) vms.kept.push(vm);
    else vms.changed.push(vm);
  }
  for (const vm of Object.keys(before.mapping)) if (!newVm.has(vm)) vms.removed.push({ vm, host: before.mapping[vm]! });

  const oldNet = definitions(old.nets);
  const newNet = definitions(now.nets);
  const nets: RedeployChanges['nets'] = { added: [], changed: [], removed: [] };
  for (const [net, def] of newNet) {
    if (!oldNet.has(net)) nets.added.push(net);
    else if (oldNet.get(net) !== def) nets.changed.push(net);
  }
  for (const net of [...oldNet.keys()].sort(byName)) if (!newNet.has(net)) nets.removed.push(net);

  const oldSpan = new Map(before.spanning.map((s) => [s.net, s]));
  const newSpan = new Map(after.spanning.map((s) => [s.net, s]));
  const spanning: RedeployChanges['spanning'] = {
    kept: after.spanning.filter((s) => oldSpan.get(s.net)?.id === s.id),
    added: after.spanning.filter((s) => oldSpan.get(s.net)?.id !== s.id),
    released: before.spanning.filter((s) => newSpan.get(s.net)?.id !== s.id),
  };

  const hosts = {
    apply: Object.keys(after.hosts).sort(byName),
    destroy: Object.keys(before.hosts).filter((h) => !after.hosts[h]).sort(byName),
  };
  const spanningHostsChanged = spanning.kept.some((s) => oldSpan.get(s.net)!.hosts.join() !== s.hosts.join());
  const none =
    vms.changed.length + vms.moved.length + vms.added.length + vms.removed.length === 0 &&
    nets.added.length + nets.changed.length + nets.removed.length === 0 &&
    spanning.added.length + spanning.released.length === 0 &&
    !spanningHostsChanged &&
    hosts.destroy.length === 0;
  return { vms, nets, spanning, hosts, none };
}
