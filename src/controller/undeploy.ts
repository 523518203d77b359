// `ediv undeploy`: destroy a recorded scenario on every host it touched, free its ids and
// remove its record. Hosts that fail to answer are reported and their part of the record is
// kept (so running undeploy again finishes the job), unless purge asks to forget it anyway.
// A failure is a report (ok: false) carrying the typed error.
import { HostFailedError } from '../common/errors.ts';
import type { Progress } from './progress.ts';
import type { HostSessions } from './sessions.ts';
import type { StateStore } from '../state/store.ts';
import { checkTargets } from './target-filter.ts';
import { teardown } from './teardown.ts';
import type { DestroyFollowUps } from './discovery-hooks.ts';

export interface UndeployRequest {
  name: string;
  /** Forget the record even when some hosts could not be cleaned. */
  purge?: boolean;
  vms?: string[];
  hosts?: string[];
  /** --force: hosts remove it even where another owner's deployment is recorded (logged there). */
  force?: boolean;
}

export interface UndeployReport {
  ok: boolean;
  scenario: string;
  /** 'removed' (record gone), 'partial' (--vm/--host: record kept), 'kept' (hosts failed). */
  record: 'removed' | 'partial' | 'kept' | 'purged';
  destroyedHosts: string[];
  failedHosts: { host: string; error: string }[];
  freedIds: number[];
  removed: Record<string, string[]>;
  destroyMs: Record<string, number>;
  /** When not ok: which hosts failed, and what became of the record. */
  error?: HostFailedError;
}

export async function undeployScenario(
  req: UndeployRequest,
  /** discovery: each destroy brings its host's discovery daemon in step (reload, or stop when nothing is left). */
  deps: { store: StateStore; sessions: HostSessions; progress: Progress; discovery?: DestroyFollowUps },
): Promise<UndeployReport> {
  const { store, progress } = deps;
  await store.requireScenario(req.name);
  checkTargets(req, {
    vms: (await store.vms(req.name)).map((v) => v.vm),
    unknownVm: `no such VM in ${req.name}`,
    hosts: (await store.hosts(req.name)).map((h) => h.host),
    unknownHost: `${req.name} has nothing on that host`,
  });
  const partial = Boolean(req.vms || req.hosts);
  if (!partial) await store.setScenarioStatus(req.name, 'undeploying');
  const td = await teardown({ store, name: req.name, sessions: deps.sessions, progress, vms: req.vms, hosts: req.hosts, force: req.force, discovery: deps.discovery });

  const ids = (await store.ids(req.name)).map((i) => i.id);
  const report: UndeployReport = {
    ok: td.failed.length === 0,
    scenario: req.name,
    record: 'removed',
    destroyedHosts: td.destroyed,
    failedHosts: td.failed,
    freedIds: [],
    removed: td.removed,
    destroyMs: td.destroyMs,
  };
  if (partial) {
    report.record = 'partial';
  } else if (td.failed.length === 0 || req.purge) {
    await store.deleteScenario(req.name);
    report.freedIds = ids;
    report.record = td.failed.length === 0 ? 'removed' : 'purged';
  } else {
    await store.setScenarioStatus(req.name, 'failed', `undeploy failed on ${td.failed.map((f) => f.host).join(', ')}`);
    report.record = 'kept';
  }
  if (!report.ok) report.error = undeployError(report);
  progress.done();
  return report;
}

/** The error of an undeploy that left hosts behind (its details: the report). */
function undeployError(r: UndeployReport): HostFailedError {
  const list = r.failedHosts.map((f) => `  ${f.host}: ${f.error}`).join('\n');
  const tail =
    r.record === 'purged'
      ? 'the record was purged: whatever those hosts still hold must be removed by hand (or by the agent: ediv agent destroy)'
      : `the record is kept: run 'ediv undeploy ${r.scenario}' again when the hosts answer, or add --purge to forget them`;
  return new HostFailedError(`undeploy of ${r.scenario} failed on ${r.failedHosts.length} host(s):\n${list}\n${tail}`, {
    host: r.failedHosts[0]?.host,
    details: { ...r },
  });
}
