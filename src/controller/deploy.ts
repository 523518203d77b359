// `ediv deploy`: facts from every host, plan, record the plan (before any host is touched),
// apply every host's fragment in parallel, then mark the scenario running. If any host fails
// (or the user interrupts), everything made on every host is destroyed and the ids freed,
// unless keepOnFailure asks to leave it (recorded as failed, so `ediv undeploy` removes it).
// A failure is a report (ok: false) carrying the typed error; deployScenario throws it instead.
import {
  AlreadyDeployedError,
  HostFailedError,
  HostUnreachableError,
  InterruptedError,
  OperationError,
} from '../common/errors.ts';
import type { ApplyRequest, ApplyResult, FactsResult } from '../protocol/agent.ts';
import type { Scenario } from '../scenario/model.ts';
import type { ScenarioWarning } from '../scenario/feature-support.ts';
import type { HostFacts } from '../segmentators/api.ts';
import type { Cluster, ClusterHost } from '../protocol/cluster.ts';
import type { Restrictions } from '../protocol/restrictions.ts';
import type { HostPlan, Plan, SpanningNet } from '../protocol/plan.ts';
import type { MakePlanOptions } from './plan.ts';
import { collectingWarnings, type Progress } from './progress.ts';
import { errorMessage, settleAll, type HostSessions } from './sessions.ts';
import type { ScenarioRecord, StateStore } from '../state/store.ts';
import { idsUsedOnHosts, labFields } from './owners.ts';
import { hostFailure, type HostFailure } from './host-failure.ts';
import { checkTargets } from './target-filter.ts';
import { recordedDriver } from './drivers.ts';
import { teardown, type TeardownOutcome } from './teardown.ts';
import { LabFiles } from './lab-files.ts';
import { addressClash, runningLabs } from './address-clash.ts';
import { followUpFor, warnOnFollowUp, type DiscoveryFollowUps } from './discovery-hooks.ts';
import { hostRequirements, labNeeds, unmet, type LabNeeds } from './host-requirements.ts';
import { AgentFailedError } from '../transport/agent-run.ts';

export type Planner = (opts: MakePlanOptions) => Promise<Plan>;

export interface DeployRequest {
  scenario: Scenario;
  /** Path of the scenario file (recorded; the lab files its VMs name are relative to its directory). */
  scenarioPath: string;
  cluster: Cluster;
  restrictions?: Restrictions;
  segmentator?: string;
  /** Only these VMs (EDIV -M). */
  vms?: string[];
  /** Only these hosts (EDIV -H). */
  hosts?: string[];
  keepOnFailure?: boolean;
  /** --force: act on the hosts even where another owner's deployment of this lab is (logged by the agents). */
  force?: boolean;
  /** Aborted by SIGINT/SIGTERM: stop starting work, then roll back as for a failure. */
  signal?: AbortSignal;
}

export interface DeployDeps {
  store: StateStore;
  /** The controller's user: the owner the new lab is recorded with (with the store's id). */
  user: string;
  sessions: HostSessions;
  makePlan: Planner;
  progress: Progress;
  /** The controller's ediv version; a host whose agent differs gets a warning. */
  version?: string;
  /**
   * The hosts' discovery daemons, brought in step by each agent in the same run as its apply
   * (started there) or its rollback's destroy. Best effort: a failure is a warning.
   */
  discovery?: DiscoveryFollowUps;
}

export interface DeploySuccess {
  ok: true;
  scenario: string;
  status: 'running';
  segmentator: string;
  backplane: string;
  mapping: { vm: string; host: string }[];
  /** Per host: its VMs, its status, the driver that runs its VMs, how long its apply took. */
  hosts: { host: string; vms: string[]; status: string; driver?: string; applyMs?: number }[];
  spanning: SpanningNet[];
  excludedHosts: { host: string; reason: string }[];
  warnings: DeployWarning[];
  elapsedMs: number;
  /** Where the time went: facts, plan + record, then apply and discovery daemons (all hosts, pipelined per host). */
  phasesMs: { facts: number; plan: number; apply: number; discovery: number };
}

