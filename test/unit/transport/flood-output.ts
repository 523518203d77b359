// A child-process script for agent-output.test.ts: feeds `mb` MB of output (without a newline,
// or with one every `lineMB` MB) through a fake Started (PassThrough streams) into agentOutcome
// ("agent") or finish ("exec"), then prints one JSON line: how long the call took, the peak RSS, how much was fed before the
// command was killed, and the error. Run as a child so its peak memory is its own, and so a
// regression is stopped by --max-old-space-size instead of taking the test runner down.
import type { PassThrough } from 'node:stream';
import { agentOutcome, finish } from '../../../src/transport/agent-run.ts';
import type { ExecResult } from '../../../src/transport/types.ts';
import { fakeStarted } from './fake-started.ts';

const [mode = 'agent', mbArg = '300', stream = 'stdout', lineMBArg = '0'] = process.argv.slice(2);
const MB = 1024 * 1024;
const total = Number(mbArg) * MB;
const lineBytes = Number(lineMBArg) * MB;
const CHUNK_BYTES = 64 * 1024;

/** A fresh chunk each time, as a socket delivers them (a reused one would hide what is kept). */
function chunk(fed: number): Buffer {
  const b = Buffer.alloc(CHUNK_BYTES, 'x');
  if (lineBytes && (fed + CHUNK_BYTES) % lineBytes === 0) b[CHUNK_BYTES - 1] = 0x0a;
  return b;
}

const cmd = fakeStarted();
const { p } = cmd;

/** Writes until `total` bytes are fed or the command is killed, honouring backpressure. */
async function feed(out: PassThrough): Promise<number> {
  let fed = 0;
  while (fed < total && !cmd.killed) {
    if (!out.write(chunk(fed))) await new Promise((r) => out.once('drain', r));
    fed += CHUNK_BYTES;
  }
  if (!cmd.killed) cmd.exit({ exitCode: 0 });
  return fed;
}

const t0 = performance.now();
const call: Promise<unknown> =
  mode === 'agent'
    ? agentOutcome(p, 'h', 'facts', {}, undefined, { timeoutMs: 0 })
    : finish(p, 'cat', 'h', { timeoutMs: 0 });
const [fed, outcome] = await Promise.all([
  feed(stream === 'stderr' ? p.stderr : p.stdout),
  call.then(
    (r) => ({ ok: true, length: (r as ExecResult).stdout.length + (r as ExecResult).stderr.length }),
    (e: Error) => ({ ok: false, error: e.message.slice(0, 100), errorLength: e.message.length }),
  ),
]);
const ms = Math.round(performance.now() - t0);
const maxRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(JSON.stringify({ ms, maxRssMB, fedMB: Math.round(fed / MB), killed: cmd.killed, ...outcome }) + '\n');
