// `ediv agent <op> [--state-dir D]`: the host agent the controller runs over SSH. Reads one
// JSON request on stdin, writes JSON lines on stdout (progress events, then one result line),
// exits 0 on success, 1 when the op failed, 2 on a bad request. See docs/host-agent.md.
// The composition root of the host side: `serve` goes to discovery's serve() with the daemon
// entry below (which gives the daemon the host agent's VM inventory); every other op to the
// host agent's runAgentOp; an apply's or destroy's `discovery` follow-up (discovery-follow-up.ts)
// runs after its op, in this process. Each is loaded only when its op runs.
import path from 'node:path';
import type { Command } from 'commander';
import { InputError, errorObject, exitCodeOf } from '../common/errors.ts';
import { AGENT_OPS as OPS, RUN_STEP, isAgentOp, type AgentOp, type ResultLine, type StatusResult } from '../protocol/agent.ts';

/** Entry module of the discovery daemon process that `agent serve` starts. */
export const DISCOVERY_DAEMON_MAIN = path.join(import.meta.dirname, `discovery-daemon-main${path.extname(import.meta.filename)}`); // .js in the bundle

/** Runs one agent op in this process. */
export async function runOp(op: AgentOp, request: unknown, stateDir: string | undefined, emit: (line: unknown) => void): Promise<unknown> {
  if (op === 'serve') {
    const [{ serve }, { DEFAULT_STATE_DIR }] = await Promise.all([import('../discovery/serve.ts'), import('../host-agent/store.ts')]);
    return serve(request, { stateDir: path.resolve(stateDir ?? DEFAULT_STATE_DIR), emit, daemonMain: DISCOVERY_DAEMON_MAIN });
  }
  // An apply's or destroy's discovery follow-up: checked before the op, begun with it (a daemon
  // to start starts meanwhile), finished after it succeeded.
  const [{ takeFollowUp, beginFollowUp, runFollowUp }, { runAgentOp }, { DEFAULT_STATE_DIR }, { validateRequest }] = await Promise.all([
    import('./discovery-follow-up.ts'),
    import('../host-agent/agent.ts'),
    import('../host-agent/store.ts'),
    import('../host-agent/validate.ts'),
  ]);
  const taken = await takeFollowUp(op, request);
  if (!taken.followUp) return runAgentOp(op, taken.request, { stateDir, emit });
  validateRequest(op, taken.request); // a bad request touches nothing, not even the daemon
  const host = (taken.request as { host: string }).host;
  const ctx = { stateDir: path.resolve(stateDir ?? DEFAULT_STATE_DIR), daemonMain: DISCOVERY_DAEMON_MAIN, emit };
  const status = () => runAgentOp('status', { host }, { stateDir, emit }) as Promise<StatusResult>;
  await beginFollowUp(taken.followUp, host, ctx);
  let result: unknown;
  try {
    result = await runAgentOp(op, taken.request, { stateDir, emit });
  } catch (err) {
    // A daemon started early for a failed apply serves what the host runs, or stops if nothing.
    if ('start' in taken.followUp) await runFollowUp({ sync: true }, host, { ...ctx, status });
    throw err;
  }
  const discovery = await runFollowUp(taken.followUp, host, { ...ctx, status });
  return { ...(result as object), discovery };
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `connect` and `capture`: ops whose stdin/stdout are the user's (a terminal, a pcap stream),
 * not the JSON protocol's; the request is the argument; the exit status is the VM program's
 * or tcpdump's; errors go to stderr (exit 255, or 2 for a bad request).
 */
async function streamOp(op: 'connect' | 'capture', requestArg: string | undefined, stateDir: string | undefined): Promise<void> {
  try {
    const { DEFAULT_STATE_DIR } = await import('../host-agent/store.ts');
    const dir = path.resolve(stateDir ?? DEFAULT_STATE_DIR);
    if (op === 'connect') {
      const { connect, decodeConnectRequest } = await import('../host-agent/connect.ts');
      process.exitCode = await connect(decodeConnectRequest(requestArg), dir);
    } else {
      const { capture, decodeCaptureRequest } = await import('../host-agent/capture.ts');
      process.exitCode = await capture(decodeCaptureRequest(requestArg), dir);
    }
  } catch (err) {
    process.stderr.write(`ediv agent ${op}: ${(err as Error).message}\n`);
    process.exitCode = exitCodeOf(err) === 2 ? 2 : 255;
  }
}

function writeLine(line: unknown): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

function errorLine(err: unknown): ResultLine {
  return { type: 'result', ok: false, error: errorObject(err) };
}

export function register(program: Command): void {
  program
    .command('agent')
    .summary('host agent (run by the controller on each host)')
    .description(
      'Host agent, run by the controller on each cluster host (over SSH).\n' +
        `Ops: ${OPS.join(', ')}. Reads one JSON request on stdin; writes JSON lines on stdout:\n` +
        'progress events {"type":"progress",...}, then one {"type":"result","ok":...} line.\n' +
        '`agent session` runs request lines {"op":...,"request":{...}} one after another.\n' +
        'Exit codes: 0 ok, 1 operation failed, 2 bad request. See docs/host-agent.md.',
    )
    .argument('<op>', `operation: ${OPS.join(' | ')} | session`)
    .argument('[request]', 'connect and capture only: the request, base64 of its JSON (their stdin/stdout are not the protocol\'s)')
    .option('--state-dir <dir>', 'agent state directory (journal); default /var/lib/ediv/agent')
    .option('--trace', 'report every command run as a progress event {"step":"run"} (the controller\'s -v)')
    .action(async (op: string, requestArg: string | undefined, opts: { stateDir?: string; trace?: boolean }) => {
      if (op === 'connect' || op === 'capture') return streamOp(op, requestArg, opts.stateDir);
      let code = 0;
      if (opts.trace) {
        const { traceCommands } = await import('../common/run.ts');
        traceCommands((message) => writeLine({ type: 'progress', step: RUN_STEP, message }));
      }
      try {
        if (op === 'session') {
          const { runSession } = await import('./agent-session.ts');
          const preload = () => import('../host-agent/agent.ts');
          return await runSession(process.stdin, writeLine, (o, request, emit) => runOp(o, request, opts.stateDir, emit), preload);
        }
        if (!isAgentOp(op)) {
          throw new InputError({ loc: { file: 'command line' }, message: `unknown agent op ${JSON.stringify(op)} (known: ${OPS.join(', ')})` });
        }
        const text = await readStdin();
        let request: unknown = {};
        if (text.trim()) {
          try {
            request = JSON.parse(text);
          } catch (err) {
            throw new InputError({ loc: { file: 'stdin' }, message: `the request is not valid JSON: ${(err as Error).message}` });
          }
        }
        const result = await runOp(op, request, opts.stateDir, writeLine);
        writeLine({ type: 'result', ok: true, result } satisfies ResultLine);
      } catch (err) {
        writeLine(errorLine(err));
        code = exitCodeOf(err);
      }
      process.exitCode = code;
    });
}