export interface DeployFailure {
  ok: false;
  scenario: string;
  /**
   * What became of the deploy: refused before any host was touched; rolled back (nothing left);
   * kept (keepOnFailure, or a partial deploy of a recorded scenario); a rollback that could not
   * reach every host (the record is kept for `ediv undeploy`).
   */
  outcome: 'untouched' | 'rolled-back' | 'kept' | 'rollback-incomplete';
  failedHosts: HostFailure[];
  /** Hosts the rollback could not clean. */
  leftovers: TeardownOutcome['failed'];
  excludedHosts: { host: string; reason: string }[];
  warnings: DeployWarning[];
  elapsedMs: number;
  error: OperationError;
}

export type DeployReport = DeploySuccess | DeployFailure;

/**
 * A deploy's warning: what the scenario asks that the hosts' drivers do not apply (the plan's
 * warnings, with file:line:column), or what happened on the way (`feature: 'deploy'`).
 */
export type DeployWarning = ScenarioWarning | { feature: 'deploy'; message: string };

/** What a deploy gathered so far, for the report when it is refused. */
interface DeployLog {
  started: number;
  /** Operational warnings (also sent to the progress as they happen). */
  warnings: string[];
  /** The plan's warnings, once there is a plan. */
  planWarnings?: ScenarioWarning[];
  excluded: { host: string; reason: string }[];
}

/**
 * Deploys; an operation failure (refused, a host failed, interrupted) is a report with ok: false.
 * Bad input (InputError) and internal errors are thrown: there is nothing to report.
 */
export async function deploy(req: DeployRequest, deps: DeployDeps): Promise<DeployReport> {
  for (let attempt = 1; ; attempt++) {
    const report = await deployOnce(req, deps);
    if (report.ok || attempt === MAX_ID_RACE_ATTEMPTS || !lostIdRace(report, req)) return report;
    // Another controller's deploy took these ids on a host between our facts and our apply
    // (its store is not ours): everything was rolled back, so plan again around what the hosts
    // now report, after a random pause that keeps two losers from meeting again.
    deps.progress.info(`${req.scenario.name}: a host refused backplane ids another deployment took meanwhile; planning again (attempt ${attempt + 1} of ${MAX_ID_RACE_ATTEMPTS})`);
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 800 * attempt));
  }
}

/** How often a deploy that lost a race for backplane ids on a host is made again. */
const MAX_ID_RACE_ATTEMPTS = 4;

/** A fresh deploy rolled back completely because hosts refused its ids (and for nothing else). */
function lostIdRace(report: DeployFailure, req: DeployRequest): boolean {
  return report.outcome === 'rolled-back' && !req.signal?.aborted && report.failedHosts.length > 0 && report.failedHosts.every((f) => f.agentCode === 'ids-taken');
}

async function deployOnce(req: DeployRequest, deps: DeployDeps): Promise<DeployReport> {
  const log: DeployLog = { started: Date.now(), warnings: [], excluded: [] };
  try {
    return await deployOrFail(req, deps, log);
  } catch (err) {
    if (!(err instanceof OperationError)) throw err;
    deps.progress.done();
    return {
      ok: false,
      scenario: req.scenario.name,
      outcome: 'untouched',
      failedHosts: [],
      leftovers: [],
      excludedHosts: log.excluded,
      warnings: reportWarnings(log),
      elapsedMs: Date.now() - log.started,
      error: err,
    };
  }
}

function reportWarnings(log: DeployLog): DeployWarning[] {
  return [...(log.planWarnings ?? []), ...log.warnings.map((message) => ({ feature: 'deploy' as const, message }))];
}

/** deploy() for callers that want an exception: resolves with the success report, else throws the typed error. */
export async function deployScenario(req: DeployRequest, deps: DeployDeps): Promise<DeploySuccess> {
  const report = await deploy(req, deps);
  if (!report.ok) throw report.error;
  return report;
}

