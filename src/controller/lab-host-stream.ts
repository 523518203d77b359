// What `connect` and `capture` share: find the host of a running lab that a VM or net is on
// (from the record, no host contacted), then run a streaming agent op there with the request
// as its argument, its stdio joined to the user's.
import { OperationError } from '../common/errors.ts';
import { encodeArgRequest, type CaptureRequest, type ConnectRequest } from '../protocol/agent.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import type { Plan } from '../protocol/plan.ts';
import { agentArgv } from '../transport/agent-run.ts';
import { openTransport, type InteractiveIo } from '../transport/index.ts';
import { accessibleLab, openStoreFor, type CommonOptions } from './command-context.ts';
import { labFields } from './owners.ts';
import { controllerOwner } from '../state/open.ts';

/**
 * The host `pick` chooses (by name) in the plan of running lab `name`, and what a request
 * there says of the lab (its key, its owner, --force).
 */
export async function labHost(
  opts: CommonOptions & { force?: boolean },
  name: string,
  pick: (plan: Plan) => string,
): Promise<{ host: ClusterHost; lab: ReturnType<typeof labFields> }> {
  const { store, cluster } = await openStoreFor(opts);
  try {
    const rec = await accessibleLab({ store, owner: controllerOwner(store), clusterFile: cluster }, name);
    if (rec.status !== 'running') throw new OperationError(`scenario ${name} is ${rec.status}, not running`);
    const hostName = pick(await store.plan(name));
    return { host: (await store.cluster(name)).hosts.find((h) => h.name === hostName)!, lab: labFields(rec, opts.force) };
  } finally {
    await store.close();
  }
}

/** Runs `ediv agent <op> <request>` on `host` joined to `io`; closes the connection after (or on abort). */
export async function streamOnHost(
  opts: CommonOptions,
  host: ClusterHost,
  op: 'connect' | 'capture',
  request: ConnectRequest | CaptureRequest,
  io: InteractiveIo,
  signal?: AbortSignal,
): Promise<{ exitCode: number | null }> {
  const transport = await openTransport(host, { acceptNewHostKeys: Boolean(opts.acceptNewHostKeys) });
  const stop = () => void transport.close();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    await transport.prepareAgent();
    return await transport.interactive([...agentArgv(host, op), encodeArgRequest(request)], io);
  } finally {
    signal?.removeEventListener('abort', stop);
    await transport.close();
  }
}
