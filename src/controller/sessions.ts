// One connection per host for the whole of a command: every agent op of the command reuses it.
// The connector is the transport (src/transport) in the product, a fake in orchestration tests.
import { OperationError } from '../common/errors.ts';
import { RUN_STEP, type AgentOp, type ProgressEvent } from '../protocol/agent.ts';
import { printable } from '../common/printable.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import type { Progress } from './progress.ts';

/** What the controller needs from a host connection (the transports' HostTransport has this shape). */
export interface AgentChannel {
  runAgent<T>(op: AgentOp, request: unknown, onProgress?: (e: ProgressEvent) => void): Promise<T>;
  close(): Promise<void> | void;
}

export type Connector = (host: ClusterHost) => Promise<AgentChannel>;

function formatSize(bytes: number): string {
  return bytes < 10_000 ? `${bytes} B` : `${Math.round(bytes / 1000)} kB`;
}

/** A multi-line report (a batch's input) indented under its first line. */
function indentAfterFirst(text: string): string {
  return text.replaceAll('\n', '\n    ');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class HostSessions {
  private readonly connector: Connector;
  private readonly open = new Map<string, Promise<AgentChannel>>();
  private readonly verbose: boolean;

  /** `verbose`: each op sent, and each command the agents report running (`run` events), is a progress line. */
  constructor(connector: Connector, opts: { verbose?: boolean } = {}) {
    this.connector = connector;
    this.verbose = Boolean(opts.verbose);
  }

  /** The host's channel, connecting on first use; a failed connection is not retried. */
  channel(host: ClusterHost): Promise<AgentChannel> {
    const key = `${host.name}@${host.address}:${host.ssh?.port ?? ''}`;
    let p = this.open.get(key);
    if (!p) {
      p = this.connector(host);
      p.catch(() => {}); // observed by the caller; avoid an unhandled rejection here
      this.open.set(key, p);
    }
    return p;
  }

  /**
   * Runs one agent op on a host, forwarding its progress events, and turns any failure into an
   * OperationError that names the host.
   */
  async run<T>(host: ClusterHost, op: AgentOp, request: unknown, progress?: Progress): Promise<T> {
    progress?.host(host.name, op === 'facts' ? 'connect' : op);
    if (this.verbose) progress?.info(`${host.name}: ediv agent ${op} (request ${formatSize(JSON.stringify(request ?? {}).length)})`);
    try {
      const ch = await this.channel(host);
      return await ch.runAgent<T>(op, request, (e) => {
        // A host's warning (a feature it cannot apply, say) is the command's, not a step of the host.
        // What a host says reaches the user's terminal: its control characters are shown escaped.
        const message = e.message === undefined ? undefined : printable(e.message);
        if (e.step === 'warning') progress?.warn(`${host.name}: ${message ?? ''}`);
        else if (e.step === RUN_STEP) {
          if (this.verbose) progress?.info(indentAfterFirst(`${host.name}: $ ${message ?? ''}`));
        }
        else progress?.host(host.name, printable(e.step || op), { message, done: e.done, total: e.total });
      });
    } catch (err) {
      if (err instanceof OperationError && err.host) throw err;
      throw new OperationError(`${host.name}: ${errorMessage(err)}`, { host: host.name, cause: err });
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(all.map(async (p) => (await p).close()));
  }
}

/** Runs `fn` on every item in parallel and returns the outcomes in order (never throws). */
export async function settleAll<I, T>(
  items: I[],
  fn: (item: I) => Promise<T>,
): Promise<({ item: I; ok: true; value: T } | { item: I; ok: false; error: unknown })[]> {
  const results = await Promise.allSettled(items.map((i) => fn(i)));
  return results.map((r, k) =>
    r.status === 'fulfilled' ? { item: items[k]!, ok: true, value: r.value } : { item: items[k]!, ok: false, error: r.reason },
  );
}
