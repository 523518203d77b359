// The part of running a command that is the same over SSH and locally: feed stdin, collect
// output, enforce the time limit, and for the agent, read its JSON lines (DESIGN.md protocol).
// A host may be broken or hostile, so everything kept of its output is bounded and read in
// linear time (docs/transport.md, "Output bounds").
import type { Readable, Writable } from 'node:stream';
import { OperationError } from '../common/errors.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import type { AgentOp, ProgressEvent, ResultLine } from '../protocol/agent.ts';
import { printable } from '../common/printable.ts';
import { pushedAgentCommand } from './agent-push.ts';
import type { ExecResult } from './types.ts';

/** A started command, whatever carries it (an SSH channel or a child process). */
export interface Started {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Settles when the command has exited and its output is read. */
  exited: Promise<{ exitCode: number | null; signal?: string }>;
  /** Ends the command early (timeout, abort, output over a bound). */
  kill(): void;
}

/**
 * What goes before the agent command on a host whose login user runs it through sudo (cluster
 * file `ssh.sudo`): never a password prompt (`-n`: sudo fails at once instead of waiting on a
 * terminal nobody watches), and `--` so no word of the agent command is read as sudo's option.
 */
export const SUDO_PREFIX = ['sudo', '-n', '--'] as const;

/**
 * The host an agent runs on, as its errors name it: its name and, when its login user runs the
 * agent through sudo, who that is and the command (a sudo refusal shows the rule to add). A
 * bare name stands for a host without sudo.
 */
export interface AgentHost {
  name: string;
  /** The agent is the one the controller brings (ClusterHost.agentNode), not an installed ediv. */
  pushed?: boolean;
  /** `agentCommand`: what sudo runs (for a pushed agent, its Node.js). */
  sudo?: { user: string; agentCommand: readonly string[] };
}

export function agentHost(host: ClusterHost): AgentHost {
  const pushed = host.agentNode !== undefined;
  const base = { name: host.name, ...(pushed ? { pushed } : {}) };
  if (host.ssh?.sudo !== true) return base;
  return { ...base, sudo: { user: host.ssh.user, agentCommand: host.agentNode !== undefined ? [host.agentNode] : host.agentCommand } };
}

const asAgentHost = (host: AgentHost | string): AgentHost => (typeof host === 'string' ? { name: host } : host);

/**
 * The command line that runs an agent op (or a session of ops) on a host (`trace`: it reports
 * each command it runs): an argument vector, quoted for the remote shell by the transport.
 * Every agent a controller starts (one-shot ops, sessions, connect/capture streams) is built here.
 */
export function agentArgv(host: ClusterHost, op: AgentOp | 'session', trace = false): string[] {
  const sudo = host.ssh?.sudo === true;
  // A session may be sent the pushed agent's bundle; other ops' stdin is not free for it.
  const command = host.agentNode !== undefined ? pushedAgentCommand({ ...host, agentNode: host.agentNode }, op === 'session') : host.agentCommand;
  const argv = [...(sudo ? SUDO_PREFIX : []), ...command, 'agent', op];
  if (host.agentStateDir) argv.push('--state-dir', host.agentStateDir);
  if (trace) argv.push('--trace');
  return argv;
}

/** A word of a sudoers command line: sudoers' special characters (and spaces) escaped with a backslash. */
function sudoersWord(word: string): string {
  return word.replace(/[\\,:=\s]/g, (c) => `\\${c}`);
}

/**
 * The sudoers line that lets `user` run the agent as root without a password: the agent
 * command (its first word must be a full path for sudo to match it) followed by `agent` and
 * any arguments.
 */
export function sudoersLine(user: string, agentCommand: readonly string[], pushed = false): string {
  return `${sudoersWord(user)} ALL=(root) NOPASSWD: ${agentCommand.map(sudoersWord).join(' ')}${pushed ? '' : ' agent *'}`;
}

/** Why sudo refused, from its own words on stderr; undefined when it did not. */
function sudoReason(stderr: string): 'password' | 'not-allowed' | 'tty' | 'missing' | undefined {
  if (/^sudo: (?:a password is required|a terminal is required)/m.test(stderr)) return 'password';
  if (/ is not in the sudoers file| is not allowed to execute | may not run sudo on /m.test(stderr)) return 'not-allowed';
  if (/^sudo: sorry, you must have a tty/m.test(stderr)) return 'tty';
  if (/(?:^|: )sudo: (?:command )?not found$|^sudo: not found$/m.test(stderr)) return 'missing';
  return undefined;
}

