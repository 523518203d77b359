// The one process runner: programs run with argument arrays, never through a shell.
// `run` reports the outcome; `mustRun` throws an OperationError carrying stderr on failure.
// node:child_process rather than execa: every agent process loads this module, and execa's
// module graph alone took ~65 ms of each agent's start-up.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { OperationError } from './errors.ts';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Text on the program's stdin (default: none). */
  input?: string;
  /**
   * Kill the program when this process dies (parent-death signal via util-linux setpriv): kernel
   * work the agent starts must not go on after the agent was killed, while a `destroy` is
   * already removing it.
   */
  dieWithParent?: boolean;
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p));

/** At most this many lines of a command's stdin are traced (a batch for 1 000 VMs has many more). */
const TRACE_MAX_INPUT_LINES = 400;
let tracer: ((text: string) => void) | undefined;

/** Every command run from now on is described to `fn` (the agent's --trace: the controller's -v). */
export function traceCommands(fn: ((text: string) => void) | undefined): void {
  tracer = fn;
}

/** A command line as a person would type it (words quoted where a shell would need it), with what its stdin gets. */
export function describeCommand(argv: readonly string[], input?: string): string {
  const line = argv.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`)).join(' ');
  if (!input) return line;
  const lines = input.replace(/\n$/, '').split('\n');
  const shown = lines.slice(0, TRACE_MAX_INPUT_LINES);
  const more = lines.length - shown.length;
  return [`${line} <<`, ...shown, ...(more > 0 ? [`… ${more} more line(s)`] : [])].join('\n');
}

/** Reports a command about to run to the tracer, if any (for programs started without run()). */
export function traceCommand(argv: readonly string[], input?: string): void {
  tracer?.(describeCommand(argv, input));
}

export async function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  traceCommand([cmd, ...args], opts.input);
  let argv: [string, string[]] = [cmd, [...args]];
  if (opts.dieWithParent && SETPRIV) argv = [SETPRIV, ['--pdeathsig', 'KILL', '--', cmd, ...args]];
  return spawnCollect(argv[0], argv[1], opts.input ?? '');
}

/** Runs a program to its end: its exit status (1 when it could not start or died of a signal), all of its output. */
function spawnCollect(cmd: string, args: string[], input: string): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {}); // it may exit without reading its input
    child.stdin.end(input);
    let failedToStart: Error | undefined;
    child.once('error', (e) => (failedToStart = e));
    child.once('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      const why = failedToStart ? `${cmd}: ${failedToStart.message}` : signal ? `${cmd} was killed by ${signal}` : '';
      const exitCode = failedToStart || signal || code === null ? 1 : code;
      resolve({ exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: stderr || why });
    });
  });
}

/** Runs a program; returns its stdout, or throws an OperationError with its stderr when it fails. */
export async function mustRun(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.exitCode !== 0) throw new OperationError(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}