/** The deploy; throws (OperationError) when refused before any host is touched. */
async function deployOrFail(req: DeployRequest, deps: DeployDeps, log: DeployLog): Promise<DeployReport> {
  const { started, warnings } = log;
  const { store, sessions } = deps;
  // Every warning on the way (the controller's and the hosts') is shown as it happens and reported.
  const progress = collectingWarnings(deps.progress, (m) => warnings.push(m));
  const name = req.scenario.name;
  const warn = (m: string): void => progress.warn(m);
  checkTargets(req, {
    vms: req.scenario.vms.map((v) => v.name),
    unknownVm: `no such VM in scenario ${name}`,
    hosts: req.cluster.hosts.map((h) => h.name),
    unknownHost: 'no such host in the cluster',
  });
  // The files the VMs name (exec scripts, filetree sources) travel with the requests: bad input before anything is touched.
  const labFiles = LabFiles.scan(req.scenario, req.scenarioPath);

  const existing = await store.getScenario(name);
  if (existing && !req.vms && !req.hosts) throw new AlreadyDeployedError(existing);
  if (existing && (existing.status === 'planning' || existing.status === 'undeploying')) throw new AlreadyDeployedError(existing);
  const clash = addressClash(req.scenario, req.cluster.hosts.map((h) => h.address), await runningLabs(store));
  if (clash) throw new OperationError(`cannot deploy ${name}: ${clash}`);

  // 1. Facts from every host in parallel; unreachable hosts are excluded with a warning, a
  //    reached host that cannot take its part stops the deploy (gatherFacts).
  const { active, excluded } = await gatherFacts(req.cluster, sessions, progress, deps.version, warn, labNeeds(req.scenario));
  log.excluded = excluded;
  const factsDone = Date.now();
  throwIfAborted(req.signal);
  const needed = (req.hosts ?? []).filter((h) => excluded.some((e) => e.host === h));
  if (needed.length > 0) {
    throw new HostUnreachableError(needed[0], `cannot deploy on ${needed.join(', ')}: ${excluded.find((e) => e.host === needed[0])!.reason}`);
  }

  // 2. Plan and record (one transaction with the id allocation), unless the record exists
  //    (a partial deploy of an already recorded scenario reuses its plan).
  let plan: Plan;
  if (existing) {
    plan = labFiles.checkPlan(await store.plan(name));
  } else {
    if (active.length === 0) {
      throw new HostUnreachableError(undefined, `no host of the cluster is reachable: ${excluded.map((e) => `${e.host} (${e.reason})`).join('; ')}`);
    }
    progress.info(`planning ${name}: ${req.scenario.vms.length} VMs over ${active.length} hosts`);
    // Ids other controllers' deployments use on these hosts (their stores are not this one).
    const onHosts = idsUsedOnHosts(active.map((a) => a.raw), req.cluster.backplane).map((u) => u.id);
    plan = await store.createScenario({
      name,
      user: deps.user,
      sourcePath: req.scenarioPath,
      cluster: req.cluster,
      segmentator: req.segmentator ?? req.cluster.segmentator,
      makePlan: (idsInUse) =>
        deps.makePlan({
          scenario: req.scenario,
          cluster: req.cluster,
          hosts: active.map((a) => a.facts),
          segmentator: req.segmentator,
          restrictions: req.restrictions,
          idsInUse: new Set([...idsInUse, ...onHosts]),
        }).then((p) => labFiles.checkPlan(p)), // per-host lab-file limits, before the plan is recorded
    });
  }
  const rec = existing ?? (await store.requireScenario(name));

  log.planWarnings = plan.warnings ?? [];

  // 3. Apply on every selected host in parallel.
  const targets = selectHosts(plan, req);
  const unreachable = targets.filter((h) => excluded.some((e) => e.host === h));
  if (unreachable.length > 0 && existing) {
    throw new HostUnreachableError(unreachable[0], `cannot deploy on ${unreachable.join(', ')}: not reachable`);
  }
  await store.setScenarioStatus(name, 'deploying');
  const planDone = Date.now();
  const byName = new Map(req.cluster.hosts.map((h) => [h.name, h]));
  const applyMs: Record<string, number> = {};
  const discoveryMs: Record<string, number> = {};
  const results = await settleAll(targets, async (hostName) => {
    throwIfAborted(req.signal);
    const host = byName.get(hostName);
    if (!host) throw new OperationError(`${hostName}: the plan names a host that is not in the cluster`, { host: hostName });
    const hp = plan.hosts[hostName]!;
    const vms = req.vms ? hp.vms.filter((vm) => req.vms!.includes(vm)) : undefined;
    const request = { ...applyRequest(rec, hp, host, labFiles, vms, req.force), ...followUpFor(deps.discovery, host, warn) };
    await store.markHostTouched(name, hostName); // committed before the request leaves
    const t0 = Date.now();
    const res = await sessions.run<ApplyResult>(host, 'apply', request, progress);
    // The daemon started in the same agent run, after the apply: its time is discovery's.
    if (res?.discovery) discoveryMs[hostName] = warnOnFollowUp(hostName, res.discovery, warn);
    applyMs[hostName] = Date.now() - t0 - (discoveryMs[hostName] ?? 0);
    await store.setHostStatus(name, hostName, 'applied');
    const reported = res?.vms?.filter((v) => v.state !== 'running').map((v) => v.name) ?? [];
    const wanted = vms ?? hp.vms;
    await store.setVmStatus(name, wanted.filter((vm) => !reported.includes(vm)), 'running');
    await store.setVmStatus(name, reported, 'failed');
    progress.host(hostName, 'applied', { message: `${(vms ?? hp.vms).length} VMs up` });
    return res;
  });

  const failures = results.flatMap((r) => (r.ok ? [] : [hostFailure(r.item, r.error)]));
  for (const f of failures) await store.setHostStatus(name, f.host, 'failed', f.error);
  const interrupted = req.signal?.aborted ?? false;
  if (failures.length > 0 || interrupted) {
    const isInterrupt = (f: HostFailure): boolean => f.code === 'interrupted';
    return failDeploy({
      req,
      deps,
      log,
      interrupted: interrupted && failures.every(isInterrupt),
      reason: failures.filter((f) => !isInterrupt(f)).map((f) => f.error).join('; '),
      failures,
      fresh: !existing,
    });
  }


  await store.setScenarioStatus(name, 'running');
  progress.done();
  const hostRecords = await store.hosts(name);
  return {
    ok: true,
    scenario: name,
    status: 'running',
    segmentator: plan.segmentator,
    backplane: plan.backplane,
    mapping: Object.entries(plan.mapping).map(([vm, host]) => ({ vm, host })),
    hosts: hostRecords.map((h) => ({
      host: h.host,
      vms: plan.hosts[h.host]?.vms ?? [],
      status: h.status,
      driver: plan.hosts[h.host]?.driver,
      applyMs: applyMs[h.host],
    })),
    spanning: plan.spanning,
    excludedHosts: excluded,
    warnings: reportWarnings(log),
    elapsedMs: Date.now() - started,
    phasesMs: {
      facts: factsDone - started,
      plan: planDone - factsDone,
      apply: Math.max(0, ...Object.values(applyMs)),
      discovery: Math.max(0, ...Object.values(discoveryMs)),
    },
  };
}