/**
 * The error of an agent that sudo did not start (the host's `ssh.sudo` is set): a password is
 * required, the user may not run it, or sudo is missing. It names the host and the login user
 * and shows the sudoers line that would allow it. Undefined when the agent did not go through
 * sudo or sudo did not refuse (the agent's own failure is reported as such).
 */
export function sudoRefusal(host: AgentHost | string, op: string, r: { exitCode: number | null; stderr: string }): OperationError | undefined {
  const { name: hostName, sudo: login, pushed } = asAgentHost(host);
  if (!login || r.exitCode === 0) return undefined;
  const reason = sudoReason(r.stderr);
  if (!reason) return undefined;
  const user = printable(login.user);
  const said = printable(
    r.stderr
      .split('\n')
      .filter((l) => /^sudo: |sudoers| is not allowed to execute |^Sorry, user /.test(l) && !/unable to resolve host/.test(l))
      .slice(-2)
      .join(' ')
      .trim(),
  );
  const command = login.agentCommand.map(printable).join(' ');
  const line = printable(sudoersLine(login.user, login.agentCommand, pushed));
  const relative = login.agentCommand[0]!.startsWith('/') ? '' : ` (sudo matches commands by full path: write ${printable(login.agentCommand[0]!)}'s, as \`command -v\` shows it, in agentCommand and in the rule)`;
  const rule =
    `Give ${user} a rule that runs the agent as root without a password, for instance in /etc/sudoers.d/ediv ` +
    `(edit it with \`visudo -f /etc/sudoers.d/ediv\`):\n  ${line}${relative}`;
  const head = `${hostName}: agent ${op}: sudo did not run the agent for ${user} (ssh.sudo in the cluster file)`;
  const message =
    reason === 'password'
      ? `${head}: sudo wants a password (${user} has no NOPASSWD rule for the agent command, or no rule at all), and ediv never types one (it runs \`sudo -n -- ${command} ${pushed ? '--input-type=module -e <boot> …' : 'agent …'}\`). ${rule}${pushed ? ' (the agent ediv brings runs as root with any arguments to Node.js: this rule is as much as root for the user; with an installed ediv, set agentCommand and allow just that)' : ''}`
      : reason === 'not-allowed'
        ? `${head}: ${user} may not run ${command} as root there. ${rule}`
        : reason === 'tty'
          ? `${head}: sudo wants a terminal (\`Defaults requiretty\`). Add \`Defaults:${user} !requiretty\` next to the rule. ${rule}`
          : `${head}: sudo is not installed there. Install it (apt-get install sudo), or log in as root (remove ssh.sudo, set ssh.user: root).`;
  return new AgentFailedError(`${message}${said && reason !== 'missing' ? `\nsudo said: ${said}` : ''}`, {
    host: hostName,
    details: { exitCode: r.exitCode, stderr: r.stderr, sudo: reason, user: login.user },
  });
}

/**
 * The agent was reached (the host answered over SSH) and failed, or could not be started there
 * (sudo refused, no such program, a bad Node.js): a fault of the host's set-up, not of the network.
 */
export class AgentFailedError extends OperationError {
  constructor(message: string, opts: ConstructorParameters<typeof OperationError>[1] = {}) {
    super(message, opts);
    this.name = 'AgentFailedError';
  }
}

const MB = 1024 * 1024;

/**
 * How much of a command's stdout the controller holds. Past a bound the call fails and the
 * command is killed: a result cut short is not a result.
 */
export const OUTPUT_LIMITS = {
  /** One line of an agent's JSON-lines output (a result line can be large: facts, status). */
  lineBytes: 64 * MB,
  /** All the stdout of an exec call. */
  stdoutBytes: 64 * MB,
};

/** Characters of stderr (its tail) and of stray agent output (its head) kept for messages. */
export const MAX_KEEP = 64 * 1024;

/**
 * Splits a byte stream into lines, calling `onLine` with each (UTF-8 decoded, without the
 * newline). Only the newest chunk is searched, from the end of the last line found in it, and
 * the pieces of a line are joined once when its newline arrives, so every byte is scanned and
 * copied a bounded number of times however long the line is. (Appending to one string and
 * searching it from the start made a 300 MB line cost minutes and gigabytes.)
 */
export class LineSplitter {
  private readonly maxLine: number;
  private readonly onLine: (line: string) => void;
  private parts: Buffer[] = [];
  private held = 0;

  constructor(maxLine: number, onLine: (line: string) => void) {
    this.maxLine = maxLine;
    this.onLine = onLine;
  }

