// The local transport: for a cluster host that is the controller machine itself. Runs the same
// agent command as SSH would, as a child process with an argument vector (no shell).
import { spawn } from 'node:child_process';
import { OperationError } from '../common/errors.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import type { AgentOp, ProgressEvent } from '../protocol/agent.ts';
import { agentArgv, agentHost, finish } from './agent-run.ts';
import { AgentSession, sessionOptions } from './agent-session.ts';
import type { Started } from './agent-run.ts';
import { DEFAULTS } from './types.ts';
import { countAgentStart } from './stats.ts';
import type { CallOptions, ExecOptions, ExecResult, HostTransport, InteractiveIo, TransportOptions } from './types.ts';

export function startLocal(hostName: string, argv: string[]): Started {
  if (argv.length === 0) throw new TypeError('empty command');
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<{ exitCode: number | null; signal?: string }>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code === 'ENOENT' ? 127 : null;
      if (code === 127) resolve({ exitCode: 127 });
      else reject(new OperationError(`${hostName}: cannot run ${argv[0]}: ${err.message}`, { host: hostName, cause: err }));
    });
    child.once('close', (code, signal) => resolve(signal ? { exitCode: null, signal } : { exitCode: code }));
  });
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

export class LocalTransport implements HostTransport {
  readonly host: ClusterHost;
  private readonly opts: TransportOptions;
  /** The agent process that runs this host's ops one after another (agent-session.ts). */
  private readonly session: AgentSession;

  constructor(host: ClusterHost, opts: TransportOptions = {}) {
    this.host = host;
    this.opts = opts;
    this.session = new AgentSession(agentHost(host), async () => {
      countAgentStart(host.name);
      return startLocal(host.name, agentArgv(host, 'session', opts.trace));
    }, sessionOptions(host));
  }

  private timeout(o?: CallOptions): number {
    return o?.timeoutMs ?? this.opts.operationTimeoutMs ?? DEFAULTS.operationTimeoutMs;
  }

  async runAgent<T>(op: AgentOp, request: unknown, onProgress?: (e: ProgressEvent) => void, o?: CallOptions): Promise<T> {
    const call = { timeoutMs: this.timeout(o), signal: o?.signal, sessions: this.opts.agentSessions !== false };
    return this.session.runOp<T>(this.host, op, request, onProgress, call, () => startLocal(this.host.name, agentArgv(this.host, op, this.opts.trace)));
  }

  prepareAgent(): Promise<void> {
    return this.host.agentNode !== undefined ? this.session.prepare() : Promise.resolve();
  }

  /** The program as a child with the user's terminal (no pty of its own: it is on the same machine). */
  interactive(argv: string[], io: InteractiveIo): Promise<{ exitCode: number | null; signal?: string }> {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    io.stdin.pipe(child.stdin);
    child.stdout.pipe(io.stdout, { end: false });
    child.stderr.pipe(io.stderr, { end: false });
    return new Promise((resolve, reject) => {
      child.once('error', (err) => reject(new OperationError(`${this.host.name}: cannot run ${argv[0]}: ${err.message}`, { host: this.host.name, cause: err })));
      child.once('close', (code, signal) => {
        io.stdin.unpipe(child.stdin);
        resolve(signal ? { exitCode: null, signal } : { exitCode: code });
      });
    });
  }

  exec(argv: string[], o?: ExecOptions): Promise<ExecResult> {
    const p = startLocal(this.host.name, argv);
    return finish(p, argv[0]!, this.host.name, { input: o?.input, timeoutMs: this.timeout(o), signal: o?.signal });
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
