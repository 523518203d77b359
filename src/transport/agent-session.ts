// The controller's side of `ediv agent session` (src/cli/agent-session.ts): one agent process
// per host connection that runs the command's ops one after another, so that a deploy's facts
// and apply pay one Node start-up and module load per host, not two. The process starts with
// the first op and lives until the connection closes; an op that times out, is cancelled or
// breaks the protocol kills it, and the next op starts a fresh one. Nothing is sent before the
// agent's hello line: an agent without sessions (an older version, which refuses the op name
// at once; a wrapper that says nothing) is never sent a request it could act on, and the
// transport runs each op as its own `ediv agent <op>`, as before.
import { OperationError } from '../common/errors.ts';
import { SESSION_HELLO, type AgentOp, type ProgressEvent, type ResultLine } from '../protocol/agent.ts';
import {
  LineSplitter,
  OUTPUT_LIMITS,
  MAX_KEEP,
  StrayOutput,
  TailText,
  agentEnded,
  agentFailure,
  agentHost,
  agentOutcome,
  parseAgentLine,
  sudoRefusal,
  type AgentHost,
  type Started,
} from './agent-run.ts';
import { agentBundle, bundleMissing, bundleRequest, type AgentBundle } from './agent-push.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import { countAgentStart } from './stats.ts';

/** Ops a session runs (the others stream the user's terminal or packets). */
const SESSION_OPS: ReadonlySet<AgentOp> = new Set(['facts', 'apply', 'exec', 'destroy', 'status', 'vm', 'serve']);

/** How long close() waits for the agent to exit after its input ended. */
const CLOSE_WAIT_MS = 2000;
/** How long a new session may take to say hello before the host is taken to have no sessions. */
export const HELLO_TIMEOUT_MS = 15_000;

type Ended = { exitCode: number | null; signal?: string; stderr: string };

/** What the process is waiting for: its hello, or the result of the op in flight. */
interface Waiter {
  op: string;
  onProgress?: (e: ProgressEvent) => void;
  settle(outcome: Outcome | { error: OperationError }): void;
}

/** How an op sent to a session ended: its result line, or the process's end. */
type Outcome = { line: ResultLine } | { ended: Ended };

/** One running `ediv agent session`. */
class SessionProcess {
  ended?: Ended;
  /** True once it said hello; false: its first line was something else, or it ended first. */
  readonly hello: Promise<boolean>;
  private resolveHello: (ok: boolean) => void = () => {};
  private readonly stderr = new TailText(MAX_KEEP);
  private stray = new StrayOutput();
  private waiter?: Waiter;
  private firstLine = true;

  private readonly host: string;
  private readonly p: Started;
  /** The pushed agent's bundle, sent once when the boot asks for it (agent-push.ts). */
  private bundle?: AgentBundle;

