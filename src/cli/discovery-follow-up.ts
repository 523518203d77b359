// The `discovery` field of an apply or destroy request (protocol/agent.ts DiscoveryFollowUp):
// taken off the request before the host agent's op sees it, checked up front (a bad one
// refuses the whole request, before anything is touched), and run in this same process once
// the op succeeded. Running it here rather than as a separate `ediv agent serve` saves the
// controller a second SSH exec and Node start-up on every host of every deploy and undeploy.
import type { DiscoveryFollowUp, DiscoveryOutcome, StatusResult } from '../protocol/agent.ts';
import { InputError } from '../common/errors.ts';

type Emit = (line: unknown) => void;
const WHERE = 'request field "discovery"';

/** The request without its follow-up, and the follow-up (checked); ops other than apply and destroy have none. */
export async function takeFollowUp(op: string, request: unknown): Promise<{ request: unknown; followUp?: DiscoveryFollowUp }> {
  if ((op !== 'apply' && op !== 'destroy') || !request || typeof request !== 'object' || Array.isArray(request)) return { request };
  const { discovery, ...rest } = request as Record<string, unknown>;
  if (discovery === undefined) return { request };
  const host = (request as { host?: unknown }).host;
  return { request: rest, followUp: await checkFollowUp(discovery, typeof host === 'string' ? host : '') };
}

async function checkFollowUp(raw: unknown, host: string): Promise<DiscoveryFollowUp> {
  const bad = (message: string): never => {
    throw InputError.at(WHERE, undefined, undefined, message);
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return bad('expected {"start": {...}} or {"sync": true}');
  const keys = Object.keys(raw);
  if (keys.length !== 1) return bad('expected exactly one of "start" or "sync"');
  const r = raw as Record<string, unknown>;
  if ('sync' in r) return r.sync === true ? { sync: true } : bad('"sync" must be true');
  if (!('start' in r)) return bad(`unknown field ${JSON.stringify(keys[0])}`);
  const start = r.start as Record<string, unknown>;
  if (!start || typeof start !== 'object' || Array.isArray(start)) return bad('"start" must be an object');
  for (const k of Object.keys(start)) if (!['address', 'network', 'controlKey'].includes(k)) bad(`"start" has an unknown field ${JSON.stringify(k)}`);
  if (start.controlKey === undefined) bad('"start" needs the controller\'s "controlKey"');
  // The serve request's own check: where to listen, the key's form (never echoed).
  const { checkServeRequest } = await import('../discovery/serve.ts');
  checkServeRequest({ host, ...start });
  return { start: start as { address?: string; network?: string; controlKey: string } };
}

/**
 * Before the op: a `start` spawns the daemon now when none runs, so that its start-up overlaps
 * the apply (runFollowUp then finds it and makes it reload). Best effort, like the rest.
 */
export async function beginFollowUp(followUp: DiscoveryFollowUp, host: string, ctx: { stateDir: string; daemonMain: string; emit: Emit }): Promise<void> {
  if (!('start' in followUp)) return;
  try {
    const { serveEarly } = await import('../discovery/serve.ts');
    await serveEarly({ host, ...followUp.start }, { stateDir: ctx.stateDir, emit: ctx.emit, daemonMain: ctx.daemonMain });
  } catch {
    // runFollowUp tries again and reports what is wrong
  }
}

/**
 * Runs the follow-up after a successful op. Best effort: the op's work is done and stays done,
 * so a failure here is the outcome's error (the controller warns), never the op's.
 */
export async function runFollowUp(
  followUp: DiscoveryFollowUp,
  host: string,
  ctx: { stateDir: string; daemonMain: string; emit: Emit; status: () => Promise<StatusResult> },
): Promise<DiscoveryOutcome> {
  const t0 = performance.now();
  const ms = (): number => Math.round(performance.now() - t0);
  try {
    const { serve } = await import('../discovery/serve.ts');
    const serveCtx = { stateDir: ctx.stateDir, emit: ctx.emit, daemonMain: ctx.daemonMain };
    if ('start' in followUp) {
      const r = await serve({ host, ...followUp.start }, serveCtx);
      return { ok: true, running: r.running, ms: ms() };
    }
    const busy = (await ctx.status()).deployments.some((d) => d.vms.length > 0);
    const r = await serve(busy ? { host, reload: true } : { host, stop: true }, serveCtx);
    return { ok: true, running: r.running, ms: ms() };
  } catch (err) {
    return { ok: false, error: (err as Error).message, ms: ms() };
  }
}
