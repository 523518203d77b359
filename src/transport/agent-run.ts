// The part of running a command that is the same over SSH and locally: feed stdin, collect
// output, enforce the time limit, and for the agent, read its JSON lines (DESIGN.md protocol).
import type { Readable, Writable } from 'node:stream';
import { OperationError } from '../common/errors.ts';
import type { ClusterHost } from '../protocol/cluster.ts';
import type { AgentLine, AgentOp, ProgressEvent, ResultLine } from '../protocol/agent.ts';
import type { ExecResult } from './types.ts';

/** A started command, whatever carries it (an SSH channel or a child process). */
export interface Started {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Settles when the command has exited and its output is read. */
  exited: Promise<{ exitCode: number | null; signal?: string }>;
  /** Ends the command early (timeout, abort). */
  kill(): void;
}

/** The command line that runs an agent op on a host (`trace`: it reports each command it runs). */
export function agentArgv(host: ClusterHost, op: AgentOp, trace = false): string[] {
  const argv = [...host.agentCommand, 'agent', op];
  if (host.agentStateDir) argv.push('--state-dir', host.agentStateDir);
  if (trace) argv.push('--trace');
  return argv;
}

const MAX_KEEP = 64 * 1024; // stderr / stray output kept for error messages

/**
 * Waits for a started command with a time limit and abort signal; calls `onStdoutLine` per
 * line when given (then stdout is not collected).
 */
export async function finish(
  p: Started,
  what: string,
  host: string,
  o: { input?: string; timeoutMs: number; signal?: AbortSignal; onStdoutLine?: (line: string) => void },
): Promise<ExecResult> {
  let stdout = '';
  let stderr = '';
  let pending = '';
  p.stdout.setEncoding('utf8');
  p.stderr.setEncoding('utf8');
  p.stdout.on('data', (chunk: string) => {
    if (!o.onStdoutLine) {
      stdout += chunk;
      return;
    }
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      o.onStdoutLine(line);
    }
  });
  p.stderr.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > 4 * MAX_KEEP) stderr = stderr.slice(-MAX_KEEP);
  });
  p.stdin.on('error', () => {}); // the command may exit without reading its stdin
  p.stdin.end(o.input ?? '');

  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const limits = new Promise<never>((_, reject) => {
    if (o.timeoutMs > 0) {
      timer = setTimeout(() => {
        p.kill();
        reject(new OperationError(`${host}: ${what} timed out after ${Math.round(o.timeoutMs / 1000)} s`, { host }));
      }, o.timeoutMs);
    }
    if (o.signal) {
      onAbort = () => {
        p.kill();
        reject(new OperationError(`${host}: ${what} was cancelled`, { host }));
      };
      if (o.signal.aborted) onAbort();
      else o.signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    const r = await Promise.race([p.exited, limits]);
    if (o.onStdoutLine && pending) o.onStdoutLine(pending);
    return { stdout, stderr, ...r };
  } finally {
    clearTimeout(timer);
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
  }
}

/** Runs an agent op over a started command: parses its JSON lines into progress and the result. */
export async function agentOutcome<T>(
  p: Started,
  hostName: string,
  op: AgentOp,
  request: unknown,
  onProgress: ((e: ProgressEvent) => void) | undefined,
  o: { timeoutMs: number; signal?: AbortSignal },
): Promise<T> {
  let result: ResultLine<T> | undefined;
  let stray = '';
  const r = await finish(p, `agent ${op}`, hostName, {
    ...o,
    input: JSON.stringify(request ?? {}) + '\n',
    onStdoutLine: (line) => {
      const l = line.trim();
      if (!l) return;
      let msg: AgentLine | undefined;
      try {
        msg = JSON.parse(l) as AgentLine;
      } catch {
        if (stray.length < MAX_KEEP) stray += l + '\n';
        return;
      }
      if (msg?.type === 'progress') onProgress?.(msg);
      else if (msg?.type === 'result') result = msg as ResultLine<T>;
      else if (stray.length < MAX_KEEP) stray += l + '\n';
    },
  });
  if (result?.ok && r.exitCode === 0) return result.result as T;
  if (result && !result.ok) {
    throw new OperationError(`${hostName}: agent ${op} failed: ${result.error?.message ?? 'unknown error'}`, {
      host: hostName,
      details: result.error,
    });
  }
  const tail = (r.stderr.trim() || stray.trim()).split('\n').slice(-8).join('\n');
  const how = r.signal ? `was killed by signal ${r.signal}` : `exited with status ${r.exitCode}`;
  const hint = r.exitCode === 127 ? ' (is ediv installed there? see the host\'s agentCommand in the cluster file)' : '';
  throw new OperationError(
    `${hostName}: agent ${op} ${how} without ${result ? 'success' : 'a result'}${hint}${tail ? `:\n${tail}` : ''}`,
    { host: hostName, details: { exitCode: r.exitCode, signal: r.signal, stderr: r.stderr.slice(-MAX_KEEP) } },
  );
}
