// `ediv redeploy`: an edited scenario applied to a running lab. VMs still in the scenario keep
// their host (pinned for the segmentator); new VMs are placed around them; nets that still span
// hosts keep their ids, new spanning nets get new ones. The new plan is recorded, then every host
// of it gets a full apply in parallel (the agent leaves VMs whose spec is unchanged running,
// remakes changed ones and removes what the fragment no longer has), and hosts that no longer
// hold a VM are cleaned. Only when every host is done are the ids the lab no longer needs freed.
// A failure leaves the lab recorded as failed with every host it touched: running redeploy again
// finishes the job (applies converge), `ediv undeploy` removes all of it. `dryRun` plans only.
import { HostFailedError, HostUnreachableError, InterruptedError, OperationError } from '../common/errors.ts';
import type { ApplyResult, DestroyResult } from '../protocol/agent.ts';
import type { Cluster, ClusterHost } from '../protocol/cluster.ts';
import type { Plan } from '../protocol/plan.ts';
import { noRestrictions, type Restrictions } from '../protocol/restrictions.ts';
import type { Scenario } from '../scenario/model.ts';
import { addressClash, runningLabs } from './address-clash.ts';
import { applyRequest, gatherFacts, throwIfAborted, type DeployDeps, type DeployWarning } from './deploy.ts';
import { labNeeds } from './host-requirements.ts';
import { hostFailure, type HostFailure } from './host-failure.ts';
import { LabFiles } from './lab-files.ts';
import { followUpFor, warnOnFollowUp } from './discovery-hooks.ts';
import { collectingWarnings } from './progress.ts';
import { redeployChanges, type RedeployChanges } from './redeploy-changes.ts';
import { settleAll } from './sessions.ts';
import { idPoolKey } from '../state/store.ts';
import { idsUsedOnHosts, labFields } from './owners.ts';
import { findBuiltin } from '../segmentators/registry.ts';

export interface RedeployRequest {
  /** The edited scenario, named as the lab. */
  scenario: Scenario;
  scenarioPath: string;
  /** Default: the cluster recorded with the lab. */
  cluster?: Cluster;
  restrictions?: Restrictions;
  /** Default: the one recorded with the lab. */
  segmentator?: string;
  /** Plan and report the changes; touch nothing. */
  dryRun?: boolean;
  /** --force: hosts act even where another owner's deployment of the lab is recorded (logged there). */
  force?: boolean;
  signal?: AbortSignal;
}

/**
 * A deploy's dependencies; the hosts a redeploy no longer uses are cleaned, not rolled back
 * (their destroy, like a rolled-back host's, brings the discovery daemon in step).
 */
export type RedeployDeps = DeployDeps;

export interface RedeployHost {
  host: string;
  /** 'applied', 'destroyed' (no VM of the lab left there), 'failed', or 'planned' (dry run). */
  status: 'applied' | 'destroyed' | 'failed' | 'planned';
  vms: string[];
  /** The VMs the host made or remade (the agent's word; the others kept running). */
  made?: string[];
  error?: string;
  ms?: number;
}

export interface RedeployReport {
  ok: boolean;
  scenario: string;
  dryRun: boolean;
  changes: RedeployChanges;
  mapping: { vm: string; host: string }[];
  hosts: RedeployHost[];
  freedIds: number[];
  warnings: DeployWarning[];
  elapsedMs: number;
  error?: OperationError;
}