/** Rolls back (or keeps, with keepOnFailure) and reports the error that names the failed hosts. */
async function failDeploy(opts: {
  req: DeployRequest;
  deps: DeployDeps;
  log: DeployLog;
  /** Interrupted, and no host failed for another reason. */
  interrupted: boolean;
  /** The hosts' errors, interrupts left out. */
  reason: string;
  failures: HostFailure[];
  fresh: boolean;
  /** Hosts whose discovery daemon this deploy started or reloaded. */
}): Promise<DeployFailure> {
  const { req, deps, reason, failures } = opts;
  const { store, progress } = deps;
  const name = req.scenario.name;
  const failedHosts = failures.map((f) => f.host);
  const headline = opts.interrupted
    ? `deploy of ${name} interrupted`
    : `deploy of ${name} failed on ${failedHosts.join(', ')}: ${reason}`;
  await store.setScenarioStatus(name, 'failed', headline);
  const details = { scenario: name, failedHosts: failures, rolledBack: false as boolean, leftovers: [] as TeardownOutcome['failed'] };
  const fail = (outcome: DeployFailure['outcome'], message: string): DeployFailure => {
    progress.done();
    const errorOpts = { host: failedHosts[0], details };
    return {
      ok: false,
      scenario: name,
      outcome,
      failedHosts: failures,
      leftovers: details.leftovers,
      excludedHosts: opts.log.excluded,
      warnings: reportWarnings(opts.log),
      elapsedMs: Date.now() - opts.log.started,
      error: opts.interrupted ? new InterruptedError(message, errorOpts) : new HostFailedError(message, errorOpts),
    };
  };
  if (req.keepOnFailure || !opts.fresh) {
    return fail('kept', `${headline}\nleft in place for inspection (recorded as failed); 'ediv undeploy ${name}' removes it`);
  }
  progress.info(`${headline}; rolling back`);
  // The destroys bring the hosts' discovery daemons in step (one left with nothing to serve stops).
  const td = await teardown({ store, name, sessions: deps.sessions, progress, force: req.force, discovery: deps.discovery });
  details.leftovers = td.failed;
  if (td.failed.length === 0) {
    await store.deleteScenario(name); // frees the ids
    details.rolledBack = true;
    return fail('rolled-back', `${headline}\nrolled back: nothing is left on any host`);
  }
  return fail(
    'rollback-incomplete',
    `${headline}\nrollback incomplete on ${td.failed.map((f) => `${f.host} (${f.error})`).join(', ')}; ` +
      `the record is kept: run 'ediv undeploy ${name}' when the host is back`,
  );
}

