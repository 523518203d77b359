// The SSH transport: ONE ssh2 connection per cluster host, reused by every operation of a
// command (each operation is a channel multiplexed over it, at most `maxChannels` at once).
// Host keys are verified against known_hosts; unknown keys are refused unless
// acceptNewHostKeys (then recorded), changed keys always.
import { existsSync, readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import { OperationError } from '../common/errors.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import type { AgentOp, ProgressEvent } from '../protocol/agent.ts';
import { agentArgv, agentOutcome, finish } from './agent-run.ts';
import type { Started } from './agent-run.ts';
import { hostKeyRefusal, serverHostKeyOrder, verifyHostKey } from './host-key-check.ts';
import type { HostKeyDecision } from './host-key-check.ts';
import { shQuoteArgv } from './ssh-quote.ts';
import { resolveTarget } from './ssh-target.ts';
import type { SshTarget } from './ssh-target.ts';
import { countConnection } from './stats.ts';
import { DEFAULTS } from './types.ts';
import type { CallOptions, ExecOptions, ExecResult, HostTransport, InteractiveIo, TransportOptions } from './types.ts';

const { Client, utils } = ssh2;
type SshClient = InstanceType<typeof Client>;

/** A counting semaphore: bounds the channels open at once on one connection. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = Math.max(1, n);
  }
  async take(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
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

  constructor(host: ClusterHost, opts: TransportOptions = {}) {
    this.host = host;
    this.opts = opts;
    this.target = resolveTarget(host, opts);
    this.slots = new Slots(opts.maxChannels ?? DEFAULTS.maxChannels);
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

  private async open(): Promise<SshClient> {
    const t = this.target;
    const where = `${t.user}@${t.hostName}:${t.port}`;
    const cfg = this.connectConfig();
    const client = new Client();
    let decision: HostKeyDecision | undefined;
    cfg.hostVerifier = (key: Buffer) => {
      decision = verifyHostKey(t, key, Boolean(this.opts.acceptNewHostKeys));
      return decision.accept;
    };
    countConnection(this.host.name);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error & { level?: string; code?: string }) => {
        client.removeListener('ready', onReady);
        client.end();
        if (decision && !decision.accept) reject(this.fail(hostKeyRefusal(this.host, t, decision), err));
        else if (err.level === 'client-authentication') {
          const tried = [...cfg.privateKey ? ['key ' + cfg.privateKeyFile] : [], ...(cfg.agent ? ['the SSH agent'] : [])];
          reject(this.fail(`SSH authentication as ${where} failed (tried ${tried.join(' and ') || 'no key: none configured and no SSH agent'})`, err));
        } else if (err.level === 'client-timeout') {
          reject(this.fail(`SSH connection to ${where} timed out after ${Math.round((cfg.readyTimeout ?? 0) / 1000)} s`, err));
        } else reject(this.fail(`cannot connect to ${where}: ${err.message}`, err));
      };
      const onReady = () => {
        client.removeListener('error', onError);
        resolve();
      };
      client.once('ready', onReady);
      client.once('error', onError);
      client.connect(cfg);
    });
    const lost = (why: string) => {
      if (this.client !== client) return;
      this.client = undefined;
      const err = this.fail(`SSH connection to ${where} lost${why ? `: ${why}` : ''}`);
      for (const reject of [...this.inFlight]) reject(err);
    };
    client.on('error', (err) => lost(err.message));
    client.on('close', () => lost(''));
    this.client = client;
    return client;
  }

  private connectConfig(): ConnectConfig & { privateKeyFile?: string } {
    const t = this.target;
    const cfg: ConnectConfig & { privateKeyFile?: string } = {
      host: t.hostName,
      port: t.port,
      username: t.user,
      readyTimeout: this.opts.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      keepaliveInterval: this.opts.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: serverHostKeyOrder(t) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
    };
    const sock = this.opts.agentSocket === false ? undefined : (this.opts.agentSocket ?? process.env.SSH_AUTH_SOCK);
    if (sock) cfg.agent = sock;
    for (const id of t.identities) {
      if (!existsSync(id.file)) {
        if (id.explicit) throw this.fail(`identity file ${id.file} (from the cluster file) does not exist`);
        continue;
      }
      const text = readFileSync(id.file);
      const parsed = utils.parseKey(text);
      if (parsed instanceof Error) {
        if (id.explicit && !sock) {
          throw this.fail(
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

  /** Opens a channel running `command` (on a pty when asked); the slot is given back when the channel closes. */
  private async start(command: string, pty?: InteractiveIo['pty']): Promise<Started & { channel: ClientChannel }> {
    const client = await this.connect();
    await this.slots.take();
    let channel: ClientChannel;
    try {
      channel = await new Promise<ClientChannel>((resolve, reject) =>
        client.exec(command, pty ? { pty: { rows: pty.rows, cols: pty.cols, term: pty.term } } : {}, (err, ch) =>
          err ? reject(this.fail(`cannot open an SSH channel: ${err.message}`, err)) : resolve(ch),
        ),
      );
    } catch (err) {
      this.slots.give();
      throw err;
    }
    let status: { exitCode: number | null; signal?: string } = { exitCode: null };
    channel.on('exit', (code: number | null, signal?: string) => {
      status = signal ? { exitCode: null, signal } : { exitCode: code };
    });
    let dropReject: ((err: Error) => void) | undefined;
    const exited = new Promise<{ exitCode: number | null; signal?: string }>((resolve, reject) => {
      dropReject = reject;
      this.inFlight.add(reject);
      channel.on('close', () => resolve(status));
    }).finally(() => {
      this.inFlight.delete(dropReject!);
      this.slots.give();
    });
    exited.catch(() => {});
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
      },
    };
  }

  private timeout(o?: CallOptions): number {
    return o?.timeoutMs ?? this.opts.operationTimeoutMs ?? DEFAULTS.operationTimeoutMs;
  }

  async runAgent<T>(op: AgentOp, request: unknown, onProgress?: (e: ProgressEvent) => void, o?: CallOptions): Promise<T> {
    const p = await this.start(shQuoteArgv(agentArgv(this.host, op, this.opts.trace)));
    return agentOutcome<T>(p, this.host.name, op, request, onProgress, { timeoutMs: this.timeout(o), signal: o?.signal });
  }

  async exec(argv: string[], o?: ExecOptions): Promise<ExecResult> {
    const p = await this.start(shQuoteArgv(argv));
    return finish(p, argv[0]!, this.host.name, { input: o?.input, timeoutMs: this.timeout(o), signal: o?.signal });
  }

  async interactive(argv: string[], io: InteractiveIo): Promise<{ exitCode: number | null; signal?: string }> {
    const p = await this.start(shQuoteArgv(argv), io.pty);
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
    this.closed = true;
    const c = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    if (!c) return;
    await new Promise<void>((resolve) => {
      c.once('close', () => resolve());
      c.end();
      setTimeout(resolve, 2000).unref();
    });
  }
}
