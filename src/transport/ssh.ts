// The SSH transport: ONE ssh2 connection per cluster host, reused by every operation of a
// command (each operation is a channel multiplexed over it, at most `maxChannels` at once).
// Host keys are verified against known_hosts; unknown keys are refused unless
// acceptNewHostKeys (then recorded once the connection is authenticated), changed keys always.
import { existsSync, readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { OperationError } from '../common/errors.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import type { AgentOp, ProgressEvent } from '../protocol/agent.ts';
import { agentArgv, agentHost, finish } from './agent-run.ts';
import { AgentSession, sessionOptions } from './agent-session.ts';
import { Slots } from './slots.ts';
import type { Started } from './agent-run.ts';
import { privateKeyProblem } from './file-safety.ts';
import { hostKeyRefusal, loadKnownHosts, recordHostKey, serverHostKeyOrder, verifyHostKey } from './host-key-check.ts';
import type { HostKeyDecision, KnownHostFileEntry } from './host-key-check.ts';
import { sameKey } from './key-identity.ts';
import { printable } from '../common/printable.ts';
import { shQuoteArgv } from './ssh-quote.ts';
import { resolveTarget } from './ssh-target.ts';
import type { SshTarget } from './ssh-target.ts';
import { countAgentStart, countConnection } from './stats.ts';
import { DEFAULTS } from './types.ts';
import type { CallOptions, ExecOptions, ExecResult, HostTransport, InteractiveIo, TransportOptions } from './types.ts';

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

/** How long a killed command's channel may take to close before its slot is given back anyway. */
const KILL_GRACE_MS = 5000;

type ExitStatus = { exitCode: number | null; signal?: string };

/** An open channel, watched from the moment it opened. */
interface OpenChannel {
  channel: ClientChannel;
  exited: Promise<ExitStatus>;
  /** Settles `exited` early (a killed command whose close never comes). */
  settle(s: ExitStatus): void;
}

export class SshTransport implements HostTransport {
  readonly host: ClusterHost;
  readonly target: SshTarget;
  private readonly opts: TransportOptions;
  private readonly slots: Slots;
  private client?: SshClient;
  private connecting?: Promise<SshClient>;
  private closed = false;
  /** Rejecters of operations in flight, failed at once when the connection drops. */
  private readonly inFlight = new Set<(err: Error) => void>();
  /** The connection's agent process that runs its ops one after another (agent-session.ts). */
  private readonly session: AgentSession;
  /** The jump connections (ProxyJump) a connection runs over, in connection order. */
  private readonly jumpsOf = new WeakMap<SshClient, SshClient[]>();
  /** Connections whose close has been seen. */
  private readonly gone = new WeakSet<SshClient>();

  constructor(host: ClusterHost, opts: TransportOptions = {}) {
    this.host = host;
    this.opts = opts;
    this.target = resolveTarget(host, opts);
    this.slots = new Slots(opts.maxChannels ?? DEFAULTS.maxChannels);
    this.session = new AgentSession(agentHost(host), () => {
      countAgentStart(host.name);
      return this.start(shQuoteArgv(agentArgv(this.host, 'session', this.opts.trace)), 'agent session');
    }, sessionOptions(host));
  }

  private fail(message: string, cause?: unknown): OperationError {
    return new OperationError(`${this.host.name}: ${message}`, { host: this.host.name, cause });
  }

  /** The connection, opened on first use and reopened if it dropped. */
  connect(): Promise<SshClient> {
    if (this.closed) return Promise.reject(this.fail('transport is closed'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /**
   * Connects to the host: directly, or (ProxyJump) to the first jump host, then to each next hop
   * through a TCP forwarding (direct-tcpip) from the one before, its ssh2 client running over
   * that channel. Every hop's host key is verified as the host's is. Counted once, for the host.
   */
  private async open(): Promise<SshClient> {
    const t = this.target;
    const where = `${t.user}@${t.hostName}:${t.port}`;
    if (t.unsupported) throw this.fail(`cannot connect to ${where}: ${t.unsupported}`);
    const hops = [...t.jumps, t];
    const chain: SshClient[] = [];
    try {
      let sock: ClientChannel | undefined;
      for (const [i, hop] of hops.entries()) {
        const via = hops.slice(0, i).map((h) => h.name).join(', ');
        const last = i === hops.length - 1;
        // "host2: ..." or "host2 via bastion: ..."; a jump host: "host2: jump host b2 via b1: ...".
        const subject = last ? `${this.host.name}${via ? ` via ${via}` : ''}` : `${this.host.name}: jump host ${hop.name}${via ? ` via ${via}` : ''}`;
        const fail = (message: string, cause?: unknown) => new OperationError(`${subject}: ${message}`, { host: this.host.name, cause });
        if (i > 0) sock = await this.forward(chain[i - 1]!, hops[i - 1]!, hop, fail);
        chain.push(await this.handshake(hop, sock, fail, last ? chain.slice() : undefined, i === 0));
      }
    } catch (err) {
      for (const c of chain.reverse()) c.end();
      throw err;
    }
    const client = chain[chain.length - 1]!;
    this.jumpsOf.set(client, chain.slice(0, -1));
    return client;
  }

  /**
   * Asks a jump host to open a TCP connection to the next hop; the channel carries the next
   * hop's SSH connection. Bounded by connectTimeoutMs, as opening any channel is.
   */
  private forward(via: SshClient, viaHop: SshTarget, to: SshTarget, fail: (m: string, cause?: unknown) => OperationError): Promise<ClientChannel> {
    const limitMs = this.opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    const dest = `${to.hostName}:${to.port}`;
    return new Promise<ClientChannel>((resolve, reject) => {
      let waiting = true;
      const timer = limitMs > 0
        ? setTimeout(() => {
            waiting = false;
            reject(fail(`jump host ${viaHop.name} did not answer the request to connect to ${dest} within ${Math.round(limitMs / 1000)} s`));
          }, limitMs)
        : undefined;
      const answered = (err: Error | undefined, ch?: ClientChannel) => {
        if (!waiting) {
          ch?.close();
          return;
        }
        waiting = false;
        clearTimeout(timer);
        if (err || !ch) reject(fail(`jump host ${viaHop.name} could not connect to ${dest}: ${printable(err?.message ?? 'no channel')}`, err));
        else resolve(ch);
      };
      try {
        via.forwardOut('127.0.0.1', 0, to.hostName, to.port, (err, ch) => answered(err, ch));
      } catch (err) {
        answered(err as Error); // the jump host's connection has just gone
      }
    });
  }

  /**
   * One hop's SSH connection (over `sock` when it goes through a jump host): key exchange with the
   * host key verified against known_hosts, authentication, and a new key recorded once
   * authenticated. `jumps` is given for the host's own connection (the transport's; empty when
   * direct), undefined for a jump connection: the jump connections it runs over, ended when it
   * ends; it is ended when one of them drops. `first`: the first hop, where the host's
   * connection is counted.
   */
  private async handshake(
    t: SshTarget,
    sock: ClientChannel | undefined,
    fail: (m: string, cause?: unknown) => OperationError,
    jumps: SshClient[] | undefined,
    first: boolean,
  ): Promise<SshClient> {
    const where = `${t.user}@${t.hostName}:${t.port}`;
    const asHost = { ...this.host, name: t.name }; // for host-key messages about a jump host
    let entries: KnownHostFileEntry[];
    try {
      entries = loadKnownHosts(t);
    } catch (err) {
      throw fail((err as Error).message, err);
    }
    const cfg = this.connectConfig(t, entries, fail);
    if (sock) cfg.sock = sock;
    if (first) countConnection(this.host.name); // the host's connection, whatever the number of hops
    const client = new Client();
    client.once('close', () => this.gone.add(client));
    let decision: HostKeyDecision | undefined;
    cfg.hostVerifier = (key: Buffer) => {
      // ssh2 asks again at every re-key: only the key of the first exchange may follow.
      if (decision) return decision.accept && sameKey(decision.key, key);
      decision = verifyHostKey(t, entries, key, Boolean(this.opts.acceptNewHostKeys));
      return decision.accept;
    };
    // Listening from the start: ssh2 can emit an error in the same read as 'ready' (a server
    // sending garbage behind its authentication success), and an 'error' without a listener
    // would crash the process. `lost` ignores the client until it is the transport's.
    if (jumps) {
      const lost = (why: string) => {
        if (this.client !== client) return;
        this.client = undefined;
        const err = this.fail(`SSH connection to ${where} lost${why ? `: ${printable(why)}` : ''}`);
        for (const reject of [...this.inFlight]) reject(err);
      };
      client.on('error', (err) => lost(err.message));
      client.on('close', () => {
        lost('');
        for (const j of [...jumps].reverse()) j.end(); // the jump connections go with it
      });
      // A jump connection that drops takes the host's with it.
      for (const j of jumps) j.on('close', () => client.end());
    } else {
      client.on('error', () => {}); // a jump connection: its end is seen by the connection over it
    }
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error & { level?: string; code?: string }) => {
        client.removeListener('ready', onReady);
        client.removeListener('error', onError);
        client.removeListener('close', onClose);
        client.end();
        const why = printable(err.message);
        if (decision && !decision.accept) reject(fail(hostKeyRefusal(asHost, t, decision), err));
        else if (err.level === 'client-authentication') {
          const tried = [...(cfg.privateKey ? ['key ' + cfg.privateKeyFile] : []), ...(cfg.agent ? ['the SSH agent'] : [])];
          const skipped = cfg.skippedKeys.map((s) => `; skipped ${s}`).join('');
          reject(fail(`SSH authentication as ${where} failed (tried ${tried.join(' and ') || 'no key: none configured and no SSH agent'}${skipped})`, err));
        } else if (err.level === 'client-timeout') {
          reject(fail(`SSH connection to ${where} timed out after ${Math.round((cfg.readyTimeout ?? 0) / 1000)} s`, err));
        } else reject(fail(`cannot connect to ${where}: ${why}`, err));
      };
      // A server may end the connection without an SSH error (after the key exchange, say);
      // ssh2 then only emits 'close', and without this the connect would wait forever.
      const onClose = () => onError(Object.assign(new Error('the server closed the connection before authentication completed'), { level: 'closed' }));
      const onReady = () => {
        client.removeListener('error', onError);
        client.removeListener('close', onClose);
        // Authenticated: the server has proved it holds the key, so a new one may be recorded now.
        const refusal = decision && this.recordAcceptedKey(t, asHost, decision, fail);
        if (refusal) {
          client.end();
          reject(refusal);
        } else {
          if (jumps) this.client = client; // at once: an error in the same read is then a lost connection
          resolve();
        }
      };
      client.once('ready', onReady);
      client.once('error', onError);
      client.once('close', onClose);
      client.connect(cfg);
    });
    return client;
  }

  /** Records a new host key accepted for a hop; the error to fail with, if any. */
  private recordAcceptedKey(t: SshTarget, asHost: ClusterHost, d: HostKeyDecision, fail: (m: string, cause?: unknown) => OperationError): OperationError | undefined {
    if (!d.recordTo) return undefined;
    try {
      const now = recordHostKey(t, d);
      return now.accept ? undefined : fail(hostKeyRefusal(asHost, t, now));
    } catch (err) {
      return fail(`cannot record the host key in ${d.recordTo}: ${(err as Error).message}`, err);
    }
  }

  private connectConfig(t: SshTarget, entries: KnownHostFileEntry[], fail: (m: string) => OperationError): ConnectConfig & { privateKeyFile?: string; skippedKeys: string[] } {
    const cfg: ConnectConfig & { privateKeyFile?: string; skippedKeys: string[] } = {
      host: t.hostName,
      port: t.port,
      username: t.user,
      readyTimeout: this.opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      keepaliveInterval: this.opts.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: serverHostKeyOrder(t, entries) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
      skippedKeys: [],
    };
    const sock = this.opts.agentSocket === false ? undefined : (this.opts.agentSocket ?? process.env.SSH_AUTH_SOCK);
    if (sock) cfg.agent = sock;
    for (const id of t.identities) {
      if (!existsSync(id.file)) {
        if (id.explicit) throw fail(`identity file ${id.file} (from the cluster file) does not exist`);
        continue;
      }
      // As OpenSSH: a key others can read is refused (it may be known to them); an explicit
      // one fails the connection, one found by default or in ssh config is skipped.
      const problem = privateKeyProblem(id.file);
      if (problem) {
        if (id.explicit) throw fail(`identity file ${id.file} (from the cluster file) is not used: ${problem}`);
        cfg.skippedKeys.push(`${id.file}: ${problem}`);
        continue;
      }
      const text = readFileSync(id.file);
      const parsed = utils.parseKey(text);
      if (parsed instanceof Error) {
        if (id.explicit && !sock) {
          throw fail(
            `cannot use identity file ${id.file}: ${parsed.message}` +
              (/passphrase|encrypted/i.test(parsed.message) ? ' (load it into an SSH agent with ssh-add instead)' : ''),
          );
        }
        continue; // an encrypted key: the agent may hold it
      }
      cfg.privateKey = text;
      cfg.privateKeyFile = id.file;
      break;
    }
    return cfg;
  }

  /**
   * Opens a channel running `command` (on a pty when asked). A server that never answers the
   * request would otherwise hold the call (and a channel slot) forever, keepalives or not, so
   * the wait is bounded by connectTimeoutMs and the call's abort signal.
   */
  private openChannel(client: SshClient, command: string, what: string, pty?: InteractiveIo['pty'], signal?: AbortSignal): Promise<OpenChannel> {
    const limitMs = this.opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    return new Promise<OpenChannel>((resolve, reject) => {
      let waiting = true;
      const giveUp = (message: string) => {
        if (!waiting) return;
        waiting = false;
        cleanup();
        reject(this.fail(message));
      };
      const timer = limitMs > 0 ? setTimeout(() => giveUp(`${what}: no answer to opening an SSH channel after ${Math.round(limitMs / 1000)} s`), limitMs) : undefined;
      const onAbort = () => giveUp(`${what} was cancelled`);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const opened = (err: Error | undefined, ch?: ClientChannel) => {
        if (!waiting) {
          if (ch) ch.close(); // answered after we gave up: nobody will use it
          return;
        }
        waiting = false;
        cleanup();
        // Watched here, synchronously: the exit status and close can arrive in the same read as
        // the confirmation, before an awaiting caller would run, and would be missed.
        if (err || !ch) reject(this.fail(`cannot open an SSH channel: ${printable(err?.message ?? 'no channel')}`, err));
        else resolve({ channel: ch, ...this.watch(ch) });
      };
      try {
        client.exec(command, pty ? { pty: { rows: pty.rows, cols: pty.cols, term: pty.term } } : {}, (err, ch) => opened(err, ch));
      } catch (err) {
        opened(err as Error); // ssh2 throws when the connection has just gone ("Not connected")
      }
    });
  }

  /** Follows a channel to its close; the slot is given back then (or when the connection drops). */
  private watch(channel: ClientChannel): Omit<OpenChannel, 'channel'> {
    let status: ExitStatus = { exitCode: null };
    channel.on('exit', (code: number | null, signal?: string) => {
      status = signal ? { exitCode: null, signal } : { exitCode: code };
    });
    let settle: (s: ExitStatus) => void = () => {};
    let dropReject: (err: Error) => void = () => {};
    const exited = new Promise<ExitStatus>((resolve, reject) => {
      settle = resolve;
      dropReject = reject;
      this.inFlight.add(reject);
      channel.on('close', () => resolve(status));
    }).finally(() => {
      this.inFlight.delete(dropReject);
      this.slots.give();
    });
    exited.catch(() => {});
    return { exited, settle };
  }

  /** Starts `command` on a channel, once a slot is free. */
  private async start(command: string, what: string, o?: { pty?: InteractiveIo['pty']; signal?: AbortSignal }): Promise<Started & { channel: ClientChannel }> {
    const client = await this.connect();
    await this.slots.take();
    let open: OpenChannel;
    try {
      open = await this.openChannel(client, command, what, o?.pty, o?.signal);
    } catch (err) {
      this.slots.give();
      throw err;
    }
    const { channel, exited, settle } = open;
    return {
      channel,
      stdin: channel,
      stdout: channel,
      stderr: channel.stderr,
      exited,
      kill: () => {
        try {
          channel.signal('KILL');
        } catch {
          /* not supported: closing is enough */
        }
        channel.close();
        // ssh2 reports the close only when the server confirms it; a server that never does
        // must not keep the slot (after maxChannels such kills, every operation would queue forever).
        setTimeout(() => settle({ exitCode: null, signal: 'KILL' }), KILL_GRACE_MS).unref();
      },
    };
  }

  private timeout(o?: CallOptions): number {
    return o?.timeoutMs ?? this.opts.operationTimeoutMs ?? DEFAULTS.operationTimeoutMs;
  }

  async runAgent<T>(op: AgentOp, request: unknown, onProgress?: (e: ProgressEvent) => void, o?: CallOptions): Promise<T> {
    const call = { timeoutMs: this.timeout(o), signal: o?.signal, sessions: this.opts.agentSessions !== false };
    return this.session.runOp<T>(this.host, op, request, onProgress, call, () =>
      this.start(shQuoteArgv(agentArgv(this.host, op, this.opts.trace)), `agent ${op}`, { signal: o?.signal }),
    );
  }

  prepareAgent(): Promise<void> {
    return this.host.agentNode !== undefined ? this.session.prepare() : Promise.resolve();
  }

  async exec(argv: string[], o?: ExecOptions): Promise<ExecResult> {
    const p = await this.start(shQuoteArgv(argv), argv[0]!, { signal: o?.signal });
    return finish(p, argv[0]!, this.host.name, { input: o?.input, timeoutMs: this.timeout(o), signal: o?.signal });
  }

  async interactive(argv: string[], io: InteractiveIo): Promise<{ exitCode: number | null; signal?: string }> {
    const p = await this.start(shQuoteArgv(argv), argv[0]!, { pty: io.pty });
    io.stdin.pipe(p.channel);
    p.channel.pipe(io.stdout, { end: false });
    p.channel.stderr.pipe(io.stderr, { end: false });
    const stopResize = io.onResize?.((rows, cols) => p.channel.setWindow(rows, cols, 0, 0));
    try {
      return await p.exited;
    } finally {
      stopResize?.();
      io.stdin.unpipe(p.channel);
    }
  }

  async close(): Promise<void> {
    await this.session.close(); // its input ends: the agent exits on its own
    this.closed = true;
    const c = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    if (!c) return;
    // The host's connection, then the jump connections under it, last one first.
    for (const x of [c, ...(this.jumpsOf.get(c) ?? []).reverse()]) await this.ended(x);
  }

  /** Ends a connection and waits for its close (2 s at most). */
  private ended(c: SshClient): Promise<void> {
    if (this.gone.has(c)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      c.once('close', () => resolve());
      c.end();
      setTimeout(resolve, 2000).unref();
    });
  }
}
