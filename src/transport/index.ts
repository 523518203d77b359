// Transport entry point: a HostTransport for a cluster host — SSH (ediv's ssh2 client by
// default, or the system's OpenSSH client: ssh.client) or local.
import type { ClusterHost } from '../protocol/cluster.ts';
import { LocalTransport } from './local.ts';
import { SshTransport } from './ssh.ts';
import { OpenSshTransport } from './openssh.ts';
import type { HostTransport, TransportOptions } from './types.ts';

export type { CallOptions, ExecOptions, ExecResult, HostTransport, InteractiveIo, TransportOptions } from './types.ts';
export { mapHosts, valuesOrThrow } from './parallel.ts';
export type { HostOutcome } from './parallel.ts';
export { agentStarts, connectionStats, resetConnectionStats } from './stats.ts';
export { shQuote, shQuoteArgv } from './ssh-quote.ts';

/**
 * Opens a transport to `host`. For SSH the connection is made (and the host key verified) now,
 * so errors surface here; every later operation reuses it.
 */
export async function openTransport(host: ClusterHost, opts: TransportOptions = {}): Promise<HostTransport> {
  if (host.transport === 'local') return new LocalTransport(host, opts);
  const t = host.ssh.client === 'openssh' ? new OpenSshTransport(host, opts) : new SshTransport(host, opts);
  await t.connect();
  return t;
}
