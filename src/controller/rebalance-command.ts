// `ediv rebalance LAB --dry-run`: which VMs to move so that no host's lab VMs use more than
// --max-load of its CPUs, from live figures: every host of the lab measures its VMs' CPU use
// over --sample seconds (status with sampleMs), then the segmentator's `rebalance` hook (the
// built-in rebalanceByLoad unless --segmentator names a plugin that has one) plans the moves
// under the lab's restrictions (--restrictions, as at deploy). The moves themselves come with
// `ediv move` (issue 17): for now only the plan is made, and nothing is touched.
import { InputError, OperationError } from '../common/errors.ts';
import { parseScenarioFile } from '../scenario/index.ts';
import { noRestrictions } from '../protocol/restrictions.ts';
import type { HostFacts, RebalanceInput, RebalancePlan } from '../segmentators/api.ts';
import { findBuiltin, resolveSegmentator } from '../segmentators/registry.ts';
import { rebalanceByLoad } from '../segmentators/rebalance.ts';
import { accessibleLab, withContext, type CommonOptions } from './command-context.ts';
import { asLab } from './deploy-command.ts';
import { loadRestrictions } from './restrictions.ts';
import { scenarioStatus } from './status.ts';

export interface RebalanceCommand extends CommonOptions {
  lab: string;
  /** Share of a host's CPUs its lab VMs may use (0 < x). */
  maxLoad: number;
  sampleMs: number;
  restrictions?: string;
  /** A built-in or a plugin (the user's --segmentator: the only way a plugin loads). */
  segmentator?: string;
}

export interface RebalanceReport extends RebalancePlan {
  ok: true;
  lab: string;
  maxLoad: number;
  sampleMs: number;
  /** Who planned it: the segmentator whose hook ran, or "built-in". */
  planner: string;
  /** Each VM's CPU use over the sample, in percent of one CPU. */
  vmCpu: Record<string, number>;
  /** Always false until `ediv move` exists. */
  applied: false;
}

export async function rebalanceCommand(cmd: RebalanceCommand): Promise<RebalanceReport> {
  const plugin = cmd.segmentator === undefined ? undefined : await resolveSegmentator(cmd.segmentator); // bad input first
  return withContext(cmd, async (ctx) => {
    const rec = await accessibleLab(ctx, cmd.lab);
    if (rec.status !== 'running') throw new OperationError(`scenario ${cmd.lab} is ${rec.status}, not running: there is nothing to rebalance`);
    const [plan, cluster] = [await ctx.store.plan(cmd.lab), await ctx.store.cluster(cmd.lab)];
    const scenario = asLab(await parseScenarioFile(rec.sourcePath), cmd.lab);
    const unknown = scenario.vms.filter((vm) => plan.mapping[vm.name] === undefined).map((vm) => vm.name);
    if (unknown.length || scenario.vms.length !== Object.keys(plan.mapping).length) {
      throw InputError.at(rec.sourcePath, undefined, undefined, `the scenario file changed since ${cmd.lab} was deployed (its VMs are not the lab's${unknown.length ? `: ${unknown.slice(0, 5).join(', ')} not deployed` : ''}); redeploy it first`);
    }
    const restrictions = cmd.restrictions ? await loadRestrictions(cmd.restrictions, scenario, cluster) : noRestrictions();
    // Every host of the lab's cluster, not only those it uses now: the moves may go to any (all).
    const status = await scenarioStatus({ name: cmd.lab, sampleMs: cmd.sampleMs, all: true, cluster }, { store: ctx.store, sessions: ctx.sessions, progress: ctx.progress });
    ctx.progress.done();
    const down = status.hosts.filter((h) => !h.reachable);
    if (down.length) throw new OperationError(`cannot measure ${cmd.lab}: ${down.map((h) => `${h.host} (${h.error})`).join('; ')}`, { host: down[0]!.host });
    const vmCpu: Record<string, number> = {};
    for (const v of status.scenarios[0]?.vms ?? []) if (v.cpuPercent !== undefined) vmCpu[v.vm] = v.cpuPercent;
    const usage = new Map(status.hosts.map((h) => [h.host, h]));
    const hosts: HostFacts[] = cluster.hosts.map((h) => {
      const u = usage.get(h.name);
      return { name: h.name, cpu: h.cpu, ...(h.memMB !== undefined ? { memMB: h.memMB } : {}), ...(h.maxVMs ? { maxVMs: h.maxVMs } : {}), labels: h.labels, ...(u?.usage ? { cpus: u.usage.cpus } : {}), ...(u?.loadAvg ? { loadAvg: u.loadAvg[0] } : {}) };
    });
    const input: RebalanceInput = { scenario, hosts, restrictions, current: plan.mapping, vmCpu, maxLoad: cmd.maxLoad };
    const hooked = plugin ?? findBuiltin(rec.segmentator);
    const result = hooked?.rebalance ? checkedPlan(await hooked.rebalance(input), input, hooked.name) : rebalanceByLoad(input);
    return { ok: true, lab: cmd.lab, maxLoad: cmd.maxLoad, sampleMs: cmd.sampleMs, planner: hooked?.rebalance ? hooked.name : 'built-in', vmCpu, ...result, applied: false };
  });
}

/** A plugin's plan, checked: every move names a VM of the lab, where it runs now, and a host of the cluster. */
function checkedPlan(plan: RebalancePlan, input: RebalanceInput, who: string): RebalancePlan {
  const hosts = new Set(input.hosts.map((h) => h.name));
  const bad = (why: string) => new OperationError(`segmentator ${who}: its rebalance ${why}`);
  if (!plan || !Array.isArray(plan.moves) || !Array.isArray(plan.loads) || !Array.isArray(plan.over)) throw bad('returned no {moves, loads, over}');
  for (const m of plan.moves) {
    if (typeof m?.vm !== 'string' || input.current[m.vm] === undefined) throw bad(`moves an unknown VM ${JSON.stringify(m?.vm)}`);
    if (m.from !== input.current[m.vm]) throw bad(`moves ${m.vm} from ${JSON.stringify(m.from)}, but it runs on ${input.current[m.vm]}`);
    if (!hosts.has(m.to)) throw bad(`moves ${m.vm} to ${JSON.stringify(m.to)}, not a host of the cluster`);
  }
  return plan;
}