  constructor(host: string, p: Started, bundle?: AgentBundle) {
    this.host = host;
    this.p = p;
    this.bundle = bundle;
    this.hello = new Promise((resolve) => (this.resolveHello = resolve));
    const lines = new LineSplitter(OUTPUT_LIMITS.lineBytes, (l) => this.onLine(l.trim()));
    p.stdout.on('data', (chunk: Buffer | string) => {
      if (this.ended) return;
      if (!lines.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) this.fail(`output line over ${OUTPUT_LIMITS.lineBytes >> 20} MB: the session was killed`);
    });
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (chunk: string) => this.stderr.push(chunk));
    p.stdin.on('error', () => {}); // it may exit without reading its input
    p.exited.then(
      (r) => this.end({ ...r, stderr: this.stderr.text() }),
      (err: unknown) => this.end({ exitCode: null, signal: undefined, stderr: `${this.stderr.text()}${(err as Error).message}` }),
    );
  }

  get alive(): boolean {
    return !this.ended;
  }

  /** Sends one op (after the hello) and waits for its result line (or the process's end, a timeout, an abort). */
  run(op: AgentOp, request: unknown, onProgress: ((e: ProgressEvent) => void) | undefined, o: { timeoutMs: number; signal?: AbortSignal }): Promise<Outcome> {
    this.stray = new StrayOutput();
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => this.fail(`agent ${op} was cancelled`);
      const done = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        this.waiter = undefined;
      };
      this.waiter = {
        op,
        onProgress,
        settle: (outcome) => {
          done();
          if ('error' in outcome) reject(outcome.error);
          else resolve(outcome);
        },
      };
      if (this.ended) return this.waiter.settle({ ended: this.ended });
      if (o.timeoutMs > 0) timer = setTimeout(() => this.fail(`agent ${op} timed out after ${Math.round(o.timeoutMs / 1000)} s`), o.timeoutMs);
      if (o.signal?.aborted) return onAbort();
      o.signal?.addEventListener('abort', onAbort, { once: true });
      this.p.stdin.write(JSON.stringify({ op, request: request ?? {} }) + '\n');
    });
  }

  /** The agent's stray output since the op began (for an error message). */
  strayText(): string {
    return String(this.stray);
  }

  /** Ends its input and waits (bounded) for it to exit; kills it if it does not. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.p.stdin.end();
    const exited = this.p.exited.then(() => true, () => true);
    if (!(await Promise.race([exited, new Promise<boolean>((r) => setTimeout(() => r(false), CLOSE_WAIT_MS).unref())]))) this.p.kill();
  }

  kill(): void {
    this.end({ exitCode: null, signal: 'KILL', stderr: this.stderr.text() });
    this.p.kill();
  }

  /** Kills the process and fails the op in flight with `message`. */
  private fail(message: string): void {
    // The op fails with the reason, not with the end its kill causes.
    this.waiter?.settle({ error: new OperationError(`${this.host}: ${message}`, { host: this.host }) });
    this.kill();
  }

  private end(r: Ended): void {
    if (this.ended) return;
    this.ended = r;
    this.resolveHello(false);
    this.waiter?.settle({ ended: r });
  }

  private onLine(line: string): void {
    if (!line) return;
    if (this.firstLine) {
      if (this.bundle && bundleRequest(line) === this.bundle.hash) {
        this.p.stdin.write(this.bundle.bytes); // the hello follows once the boot has it
        this.bundle = undefined;
        return;
      }
      this.firstLine = false;
      // Anything else first (an older agent refusing the op name): no session, the op goes alone.
      this.resolveHello(parseHello(line));
      return;
    }
    const msg = parseAgentLine(line);
    if (msg?.type === 'progress') this.waiter?.onProgress?.(msg);
    else if (msg?.type === 'result' && this.waiter) this.waiter.settle({ line: msg });
    else this.stray.push(line);
  }
}

function parseHello(line: string): boolean {
  try {
    const m = JSON.parse(line) as { type?: unknown; version?: unknown };
    return m?.type === SESSION_HELLO.type && m.version === SESSION_HELLO.version;
  } catch {
    return false;
  }
}

/**
 * A host connection's session: `start` starts `ediv agent session` there (over the connection's
 * channel, or as a local process). One op at a time goes through it; `run` answers undefined
 * when it cannot take this op (busy with another, a streaming op, a host without sessions), and
 * the caller runs the op on its own.
 */
export class AgentSession {
  private proc?: SessionProcess;
  private busy = false;
  private unsupported = false;

  private readonly host: AgentHost;
  private readonly start: () => Promise<Started>;
  private readonly helloTimeoutMs: number;
  private readonly bundle?: () => AgentBundle;

  /** `bundle`: the host runs the pushed agent, whose session may ask for it. */
  constructor(host: AgentHost | string, start: () => Promise<Started>, opts: { helloTimeoutMs?: number; bundle?: () => AgentBundle } = {}) {
    this.host = typeof host === 'string' ? { name: host } : host;
    this.start = start;
    this.helloTimeoutMs = opts.helloTimeoutMs ?? HELLO_TIMEOUT_MS;
    this.bundle = opts.bundle;
  }

