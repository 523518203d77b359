// `ediv agent <op> [--state-dir D]`: the host agent the controller runs over SSH. Reads one
// JSON request on stdin, writes JSON lines on stdout (progress events, then one result line),
// exits 0 on success, 1 when the op failed, 2 on a bad request. See docs/host-agent.md.
import type { Command } from 'commander';
import { InputError, exitCodeOf, formatLocation } from '../common/errors.ts';
import { AGENT_OPS as OPS, isAgentOp, type ResultLine } from '../protocol/agent.ts';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function writeLine(line: unknown): void {
  process.stdout.write(JSON.stringify(line) + '\n');
}

function errorLine(err: unknown): ResultLine {
  if (err instanceof InputError) {
    return {
      type: 'result',
      ok: false,
      error: {
        message: err.message,
        code: 'invalid-input',
        details: err.problems.map((p) => ({ ...p.loc, where: formatLocation(p.loc), message: p.message })),
      },
    };
  }
  const e = err as Error & { details?: unknown; exitCode?: number };
  return {
    type: 'result',
    ok: false,
    error: {
      message: e?.message ?? String(err),
      code: exitCodeOf(err) === 1 && e?.exitCode === 1 ? 'operation-failed' : 'internal',
      ...(e?.details !== undefined ? { details: e.details } : {}),
    },
  };
}

export function register(program: Command): void {
  program
    .command('agent')
    .summary('host agent (run by the controller on each host)')
    .description(
      'Host agent, run by the controller on each cluster host (over SSH).\n' +
        `Ops: ${OPS.join(', ')}. Reads one JSON request on stdin; writes JSON lines on stdout:\n` +
        'progress events {"type":"progress",...}, then one {"type":"result","ok":...} line.\n' +
        'Exit codes: 0 ok, 1 operation failed, 2 bad request. See docs/host-agent.md.',
    )
    .argument('<op>', `operation: ${OPS.join(' | ')}`)
    .option('--state-dir <dir>', 'agent state directory (journal); default /var/lib/ediv/agent')
    .action(async (op: string, opts: { stateDir?: string }) => {
      let code = 0;
      try {
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
        const { runAgentOp } = await import('../host-agent/agent.ts');
        const result = await runAgentOp(op, request, { stateDir: opts.stateDir, emit: writeLine });
        writeLine({ type: 'result', ok: true, result } satisfies ResultLine);
      } catch (err) {
        writeLine(errorLine(err));
        code = exitCodeOf(err);
      }
      process.exitCode = code;
    });
}
