// Who a deployment belongs to. Controllers with state stores of their own (a course's teachers
// and students) deploy onto the same hosts, so the agent records a deployment's owner at its
// first apply (owner.json, store.ts) and refuses the requests of any other owner — or of none,
// an older controller — on it. `force` (`ediv … --force`, an administrator's) overrides the
// refusal: such a request is appended to <stateDir>/ownership.log and said as a progress
// warning, and a forced apply takes the deployment over. A deployment without owner.json (made
// by a controller older than owners) accepts every request; its next apply with an owner
// records it.
import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../common/errors.ts';
import type { AgentOp, DeploymentOwner, OwnedRequest } from '../protocol/agent.ts';
import { readOwner } from './store.ts';
import { describeOwner, sameOwner } from '../protocol/owner.ts';

/** The ops on one deployment: what each would do (for the messages) and the ediv command that sends it. */
const OWNED_OPS = {
  apply: { does: 'apply a fragment to it', command: 'redeploy' },
  exec: { does: 'run commands in it', command: 'exec' },
  destroy: { does: 'remove it', command: 'undeploy' },
  vm: { does: 'act on its VMs', command: 'vm' },
  connect: { does: 'connect to its VMs', command: 'connect' },
  capture: { does: 'capture on its nets', command: 'capture' },
} as const satisfies Partial<Record<AgentOp, { does: string; command: string }>>;
export type OwnedOp = keyof typeof OWNED_OPS;

/** What the ownership check reads of a request. */
export type OwnerCheckRequest = OwnedRequest & { deployment: string; host: string };

export const OWNERSHIP_LOG = 'ownership.log';

/** A request of another owner (or of none) on an owned deployment, without force: nothing was changed. */
export class NotOwnerError extends OperationError {
  override readonly code = 'not-owner';
  constructor(message: string, details: { deployment: string; owner: DeploymentOwner }) {
    super(message, { details });
    this.name = 'NotOwnerError';
  }
}

/** Whether `requesting` needs force to act on a deployment `recorded` owns (none recorded: never). */
export function ownerConflict(recorded: DeploymentOwner | undefined, requesting: DeploymentOwner | undefined): boolean {
  return recorded !== undefined && !sameOwner(recorded, requesting);
}

/** A store id as messages show it: its first 8 characters (a UUID no one reads whole). */
function requester(o: DeploymentOwner | undefined): string {
  return o ? describeOwner(o) : 'a request that names no owner (a controller older than owners)';
}

export function notOwnerError(op: OwnedOp, req: OwnerCheckRequest, recorded: DeploymentOwner): NotOwnerError {
  const { does, command } = OWNED_OPS[op];
  return new NotOwnerError(
    `host ${req.host}: deployment ${req.deployment} belongs to ${describeOwner(recorded)}, not to ${requester(req.owner)}: ` +
      `refusing to ${does}; nothing was changed. An administrator may take it over with \`ediv ${command} … --force\``,
    { deployment: req.deployment, owner: recorded },
  );
}

/** The progress warning of a forced request. */
export function forcedMessage(op: OwnedOp, req: OwnerCheckRequest, recorded: DeploymentOwner, log: string): string {
  const takeover = op === 'apply' && req.owner ? `; it belongs to ${describeOwner(req.owner)} from now on` : '';
  return (
    `host ${req.host}: deployment ${req.deployment} belongs to ${describeOwner(recorded)}: ` +
    `\`ediv ${OWNED_OPS[op].command}\` forced by ${requester(req.owner)}${takeover} (logged in ${log})`
  );
}

/** One line of ownership.log. */
export interface OwnershipLogEntry {
  time: string;
  op: OwnedOp;
  deployment: string;
  host: string;
  /** The owner recorded when the request came. */
  owner: DeploymentOwner;
  /** The owner the forced request named (null: none). */
  by: DeploymentOwner | null;
}

/** Appends an entry, durably (it is the trace of an administrator's act). */
function appendLog(file: string, entry: OwnershipLogEntry): void {
  const fd = fs.openSync(file, 'a', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(entry) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The ownership check of a request on a deployment of this state directory, before the op
 * changes anything: throws a NotOwnerError, or (forced) logs and warns. Returns the owner
 * recorded before the request (undefined: none).
 */
export function checkOwner(stateDir: string, op: OwnedOp, req: OwnerCheckRequest, warn: (message: string) => void): DeploymentOwner | undefined {
  const recorded = readOwner(stateDir, req.deployment);
  if (!recorded || !ownerConflict(recorded, req.owner)) return recorded;
  if (!req.force) throw notOwnerError(op, req, recorded);
  const log = path.join(stateDir, OWNERSHIP_LOG);
  appendLog(log, { time: new Date().toISOString(), op, deployment: req.deployment, host: req.host, owner: recorded, by: req.owner ?? null });
  warn(forcedMessage(op, req, recorded, log));
  return recorded;
}
