// A host's failure as reports carry it: the error's message and its stable code, so that what
// kind of failure it was (an interrupt, an unreachable host...) travels without reading the text.
import { errorCodeOf } from '../common/errors.ts';
import { errorMessage } from './sessions.ts';

export interface HostFailure {
  host: string;
  error: string;
  /** The error's code (src/common/errors.ts): 'interrupted', 'operation-failed', ... */
  code: string;
  /** The code of the agent's own error, when the agent refused ('ids-taken', 'not-owner', ...). */
  agentCode?: string;
}

export function hostFailure(host: string, err: unknown): HostFailure {
  const agentCode = (err as { details?: { code?: unknown } } | undefined)?.details?.code;
  return { host, error: errorMessage(err), code: errorCodeOf(err), ...(typeof agentCode === 'string' ? { agentCode } : {}) };
}