  /**
   * Makes sure the host has the pushed agent's bundle: a session is running (its start installs
   * the bundle when missing), or one is started. For the ops that cannot receive it themselves.
   */
  async prepare(): Promise<void> {
    if (this.proc?.alive) return; // it said hello: its bundle is there
    const proc = await this.started('facts');
    if (!proc) throw new OperationError(`${this.host.name}: the agent said no session hello`, { host: this.host.name });
    if (!this.busy && !this.proc?.alive) this.proc = proc; // kept for the next op
    else await proc.close();
  }

  /**
   * Runs an op the transport starts on its own (not through the session). When the pushed
   * agent's bundle was not on the host (the op did nothing), it is installed and the op run again.
   */
  async alone<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (!this.bundle || !bundleMissing(err)) throw err;
      await this.prepare();
      return run();
    }
  }

  /**
   * What every transport's runAgent does: the op through the session when it can take it (and
   * `o.sessions`), else as a process of its own that `startAlone` starts (with alone()'s retry).
   */
  async runOp<T>(
    host: ClusterHost,
    op: AgentOp,
    request: unknown,
    onProgress: ((e: ProgressEvent) => void) | undefined,
    o: { timeoutMs: number; signal?: AbortSignal; sessions: boolean },
    startAlone: () => Started | Promise<Started>,
  ): Promise<T> {
    const call = { timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) };
    if (o.sessions) {
      const r = await this.run<T>(op, request, onProgress, call);
      if (r) return r.value;
    }
    return this.alone(async () => {
      countAgentStart(host.name);
      return agentOutcome<T>(await startAlone(), agentHost(host), op, request, onProgress, call);
    });
  }

  async run<T>(op: AgentOp, request: unknown, onProgress: ((e: ProgressEvent) => void) | undefined, o: { timeoutMs: number; signal?: AbortSignal }): Promise<{ value: T } | undefined> {
    if (this.busy || this.unsupported || !SESSION_OPS.has(op)) return undefined;
    this.busy = true;
    try {
      if (!this.proc?.alive) this.proc = await this.started(op);
      if (!this.proc) {
        this.unsupported = true; // no sessions with this host from now on
        return undefined;
      }
      const proc = this.proc;
      const r = await proc.run(op, request, onProgress, o);
      if ('ended' in r) throw agentEnded(this.host, op, r.ended, proc.strayText(), false);
      if (!r.line.ok) throw agentFailure(this.host.name, op, r.line);
      return { value: r.line.result as T };
    } finally {
      this.busy = false;
    }
  }

  async close(): Promise<void> {
    await this.proc?.close();
    this.proc = undefined;
  }

  /**
   * A new session process once it said hello; undefined (and it is killed) when it does not.
   * When sudo refused to start it (the host's `ssh.sudo`), that is the op's error: the op alone
   * would meet the same refusal, and the host is not one without sessions.
   */
  private async started(op: AgentOp): Promise<SessionProcess | undefined> {
    const proc = new SessionProcess(this.host.name, await this.start(), this.bundle?.());
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.helloTimeoutMs)));
    const hello = await Promise.race([proc.hello, silent]);
    clearTimeout(timer);
    if (hello) return proc;
    const ended = proc.ended;
    proc.kill(); // never sent anything: whatever it is, it has nothing to act on
    const refused = ended && sudoRefusal(this.host, op, ended);
    if (refused) throw refused;
    return undefined;
  }
}

/** The session options of a host's connection: the bundle to send when the host runs the pushed agent. */
export function sessionOptions(host: ClusterHost): { bundle?: () => AgentBundle } {
  return host.agentNode !== undefined ? { bundle: agentBundle } : {};
}
