// A fake started command for transport tests: PassThrough streams the test writes to, an
// exit the test settles, and a kill that records itself (and exits the command, as a real kill does).
import { PassThrough } from 'node:stream';
import type { Started } from '../../../src/transport/agent-run.ts';

export interface FakeCommand {
  p: Started & { stdin: PassThrough; stdout: PassThrough; stderr: PassThrough };
  exit(status: { exitCode: number | null; signal?: string }): void;
  readonly killed: boolean;
}

export function fakeStarted(): FakeCommand {
  let settle: (s: { exitCode: number | null; signal?: string }) => void = () => {};
  let killed = false;
  const exited = new Promise<{ exitCode: number | null; signal?: string }>((r) => (settle = r));
  return {
    p: {
      stdin: new PassThrough(),
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      exited,
      kill: () => {
        killed = true;
        settle({ exitCode: null, signal: 'KILL' });
      },
    },
    exit: (s) => settle(s),
    get killed() {
      return killed;
    },
  };
}