  /** Takes the next chunk; false when a line has grown over `maxLine` bytes (nothing more is taken). */
  push(chunk: Buffer): boolean {
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      if (!this.hold(chunk.subarray(from, nl))) return false;
      this.emit();
      from = nl + 1;
    }
    return this.hold(chunk.subarray(from));
  }

  /** At end of output: the last line, if it had no newline. */
  end(): void {
    if (this.held > 0) this.emit();
  }

  private hold(piece: Buffer): boolean {
    if (this.held + piece.length > this.maxLine) return false;
    if (piece.length) this.parts.push(piece);
    this.held += piece.length;
    return true;
  }

  private emit(): void {
    // Splitting bytes at 0x0a is safe for UTF-8: no multi-byte sequence contains that byte.
    const line = Buffer.concat(this.parts, this.held).toString('utf8');
    this.parts = [];
    this.held = 0;
    this.onLine(line);
  }
}

/** Collects a byte stream up to `max` bytes. */
export class ByteCollector {
  private readonly max: number;
  private readonly parts: Buffer[] = [];
  private held = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** False when the output has gone over `max` bytes (the chunk is not kept). */
  push(chunk: Buffer): boolean {
    if (this.held + chunk.length > this.max) return false;
    this.parts.push(chunk);
    this.held += chunk.length;
    return true;
  }

  text(): string {
    // Decoded once at the end, so a character split between chunks is decoded whole.
    return Buffer.concat(this.parts, this.held).toString('utf8');
  }
}

/**
 * Keeps the last `max` characters of a text stream. When some were dropped, text() starts
 * with a line saying how many, so a reader knows the start is missing.
 */
export class TailText {
  private readonly max: number;
  private kept = '';
  private dropped = 0;

  constructor(max: number) {
    this.max = max;
  }

  push(s: string): void {
    this.kept += s;
    // Cut only when twice the bound is reached, so each character is copied O(1) times.
    if (this.kept.length > 2 * this.max) this.cut();
  }

  text(): string {
    this.cut();
    return this.dropped ? `[ediv: ${this.dropped} earlier characters not kept]\n${this.kept}` : this.kept;
  }

  private cut(): void {
    const over = this.kept.length - this.max;
    if (over <= 0) return;
    this.kept = this.kept.slice(over);
    this.dropped += over;
  }
}

function megabytes(bytes: number): string {
  return `${Math.round(bytes / MB)} MB`;
}

/**
 * Waits for a started command with a time limit and abort signal; calls `onStdoutLine` per
 * line when given (then stdout is not collected). Output over OUTPUT_LIMITS, a timeout or an
 * abort kill the command and reject with an OperationError; so does an `onStdoutLine` that throws.
 */
export async function finish(
  p: Started,
  what: string,
  host: string,
  o: { input?: string; timeoutMs: number; signal?: AbortSignal; onStdoutLine?: (line: string) => void },
): Promise<ExecResult> {
  let done = false;
  let rejectCall: (err: OperationError) => void = () => {};
  const stopped = new Promise<never>((_, reject) => (rejectCall = reject));
  /** Kills the command and fails the call; the first reason wins, and none once it has settled. */
  const stop = (message: string, cause?: unknown) => {
    if (done) return;
    done = true;
    // Rejected before the kill: a command that exits at once on it must not win the race.
    rejectCall(new OperationError(`${host}: ${message}`, { host, cause }));
    p.kill();
  };

  const lines = o.onStdoutLine ? new LineSplitter(OUTPUT_LIMITS.lineBytes, o.onStdoutLine) : undefined;
  const stdout = new ByteCollector(OUTPUT_LIMITS.stdoutBytes);
  const stderr = new TailText(MAX_KEEP);
  p.stdout.on('data', (chunk: Buffer | string) => {
    if (done) return; // stopped: the rest is read (so the stream drains) and dropped
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    try {
      if (lines && !lines.push(bytes)) {
        stop(`${what}: output line over ${megabytes(OUTPUT_LIMITS.lineBytes)}: truncated; the command was killed`);
      } else if (!lines && !stdout.push(bytes)) {
        stop(`${what}: output over ${megabytes(OUTPUT_LIMITS.stdoutBytes)}: truncated; the command was killed`);
      }
    } catch (err) {
      // A throwing line handler would otherwise escape from the stream's event and crash the process.
      stop(`${what}: reading its output failed: ${(err as Error).message}`, err);
    }
  });
  p.stderr.setEncoding('utf8');
  p.stderr.on('data', (chunk: string) => stderr.push(chunk));
  p.stdin.on('error', () => {}); // the command may exit without reading its stdin
  p.stdin.end(o.input ?? '');

  const timer = o.timeoutMs > 0 ? setTimeout(() => stop(`${what} timed out after ${Math.round(o.timeoutMs / 1000)} s`), o.timeoutMs) : undefined;
  const onAbort = () => stop(`${what} was cancelled`);
  if (o.signal?.aborted) onAbort();
  else o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await Promise.race([p.exited, stopped]);
    lines?.end();
    return { stdout: stdout.text(), stderr: stderr.text(), ...r };
  } finally {
    done = true;
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** Whether a parsed line is a progress event of the protocol's shape (only those reach onProgress). */
function isProgressEvent(m: Record<string, unknown>): m is ProgressEvent & Record<string, unknown> {
  const optional = (v: unknown, type: string) => v === undefined || typeof v === type;
  return m.type === 'progress' && typeof m.step === 'string' && optional(m.message, 'string') && optional(m.done, 'number') && optional(m.total, 'number');
}

/** Parses one agent output line: a progress event, a result line, or stray output (undefined). */
export function parseAgentLine(line: string): ProgressEvent | ResultLine | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return undefined;
  const m = msg as Record<string, unknown>;
  if (isProgressEvent(m)) return m;
  if (m.type === 'result' && typeof m.ok === 'boolean') return m as unknown as ResultLine;
  return undefined;
}

