// Who may act on a lab, and what a request to a host says about whose lab it is. A lab's owner
// (the controller's user and its state store's id) is recorded with it; an ordinary user sees
// and acts on their own labs only, the cluster file's `admins` on every lab. The hosts check
// the owner again (the agent's owner.json): a controller with another store cannot touch a lab
// it did not make unless the user says --force.
import { OperationError } from '../common/errors.ts';
import type { BackplaneIdUse, DeploymentOwner, FactsResult } from '../protocol/agent.ts';
import type { BackplaneKind, Cluster } from '../protocol/cluster.ts';
import type { ScenarioRecord } from '../state/store.ts';
import { describeOwner, sameOwner } from '../protocol/owner.ts';

/** Who runs this command: the owner it records, and whether the cluster lists it as an administrator. */
export interface Caller {
  owner: DeploymentOwner;
  admin: boolean;
}

export function callerOf(owner: DeploymentOwner, cluster?: Pick<Cluster, 'admins'>): Caller {
  return { owner, admin: cluster?.admins?.includes(owner.user) ?? false };
}

/** The caller's own labs, or every lab for an administrator. */
export function visibleLabs(recs: ScenarioRecord[], caller: Caller): ScenarioRecord[] {
  return caller.admin ? recs : recs.filter((r) => sameOwner(r.owner, caller.owner));
}

/** Refuses (exit 1) a lab of another owner unless the caller is an administrator. */
export function requireAccess(rec: ScenarioRecord, caller: Caller): void {
  if (caller.admin || sameOwner(rec.owner, caller.owner)) return;
  throw new OperationError(
    `lab ${rec.name} belongs to ${describeOwner(rec.owner)}, not to ${caller.owner.user}: only its owner, or an administrator listed in the cluster file's admins, may see or change it`,
    { details: { reason: 'not-owner', lab: rec.name, owner: rec.owner } },
  );
}

/**
 * What every request about a recorded lab says of it: the key the hosts know it by, the owner
 * it acts for (the lab's: an administrator acts on its owner's behalf, which the store allows),
 * and --force when given.
 */
export function labFields(rec: ScenarioRecord, force?: boolean): { deployment: string; owner?: DeploymentOwner; force?: true } {
  const owner = rec.owner.user && rec.owner.store ? { owner: rec.owner } : {}; // a record without one: as an older controller
  return { deployment: rec.key, ...owner, ...(force ? { force: true as const } : {}) };
}

/** The backplane ids of `kind` the hosts report in use by deployments other than `ownKey`. */
export function idsUsedOnHosts(facts: Pick<FactsResult, 'backplaneIds'>[], kind: BackplaneKind, ownKey?: string): BackplaneIdUse[] {
  return facts.flatMap((f) => f.backplaneIds ?? []).filter((u) => u.kind === kind && u.deployment !== ownKey);
}
