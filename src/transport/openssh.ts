// The OpenSSH transport (cluster file `ssh.client: openssh`): the system's `ssh` program instead
// of ediv's ssh2 client, for what only OpenSSH does: host certificates (known_hosts
// @cert-authority), every ssh_config setting (Match exec, ProxyCommand, ...), and its
// authentication methods (FIDO keys, GSSAPI). One master connection per host (ControlMaster,
// started by connect(): authentication errors surface there) carries every op as a session of
// its own `ssh` process. Every value is a separate argument of `ssh` (no shell), the remote
// command one string quoted word by word for the login shell (ssh-quote.ts), as with ssh2.
// Host keys are OpenSSH's to verify, strictly: StrictHostKeyChecking=yes (accept-new with
// --accept-new-host-keys), BatchMode (never a prompt).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperationError } from '../common/errors.ts';
import { printable } from '../common/printable.ts';
import type { AgentOp, ProgressEvent } from '../protocol/agent.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import { agentArgv, agentHost, finish, type Started } from './agent-run.ts';
import { AgentSession, sessionOptions } from './agent-session.ts';
import { startLocal } from './local.ts';
import { Slots } from './slots.ts';
import { shQuoteArgv } from './ssh-quote.ts';
import { defaultSshConfigPath } from './ssh-config.ts';
import { resolveTarget, type SshTarget } from './ssh-target.ts';
import { countAgentStart, countConnection } from './stats.ts';
import { DEFAULTS, type CallOptions, type ExecOptions, type ExecResult, type HostTransport, type InteractiveIo, type TransportOptions } from './types.ts';

export const SSH = 'ssh';
/** Seconds the master outlives its last session when close() never came (a killed controller). */
const PERSIST_S = 60;

