// The backplane ids (VLAN ids, VNIs) the deployments of this state directory use. A controller
// plans its labs' ids apart from the others of its own state store, but controllers with stores
// of their own share hosts: two labs on one id here would be one net. So an apply using an id
// another deployment here uses is refused before anything is made — `force` does not override
// it, it would join the two labs — and facts lists the ids in use for controllers to plan
// around. The ids are read from applied.json, which an apply writes before it makes anything:
// those of an apply that failed count until its deployment is destroyed.
import { OperationError } from '../common/errors.ts';
import type { BackplaneIdUse, DeploymentOwner } from '../protocol/agent.ts';
import type { BackplaneLink } from '../protocol/plan.ts';
import { shortStore } from '../protocol/owner.ts';
import { listDeployments, readApplied, readOwner } from './store.ts';

/** The backplane ids of every deployment here but `except` (each with its net and owner). */
export function backplaneIdsInUse(stateDir: string, except?: string): BackplaneIdUse[] {
  return listDeployments(stateDir)
    .filter((d) => d !== except)
    .flatMap((deployment) => {
      const links = readApplied(stateDir, deployment)?.backplane ?? [];
      const owner = links.length ? readOwner(stateDir, deployment) : undefined;
      return links.map((b): BackplaneIdUse => ({ kind: b.kind, id: b.id, net: b.net, deployment, ...(owner ? { owner } : {}) }));
    });
}

/** A backplane link of a request whose id (of its kind) another deployment uses. */
export interface IdCollision {
  link: Pick<BackplaneLink, 'kind' | 'id' | 'net'>;
  use: BackplaneIdUse;
}

/** The request's links whose kind and id are in use (a VLAN id and a VNI of one number do not collide). */
export function idCollisions(wanted: readonly Pick<BackplaneLink, 'kind' | 'id' | 'net'>[], inUse: readonly BackplaneIdUse[]): IdCollision[] {
  return wanted.flatMap((link) => {
    const use = inUse.find((u) => u.kind === link.kind && u.id === link.id);
    return use ? [{ link, use }] : [];
  });
}

/** An apply refused because its backplane ids are in use here: nothing was made. */
export class IdsTakenError extends OperationError {
  override readonly code = 'ids-taken';
  constructor(message: string, details: { ids: Pick<BackplaneLink, 'kind' | 'id' | 'net'>[]; deployment: string; owner?: DeploymentOwner; inUse: BackplaneIdUse[] }) {
    super(message, { details });
    this.name = 'IdsTakenError';
  }
}

/** The other deployment, with its net when it names it otherwise. */
function user(use: BackplaneIdUse, net: string): string {
  const its = use.net !== net ? `, net ${use.net}` : '';
  return `deployment ${use.deployment}${its} (${use.owner ? `owner ${use.owner.user}, state store ${shortStore(use.owner.store)}` : 'no recorded owner'})`;
}

/** `host h2: backplane id 1001 (vxlan, net Net0) is in use here by deployment … : refusing to join the two labs; nothing was made`. */
export function idsTakenError(host: string, collisions: IdCollision[]): IdsTakenError {
  const each = collisions.map(({ link, use }) => `backplane id ${link.id} (${link.kind}, net ${link.net}) is in use here by ${user(use, link.net)}`);
  const first = collisions[0]!.use;
  return new IdsTakenError(`host ${host}: ${each.join('; ')}: refusing to join the two labs; nothing was made`, {
    ids: collisions.map(({ link }) => ({ kind: link.kind, id: link.id, net: link.net })),
    deployment: first.deployment,
    ...(first.owner ? { owner: first.owner } : {}),
    inUse: collisions.map((c) => c.use),
  });
}

/** Refuses (IdsTakenError) an apply of `deployment` whose backplane ids another deployment here uses. Call holding the state directory's lock. */
export function checkBackplaneIds(stateDir: string, req: { deployment: string; host: string; backplane: readonly BackplaneLink[] }): void {
  if (!req.backplane.length) return;
  const collisions = idCollisions(req.backplane, backplaneIdsInUse(stateDir, req.deployment));
  if (collisions.length) throw idsTakenError(req.host, collisions);
}
