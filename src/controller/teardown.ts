// Destroying a recorded deployment on its hosts: shared by deploy's rollback and by undeploy.
// Only hosts that were sent an apply ("touched") are visited: the touched mark is committed
// before the apply is sent, so after a crash of the controller nothing made can be missed.
import type { DestroyResult } from '../protocol/agent.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import type { Progress } from './progress.ts';
import { errorMessage, settleAll, type HostSessions } from './sessions.ts';
import type { StateStore } from '../state/store.ts';
import { labFields } from './owners.ts';
import { warnOnFollowUp, type DestroyFollowUps } from './discovery-hooks.ts';

export interface TeardownOutcome {
  /** Hosts where the destroy succeeded. */
  destroyed: string[];
  failed: { host: string; error: string }[];
  /** Everything the agents reported removing, per host. */
  removed: Record<string, string[]>;
  /** Time of each host's destroy op (ms), its discovery follow-up left out. */
  destroyMs: Record<string, number>;
}

export async function teardown(opts: {
  store: StateStore;
  name: string;
  sessions: HostSessions;
  progress: Progress;
  /** Only these hosts (EDIV -H). */
  hosts?: string[];
  /** Only these VMs (EDIV -M): the hosts' backplane and other VMs stay. */
  vms?: string[];
  /** --force: the hosts remove it even where another owner's deployment is recorded (and log it). */
  force?: boolean;
  /** Each destroy brings its host's discovery daemon in step (reload, or stop when nothing is left). */
  discovery?: DestroyFollowUps;
}): Promise<TeardownOutcome> {
  const { store, name, sessions, progress } = opts;
  const rec = await store.requireScenario(name);
  const cluster = await store.cluster(name);
  const byName = new Map<string, ClusterHost>(cluster.hosts.map((h) => [h.name, h]));
  const vmHost = new Map((await store.vms(name)).map((v) => [v.vm, v.host]));
  const targets = (await store.hosts(name))
    .filter((h) => h.status !== 'destroyed')
    .filter((h) => !opts.hosts || opts.hosts.includes(h.host))
    .filter((h) => !opts.vms || opts.vms.some((vm) => vmHost.get(vm) === h.host));

  // Hosts never sent an apply hold nothing: mark them without connecting (unless filtered by VM).
  for (const h of targets) {
    if (!h.touched && !opts.vms) {
      await store.setHostStatus(name, h.host, 'destroyed');
      await store.setVmStatus(name, vmsOn(vmHost, h.host), 'destroyed');
    }
  }
  const work = targets.filter((h) => h.touched);
  const outcome: TeardownOutcome = { destroyed: targets.filter((h) => !h.touched).map((h) => h.host), failed: [], removed: {}, destroyMs: {} };

  const results = await settleAll(work, async (h) => {
    const host = byName.get(h.host);
    if (!host) throw new Error(`host ${h.host} is not in the cluster recorded for ${name}`);
    const vms = opts.vms?.filter((vm) => vmHost.get(vm) === h.host);
    const t0 = Date.now();
    const discovery = opts.discovery?.afterDestroy();
    const res = await sessions.run<DestroyResult>(host, 'destroy', { ...labFields(rec, opts.force), host: h.host, vms, discovery }, progress);
    outcome.destroyMs[h.host] = Date.now() - t0 - warnOnFollowUp(h.host, res?.discovery, (m) => progress.warn(m));
    if (vms) {
      await store.setVmStatus(name, vms, 'destroyed');
    } else {
      await store.setHostStatus(name, h.host, 'destroyed');
      await store.setVmStatus(name, vmsOn(vmHost, h.host), 'destroyed');
    }
    progress.host(h.host, 'destroyed', { message: `${res?.removed?.length ?? 0} resources removed` });
    return res;
  });
  for (const r of results) {
    if (r.ok) {
      outcome.destroyed.push(r.item.host);
      outcome.removed[r.item.host] = r.value?.removed ?? [];
    } else {
      const error = errorMessage(r.error);
      outcome.failed.push({ host: r.item.host, error });
      progress.host(r.item.host, 'destroy failed', { message: error });
    }
  }
  outcome.destroyed.sort();
  return outcome;
}

function vmsOn(vmHost: Map<string, string>, host: string): string[] {
  return [...vmHost].filter(([, h]) => h === host).map(([vm]) => vm);
}
