// The request of an agent op whose stdin and stdout are not the JSON protocol's — `connect`
// (stdin is the user's terminal) and `capture` (stdout is the pcap stream) — comes as one
// argument: base64 of its JSON, validated like every request. Their warnings go to stderr.
import { InputError } from '../common/errors.ts';
import type { AgentOp } from '../protocol/agent.ts';
import { validateRequest } from './validate.ts';

/** Max. length of the argument (the request's fields are bounded by the validator too). */
const MAX_REQUEST_CHARS = 256 * 1024;

export function decodeArgRequest<T>(op: AgentOp, arg: string | undefined): T {
  const where = { file: 'command line' };
  if (!arg) throw new InputError({ loc: where, message: `agent ${op} needs the request as its argument (base64 of the JSON)` });
  if (arg.length > MAX_REQUEST_CHARS || !/^[A-Za-z0-9+/]+={0,2}$/.test(arg)) throw new InputError({ loc: where, message: `the ${op} request is not base64 (or too long)` });
  let req: unknown;
  try {
    req = JSON.parse(Buffer.from(arg, 'base64').toString('utf8'));
  } catch (err) {
    throw new InputError({ loc: where, message: `the ${op} request is not valid JSON: ${(err as Error).message}` });
  }
  validateRequest(op, req);
  return req as T;
}

/** How connect and capture say a warning (their stdout is not the protocol's: no progress events). */
export function warnOnStderr(op: 'connect' | 'capture'): (message: string) => void {
  return (message) => process.stderr.write(`ediv agent ${op}: warning: ${message}\n`);
}