export interface ActiveHost {
  host: ClusterHost;
  facts: HostFacts;
  raw: FactsResult;
}

/**
 * Facts from every host of the cluster in parallel; an unreachable host is excluded with a
 * warning. A host that answered but cannot take its part (host-requirements.ts: the agent's
 * version, root, the kernel, the programs, the container driver's needs, FRR for `lab`) stops
 * the command here, before anything is touched, with every unmet item of every such host.
 */
export async function gatherFacts(
  cluster: Cluster,
  sessions: HostSessions,
  progress: Progress,
  version: string | undefined,
  warn: (m: string) => void,
  lab?: LabNeeds,
): Promise<{ active: ActiveHost[]; excluded: { host: string; reason: string }[] }> {
  const results = await settleAll(cluster.hosts, (h) => sessions.run<FactsResult>(h, 'facts', {}, progress));
  const active: ActiveHost[] = [];
  const excluded: { host: string; reason: string }[] = [];
  const unready: { host: string; line: string }[] = [];
  for (const r of results) {
    if (!r.ok && r.error instanceof AgentFailedError) {
      // Reached, but its agent cannot run (sudo refused, no Node.js, ...): set-up to fix, not a host that is down.
      progress.host(r.item.name, 'not ready', { message: 'agent failed' });
      unready.push({ host: r.item.name, line: errorMessage(r.error) }); // (the message names the host)
      continue;
    }
    if (!r.ok) {
      const reason = errorMessage(r.error);
      excluded.push({ host: r.item.name, reason });
      progress.host(r.item.name, 'excluded', { message: 'unreachable' });
      warn(`host ${r.item.name} excluded (inactive): ${reason}`);
      continue;
    }
    const f = r.value;
    const problems = unmet(hostRequirements(cluster, r.item, f, { ...(version !== undefined ? { controllerVersion: version } : {}), ...(lab ? { lab } : {}) }));
    if (problems.length > 0) {
      progress.host(r.item.name, 'not ready', { message: `${problems.length} problem(s)` });
      unready.push(...problems.map((p) => ({ host: r.item.name, line: `${r.item.name}: ${p}` })));
      continue;
    }
    progress.host(r.item.name, 'ready', { message: `load ${f.loadAvg?.[0] ?? '?'}` });
    active.push({ host: r.item, raw: f, facts: hostFacts(r.item, f) });
  }
  if (unready.length > 0) {
    const lines = unready.map((u) => u.line);
    throw new OperationError(`hosts cannot take their part (nothing was touched; \`ediv cluster check\` lists every item):\n  ${lines.join('\n  ')}`, {
      host: unready[0]!.host,
      details: { reason: 'hosts-not-ready', problems: lines },
    });
  }
  return { active, excluded };
}

export function hostFacts(h: ClusterHost, f: FactsResult): HostFacts {
  return {
    name: h.name,
    cpu: h.cpu,
    memMB: h.memMB ?? f.memMB,
    maxVMs: h.maxVMs,
    loadAvg: f.loadAvg?.[0],
    cpus: f.cpus,
    labels: h.labels,
  };
}

function selectHosts(plan: Plan, req: DeployRequest): string[] {
  return Object.values(plan.hosts)
    .filter((hp) => !req.hosts || req.hosts.includes(hp.host))
    .filter((hp) => !req.vms || hp.vms.some((vm) => req.vms!.includes(vm)))
    .map((hp) => hp.host)
    .sort();
}

/** The apply a host gets: its fragment and backplane links, the lab files its VMs name, its driver; `vms` for a partial apply. */
export function applyRequest(rec: ScenarioRecord, hp: HostPlan, host: ClusterHost, labFiles: LabFiles, vms?: string[], force?: boolean): ApplyRequest {
  return {
    ...labFields(rec, force),
    lab: rec.name,
    host: host.name,
    fragmentXml: hp.fragmentXml,
    files: labFiles.read(host.name),
    backplane: hp.backplane,
    driver: recordedDriver(hp, host),
    ...(vms ? { vms } : {}),
  };
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InterruptedError();
}