/** Where the masters' sockets are: a directory of this user's alone (a socket path must stay short). */
function controlDir(): string {
  const dir = path.join(os.tmpdir(), `ediv-ssh-${process.getuid?.() ?? 'u'}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) {
    throw new OperationError(`${dir} is not a private directory of this user: remove it (ediv keeps OpenSSH's control sockets there)`);
  }
  return dir;
}

/** A path for an `ssh -o Key=value` or `-i` value: OpenSSH expands % tokens and splits on white space. */
function sshPath(p: string, what: string): string {
  if (/[\s"'\\]/.test(p)) throw new OperationError(`${what} ${JSON.stringify(p)}: OpenSSH cannot take a path with spaces, quotes or backslashes here`);
  return p.replaceAll('%', '%%');
}

/** OpenSSH's own failure (exit 255 and its words), not the remote command's. */
const SSH_OWN = /^(?:ssh: |Host key verification failed|Permission denied \(|kex_exchange_identification|Connection (?:closed|timed out|refused)|Received disconnect|Unable to negotiate|No .*host key is known|.*REMOTE HOST IDENTIFICATION HAS CHANGED|mux_client|Control socket)/m;

export class OpenSshTransport implements HostTransport {
  readonly host: ClusterHost;
  readonly target: SshTarget;
  private readonly opts: TransportOptions;
  private readonly slots: Slots;
  private readonly session: AgentSession;
  /** The master's socket (ControlPath): this transport's alone. */
  readonly controlPath: string;
  private connecting?: Promise<void>;
  private closed = false;

  constructor(host: ClusterHost, opts: TransportOptions = {}) {
    this.host = host;
    this.opts = opts;
    this.target = resolveTarget(host, opts);
    this.slots = new Slots(opts.maxChannels ?? DEFAULTS.maxChannels);
    const id = createHash('sha256').update(`${process.pid}\0${host.name}\0${host.address}\0${Math.random()}`).digest('hex').slice(0, 24);
    this.controlPath = path.join(controlDir(), id);
    this.session = new AgentSession(agentHost(host), async () => {
      countAgentStart(host.name);
      return this.start(shQuoteArgv(agentArgv(this.host, 'session', this.opts.trace)));
    }, sessionOptions(host));
  }

  /** `ssh` and its options up to the destination (inclusive); `extra` before the destination. */
  private sshArgv(extra: string[]): string[] {
    const o = this.opts;
    const h = this.host;
    const args = [
      SSH,
      '-o', 'BatchMode=yes',
      '-o', `StrictHostKeyChecking=${o.acceptNewHostKeys ? 'accept-new' : 'yes'}`,
      '-o', `ControlPath=${this.controlPath}`,
      '-o', `ConnectTimeout=${Math.ceil((o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs) / 1000)}`,
      '-o', `ServerAliveInterval=${Math.ceil((o.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs) / 1000)}`,
      '-o', 'ServerAliveCountMax=3',
      '-o', 'LogLevel=ERROR',
      '-e', 'none',
      // The user and port as ediv resolves them (the cluster file's, else ssh_config's, else root and 22).
      '-l', this.target.user,
      '-p', String(this.target.port),
    ];
    // The config file ediv reads for ssh2 (its HOME's, which OpenSSH would not take from $HOME), or none.
    const cfg = o.sshConfig === false ? undefined : (o.sshConfig ?? defaultSshConfigPath());
    args.push('-F', cfg && fs.existsSync(cfg) ? sshPath(cfg, 'ssh config') : '/dev/null');
    if (h.ssh.identity) args.push('-i', sshPath(h.ssh.identity, 'ssh.identity'), '-o', 'IdentitiesOnly=yes');
    if (h.ssh.knownHosts) args.push('-o', `UserKnownHostsFile=${sshPath(h.ssh.knownHosts, 'ssh.knownHosts')}`, '-o', 'GlobalKnownHostsFile=/dev/null');
    if (o.agentSocket === false) args.push('-o', 'IdentityAgent=none');
    else if (typeof o.agentSocket === 'string') args.push('-o', `IdentityAgent=${sshPath(o.agentSocket, 'the SSH agent socket')}`);
    return [...args, ...extra, '--', h.address];
  }

  /** Starts the master connection (once): `ssh -f -N` returns when it is authenticated and in the background. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new OperationError(`${this.host.name}: transport is closed`, { host: this.host.name }));
    this.connecting ??= this.startMaster().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  private async startMaster(): Promise<void> {
    const argv = this.sshArgv(['-o', 'ControlMaster=yes', '-o', `ControlPersist=${PERSIST_S}`, '-f', '-N']);
    // The master keeps whatever it inherited: its stderr goes to a file, read once ssh -f returned.
    const log = path.join(path.dirname(this.controlPath), `${path.basename(this.controlPath)}.log`);
    const fd = fs.openSync(log, 'w', 0o600);
    let code: number | null;
    try {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', fd] });
      code = await new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (c) => resolve(c));
      });
    } catch (err) {
      throw new OperationError(`${this.host.name}: cannot run ${SSH} (OpenSSH, ssh.client: openssh): ${(err as Error).message}`, { host: this.host.name, cause: err });
    } finally {
      fs.closeSync(fd);
    }
    const said = fs.readFileSync(log, 'utf8').trim();
    fs.rmSync(log, { force: true });
    if (code !== 0) {
      const t = this.target;
      throw new OperationError(`${this.host.name}: ssh (OpenSSH) could not connect to ${t.user}@${this.host.address}:${t.port}: ${printable(said.split('\n').slice(-3).join(' ')) || `exit ${code}`}`, {
        host: this.host.name,
        details: { exitCode: code, stderr: said },
      });
    }
    countConnection(this.host.name);
  }

  /** Runs `command` (one string for the remote shell) as a session over the master. */
  private async start(command: string, o: { pty?: boolean } = {}): Promise<Started> {
    await this.connect();
    await this.slots.take();
    let p: Started;
    try {
      p = startLocal(this.host.name, this.sshArgv(['-o', 'ControlMaster=no', o.pty ? '-tt' : '-T']).concat(command));
    } catch (err) {
      this.slots.give();
      throw err;
    }
    let head = '';
    p.stderr.on('data', (c: Buffer | string) => {
      if (head.length < 4096) head += String(c);
    });
    const exited = p.exited.then((r) => {
      if (r.exitCode === 255 && SSH_OWN.test(head)) {
        throw new OperationError(`${this.host.name}: ssh (OpenSSH): ${printable(head.trim().split('\n')[0] ?? '')}`, { host: this.host.name, details: { exitCode: 255, stderr: head } });
      }
      return r;
    });
    void exited.finally(() => this.slots.give()).catch(() => {});
    return { ...p, exited };
  }

  private timeout(o?: CallOptions): number {
    return o?.timeoutMs ?? this.opts.operationTimeoutMs ?? DEFAULTS.operationTimeoutMs;
  }

  async runAgent<T>(op: AgentOp, request: unknown, onProgress?: (e: ProgressEvent) => void, o?: CallOptions): Promise<T> {
    const call = { timeoutMs: this.timeout(o), signal: o?.signal, sessions: this.opts.agentSessions !== false };
    return this.session.runOp<T>(this.host, op, request, onProgress, call, () => this.start(shQuoteArgv(agentArgv(this.host, op, this.opts.trace))));
  }

  prepareAgent(): Promise<void> {
    return this.host.agentNode !== undefined ? this.session.prepare() : Promise.resolve();
  }

  async exec(argv: string[], o?: ExecOptions): Promise<ExecResult> {
    const p = await this.start(shQuoteArgv(argv));
    return finish(p, argv[0]!, this.host.name, { input: o?.input, timeoutMs: this.timeout(o), signal: o?.signal });
  }

  /** With a terminal, ssh gets it itself (it sets raw mode and follows window-size changes); else pipes. */
  async interactive(argv: string[], io: InteractiveIo): Promise<{ exitCode: number | null; signal?: string }> {
    await this.connect();
    const command = shQuoteArgv(argv);
    if (io.pty && io.stdin === process.stdin && io.stdout === process.stdout) {
      const full = this.sshArgv(['-o', 'ControlMaster=no', '-tt']).concat(command);
      const child = spawn(full[0]!, full.slice(1), { stdio: 'inherit' });
      return new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve(signal ? { exitCode: null, signal } : { exitCode: code }));
      });
    }
    const p = await this.start(command, { pty: Boolean(io.pty) });
    io.stdin.pipe(p.stdin);
    p.stdout.pipe(io.stdout, { end: false });
    p.stderr.pipe(io.stderr, { end: false });
    try {
      return await p.exited;
    } finally {
      io.stdin.unpipe(p.stdin);
    }
  }

  /** Ends the agent session, then the master (`ssh -O exit` on its exact socket). */
  async close(): Promise<void> {
    await this.session.close();
    this.closed = true;
    if (!(await this.connecting?.then(() => true, () => false))) return;
    const argv = this.sshArgv(['-O', 'exit']);
    await finish(startLocal(this.host.name, argv), SSH, this.host.name, { timeoutMs: 10_000 }).catch(() => undefined);
  }
}
