// `ediv agent session`: one agent process that runs a command's ops one after another, so a
// deploy's facts and apply (or a redeploy's facts, applies and destroys) share one Node start-up
// and one module load per host instead of paying them per op. The controller's side is
// src/transport/agent-session.ts; the protocol is in docs/host-agent.md ("Sessions"):
//   agent  → {"type":"session","version":1}             once, at start
//   caller → {"op":"facts","request":{...}}             one line per op, the next after the result
//   agent  → progress lines, then one result line       as for a single op
// End of input ends the session (exit 0). Ops run strictly one at a time, in order.
import { InputError, errorObject } from '../common/errors.ts';
import { LineSplitter } from '../transport/agent-run.ts';
import { SESSION_HELLO, isAgentOp, type ResultLine } from '../protocol/agent.ts';
import type { AgentOp } from '../protocol/agent.ts';

/** Longest request line taken: the biggest apply (64 MiB of lab files in base64, the fragment) fits. */
const MAX_REQUEST_BYTES = 256 * 1024 * 1024;
/** Ops that stream the user's terminal or packets: never in a session. */
const NOT_IN_SESSION = new Set(['connect', 'capture']);

type RunOp = (op: AgentOp, request: unknown, emit: (line: unknown) => void) => Promise<unknown>;

/** Reads request lines from `input` and answers each on `write`, until the input ends. */
export async function runSession(input: NodeJS.ReadableStream, write: (line: unknown) => void, runOp: RunOp, preload?: () => Promise<unknown>): Promise<void> {
  write(SESSION_HELLO);
  // The op modules load while the controller is still planning: the first op starts warm.
  preload?.().catch(() => {});
  for await (const line of requestLines(input)) {
    if (!line.trim()) continue;
    write(await answer(line, write, runOp));
  }
}

async function answer(line: string, write: (line: unknown) => void, runOp: RunOp): Promise<ResultLine> {
  try {
    const { op, request } = parseRequestLine(line);
    return { type: 'result', ok: true, result: await runOp(op, request, write) };
  } catch (err) {
    return { type: 'result', ok: false, error: errorObject(err) };
  }
}

function parseRequestLine(line: string): { op: AgentOp; request: unknown } {
  const bad = (message: string): never => {
    throw new InputError({ loc: { file: 'session input' }, message });
  };
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch (err) {
    return bad(`a request line is not valid JSON: ${(err as Error).message}`);
  }
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return bad('a request line must be {"op": ..., "request": {...}}');
  const { op, request, ...rest } = msg as Record<string, unknown>;
  if (Object.keys(rest).length) bad(`unknown field ${JSON.stringify(Object.keys(rest)[0])} in a request line`);
  if (typeof op !== 'string' || !isAgentOp(op)) return bad(`unknown agent op ${JSON.stringify(op)}`);
  if (NOT_IN_SESSION.has(op)) bad(`${op} streams: run it as \`ediv agent ${op} <request>\`, not in a session`);
  return { op, request: request ?? {} };
}

/** The input's lines, each at most MAX_REQUEST_BYTES (a longer one ends the session with an error). */
async function* requestLines(input: NodeJS.ReadableStream): AsyncGenerator<string> {
  const ready: string[] = [];
  const splitter = new LineSplitter(MAX_REQUEST_BYTES, (l) => ready.push(l));
  for await (const chunk of input) {
    if (!splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))) {
      throw new InputError({ loc: { file: 'session input' }, message: `a request line is over ${MAX_REQUEST_BYTES >> 20} MiB` });
    }
    while (ready.length) yield ready.shift()!;
  }
  splitter.end();
  while (ready.length) yield ready.shift()!;
}