export async function redeploy(req: RedeployRequest, deps: RedeployDeps): Promise<RedeployReport> {
  const started = Date.now();
  const { store, sessions } = deps;
  const name = req.scenario.name;
  const warnings: string[] = [];
  const progress = collectingWarnings(deps.progress, (m) => warnings.push(m));
  const warn = (m: string): void => progress.warn(m);

  const rec = await store.requireScenario(name);
  if (rec.status !== 'running' && rec.status !== 'failed') {
    throw new OperationError(`cannot redeploy ${name}: it is ${rec.status} (another ediv is working on it)`);
  }
  const before = await store.plan(name);
  const cluster = req.cluster ?? (await store.cluster(name));
  const labFiles = LabFiles.scan(req.scenario, req.scenarioPath);
  const clash = addressClash(req.scenario, cluster.hosts.map((h) => h.address), await runningLabs(store));
  if (clash) throw new OperationError(`cannot redeploy ${name}: ${clash}`);

  // Every host the lab is on or may go to must answer before anything is changed.
  const { active, excluded } = await gatherFacts(cluster, sessions, progress, deps.version, warn, labNeeds(req.scenario));
  throwIfAborted(req.signal);
  const needed = excluded.filter((e) => before.hosts[e.host]);
  if (needed.length > 0) {
    throw new HostUnreachableError(needed[0]!.host, `cannot redeploy ${name}: ${needed.map((e) => `${e.host} (${e.reason})`).join('; ')}`);
  }

  const activeNames = new Set(active.map((a) => a.host.name));
  const restrictions = keptInPlace(req.scenario, before, activeNames, req.restrictions ?? noRestrictions());
  const keepIds = new Map(before.spanning.map((s) => [s.net, s.id]));
  const planWith = (idsInUse: Set<number>): Promise<Plan> =>
    deps
      .makePlan({
        scenario: req.scenario,
        cluster,
        hosts: active.map((a) => a.facts),
        // The lab's own segmentator when it is a built-in; a plugin is loaded only when --segmentator names it again.
        segmentator: req.segmentator ?? (findBuiltin(rec.segmentator) ? rec.segmentator : undefined),
        restrictions,
        // Ids other controllers' deployments use on these hosts count as taken (this lab's own do not).
        idsInUse: new Set([...idsInUse, ...idsUsedOnHosts(active.map((a) => a.raw), cluster.backplane, rec.key).map((u) => u.id)]),
        keepIds,
      })
      .then((p) => labFiles.checkPlan(p));

  progress.info(`planning ${name}: ${req.scenario.vms.length} VMs, ${Object.keys(before.mapping).length} recorded`);
  if (req.dryRun) {
    const plan = await planWith(await store.idsInUse(idPoolKey(cluster)));
    progress.done();
    const changes = redeployChanges(before, plan);
    return report({ ok: true, dryRun: true, plan, changes, hosts: plannedHosts(plan, changes), freedIds: [] });
  }
  const plan = await store.replacePlan({ name, sourcePath: req.scenarioPath, cluster, makePlan: planWith });
  const changes = redeployChanges(before, plan);
  const byName = new Map(cluster.hosts.map((h) => [h.name, h]));
  const hostOf = (h: string): ClusterHost => {
    const host = byName.get(h);
    if (!host) throw new OperationError(`${h}: the lab's record names a host that is not in the cluster`, { host: h });
    return host;
  };

  // Apply the new plan everywhere, and clean the hosts it no longer uses, all in parallel.
  const applyTo = Object.keys(plan.hosts).sort();
  const cleanUp = (await store.hosts(name)).filter((h) => !plan.hosts[h.host] && h.touched && h.status !== 'destroyed').map((h) => h.host);
  const outcome = new Map<string, RedeployHost>();
  const results = await settleAll([...applyTo, ...cleanUp], async (hostName) => {
    throwIfAborted(req.signal);
    const host = hostOf(hostName);
    const t0 = Date.now();
    const hp = plan.hosts[hostName];
    if (!hp) {
      const res = await sessions.run<DestroyResult>(host, 'destroy', { ...labFields(rec, req.force), host: hostName, discovery: deps.discovery?.afterDestroy() }, progress);
      warnOnFollowUp(hostName, res?.discovery, warn);
      await store.setHostStatus(name, hostName, 'destroyed');
      outcome.set(hostName, { host: hostName, status: 'destroyed', vms: [], ms: Date.now() - t0 });
      progress.host(hostName, 'cleaned', { message: 'no VM of the lab left here' });
      return;
    }
    await store.markHostTouched(name, hostName); // committed before the request leaves
    const request = { ...applyRequest(rec, hp, host, labFiles, undefined, req.force), ...followUpFor(deps.discovery, host, warn) };
    const res = await sessions.run<ApplyResult>(host, 'apply', request, progress);
    warnOnFollowUp(hostName, res?.discovery, warn);
    await store.setHostStatus(name, hostName, 'applied');
    const failedVms = res?.vms?.filter((v) => v.state !== 'running').map((v) => v.name) ?? [];
    await store.setVmStatus(name, hp.vms.filter((vm) => !failedVms.includes(vm)), 'running');
    await store.setVmStatus(name, failedVms, 'failed');
    outcome.set(hostName, { host: hostName, status: 'applied', vms: hp.vms, made: res?.made, ms: Date.now() - t0 });
    progress.host(hostName, 'applied', { message: res?.made ? `${res.made.length} of ${hp.vms.length} VMs (re)made` : `${hp.vms.length} VMs` });
  });

  const failures: HostFailure[] = results.flatMap((r) => (r.ok ? [] : [hostFailure(r.item, r.error)]));
  for (const f of failures) {
    await store.setHostStatus(name, f.host, 'failed', f.error);
    outcome.set(f.host, { host: f.host, status: 'failed', vms: plan.hosts[f.host]?.vms ?? [], error: f.error });
  }
  const hosts = [...applyTo, ...cleanUp].map((h) => outcome.get(h)!);
  if (failures.length > 0 || req.signal?.aborted) {
    const interrupted = failures.every((f) => f.code === 'interrupted');
    const headline = interrupted
      ? `redeploy of ${name} interrupted`
      : `redeploy of ${name} failed on ${failures.map((f) => f.host).join(', ')}: ${failures.map((f) => f.error).join('; ')}`;
    await store.setScenarioStatus(name, 'failed', headline);
    progress.done();
    const message = `${headline}\nthe lab is partly updated (recorded as failed): run 'ediv redeploy ${name}' again once the cause is fixed, or 'ediv undeploy ${name}'`;
    const errorOpts = { host: failures[0]?.host, details: { scenario: name, failedHosts: failures } };
    const error = interrupted ? new InterruptedError(message, errorOpts) : new HostFailedError(message, errorOpts);
    return report({ ok: false, dryRun: false, plan, changes, hosts, freedIds: [], error });
  }
  const freedIds = await store.finishRedeploy(name);
  progress.done();
  return report({ ok: true, dryRun: false, plan, changes, hosts, freedIds });

  function report(r: Omit<RedeployReport, 'scenario' | 'mapping' | 'warnings' | 'elapsedMs'> & { plan: Plan }): RedeployReport {
    const { plan: p, ...rest } = r;
    return {
      ...rest,
      scenario: name,
      mapping: Object.entries(p.mapping).map(([vm, host]) => ({ vm, host })),
      warnings: [...(p.warnings ?? []), ...warnings.map((message) => ({ feature: 'deploy' as const, message }))],
      elapsedMs: Date.now() - started,
    };
  }
}

/**
 * The restrictions with every VM still in the scenario pinned to its recorded host (when that
 * host is still active and the user's restrictions do not pin the VM elsewhere): kept VMs keep
 * running where they are, and the segmentator places only the new ones.
 */
export function keptInPlace(scenario: Scenario, before: Plan, activeHosts: ReadonlySet<string>, restrictions: Restrictions): Restrictions {
  const pinned = new Set(restrictions.vmDeployAt.map((p) => p.vm));
  const pins = scenario.vms
    .map((vm) => ({ vm: vm.name, host: before.mapping[vm.name] }))
    .filter((p): p is { vm: string; host: string } => p.host !== undefined && activeHosts.has(p.host) && !pinned.has(p.vm));
  return { ...restrictions, vmDeployAt: [...restrictions.vmDeployAt, ...pins] };
}

function plannedHosts(plan: Plan, changes: RedeployChanges): RedeployHost[] {
  return [
    ...changes.hosts.apply.map((h): RedeployHost => ({ host: h, status: 'planned', vms: plan.hosts[h]!.vms })),
    ...changes.hosts.destroy.map((h): RedeployHost => ({ host: h, status: 'planned', vms: [] })),
  ];
}
