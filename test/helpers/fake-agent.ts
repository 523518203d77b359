// Pieces of fake agents for controller unit tests, and the agent's request validation as a list
// of messages (for host-agent unit tests).
import { InputError } from '../../src/common/errors.ts';
import type { AgentOp, FactsResult } from '../../src/protocol/agent.ts';
import { validateRequest } from '../../src/host-agent/validate.ts';

/** A capable host's facts (vxlan and 8021q, netns and container drivers), with `extra` over them. */
export function fakeFacts(hostname: string, extra: Partial<FactsResult> = {}): FactsResult {
  return {
    version: '0.1.0', hostname, cpus: 2, memMB: 1000, loadAvg: [0, 0, 0], root: true,
    capabilities: { netns: true, bridge: true, veth: true, vxlan: true, vlan8021q: true }, drivers: ['netns', 'container'],
    ...extra,
  };
}

/** The problems the agent finds in request `r` for `op` (none: valid). */
export function requestProblems(op: AgentOp, r: unknown): string[] {
  try {
    validateRequest(op, r);
    return [];
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return e.problems.map((p) => p.message);
  }
}
