// Runs one agent op in this process (started by bench/host-apply.ts inside the host namespace)
// and prints {"ms": <time of the op>, "ok": ...}: the op's time without Node's start-up.
import { runAgentOp } from '../src/host-agent/agent.ts';
import type { AgentOp } from '../src/protocol/agent.ts';

const [op, stateDir] = process.argv.slice(2);
const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const t0 = performance.now();
try {
  await runAgentOp(op as AgentOp, request, { stateDir, emit: () => {} });
  process.stdout.write(JSON.stringify({ ok: true, ms: performance.now() - t0 }) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, ms: performance.now() - t0, error: (err as Error).message }) + '\n');
  process.exitCode = 1;
}