/** The first MAX_KEEP characters of what an agent printed that is not the protocol's. */
export class StrayOutput {
  private text = '';

  push(line: string): void {
    if (this.text.length < MAX_KEEP) this.text += line.slice(0, MAX_KEEP - this.text.length) + '\n';
  }

  toString(): string {
    return this.text;
  }
}

/** The error of an agent's failed result line, naming the host and carrying the agent's error. */
export function agentFailure(hostName: string, op: string, result: ResultLine): OperationError {
  return new AgentFailedError(`${hostName}: agent ${op} failed: ${printable(String(result.error?.message ?? 'unknown error'))}`, {
    host: hostName,
    details: result.error,
  });
}

/** The error of an agent that ended without a (successful) result: how it ended, its last words. */
export function agentEnded(
  host: AgentHost | string,
  op: string,
  r: { exitCode: number | null; signal?: string; stderr: string },
  stray: string,
  hadResult: boolean,
): OperationError {
  if (!hadResult) {
    const refused = sudoRefusal(host, op, r);
    if (refused) return refused;
  }
  const { name: hostName, pushed } = asAgentHost(host);
  const tail = printable((r.stderr.trim() || stray.trim()).split('\n').slice(-8).join('\n'));
  const how = r.signal ? `was killed by signal ${printable(r.signal)}` : `exited with status ${r.exitCode}`;
  const hint =
    r.exitCode === 127 || (r.exitCode === 1 && /^sudo: .+: command not found$/m.test(r.stderr))
      ? pushed
        ? " (is Node.js installed there? the host's agentNode in the cluster file names the one to run)"
        : " (is ediv installed there? see the host's agentCommand in the cluster file)"
      : '';
  return new AgentFailedError(
    `${hostName}: agent ${op} ${how} without ${hadResult ? 'success' : 'a result'}${hint}${tail ? `:\n${tail}` : ''}`,
    { host: hostName, details: { exitCode: r.exitCode, signal: r.signal, stderr: r.stderr } },
  );
}

/** Runs an agent op over a started command: parses its JSON lines into progress and the result. */
export async function agentOutcome<T>(
  p: Started,
  host: AgentHost | string,
  op: AgentOp,
  request: unknown,
  onProgress: ((e: ProgressEvent) => void) | undefined,
  o: { timeoutMs: number; signal?: AbortSignal },
): Promise<T> {
  const hostName = asAgentHost(host).name;
  let result: ResultLine<T> | undefined;
  const stray = new StrayOutput();
  const r = await finish(p, `agent ${op}`, hostName, {
    ...o,
    input: JSON.stringify(request ?? {}) + '\n',
    onStdoutLine: (line) => {
      const l = line.trim();
      if (!l) return;
      const msg = parseAgentLine(l);
      if (msg?.type === 'progress') onProgress?.(msg);
      else if (msg?.type === 'result') result = msg as ResultLine<T>;
      else stray.push(l);
    },
  });
  if (result?.ok && r.exitCode === 0) return result.result as T;
  if (result && !result.ok) throw agentFailure(hostName, op, result);
  throw agentEnded(host, op, r, String(stray), result !== undefined);
}
