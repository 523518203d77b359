// -v/--verbose: what an agent started with --trace reports of the commands it runs, and how the
// controller shows it (one progress line per command, a batch's lines under it).
import { expect } from 'chai';
import { describeCommand, run, traceCommands } from '../../../src/common/run.ts';
import { agentArgv } from '../../../src/transport/agent-run.ts';
import { HostSessions, type AgentChannel } from '../../../src/controller/sessions.ts';
import type { Progress } from '../../../src/controller/progress.ts';
import type { ProgressEvent } from '../../../src/protocol/agent.ts';
import { testCluster } from '../../helpers/test-cluster.ts';

/** A host channel whose agent sends these progress events, then an empty result. */
function channelSending(events: ProgressEvent[]): AgentChannel {
  return {
    runAgent: async <T>(_op: string, _req: unknown, onProgress?: (e: ProgressEvent) => void): Promise<T> => {
      for (const e of events) onProgress?.(e);
      return {} as T;
    },
    close() {},
  };
}

describe('command tracing (-v)', () => {
  afterEach(() => traceCommands(undefined));

  it('describes a command as typed: words a shell would split or expand are quoted', () => {
    expect(describeCommand(['ip', '-n', 'lab.r1.abc', 'link', 'show'])).to.equal('ip -n lab.r1.abc link show');
    expect(describeCommand(['sh', '-c', "echo 'a b' $HOME", 'x'])).to.equal(`sh -c 'echo '\\''a b'\\'' $HOME' x`);
    expect(describeCommand(['ip', '-batch', '-'], 'link add a\nlink add b\n')).to.equal('ip -batch - <<\nlink add a\nlink add b');
  });

  it('shows at most 400 lines of a batch, then how many more', () => {
    const input = Array.from({ length: 1000 }, (_, i) => `link add ev${i}`).join('\n');
    const text = describeCommand(['ip', '-batch', '-'], input).split('\n');
    expect(text).to.have.length(402);
    expect(text.at(-1)).to.equal('… 600 more line(s)');
  });

  it('every program run() starts is reported to the tracer, with its stdin; none once the tracer is gone', async () => {
    const seen: string[] = [];
    traceCommands((t) => seen.push(t));
    await run('cat', [], { input: 'hello\n' });
    traceCommands(undefined);
    await run('true', []);
    expect(seen).to.deep.equal(['cat <<\nhello']);
  });

  it('the agent command line gets --trace only when asked', () => {
    const host = testCluster(1).hosts[0]!;
    expect(agentArgv(host, 'apply')).to.deep.equal(['ediv', 'agent', 'apply']);
    expect(agentArgv(host, 'apply', true)).to.deep.equal(['ediv', 'agent', 'apply', '--trace']);
  });

  it("a host's progress messages reach the terminal with their control characters escaped", async () => {
    const seen: string[] = [];
    const progress: Progress = { host: (_h, step, d) => seen.push(`${step}|${d?.message}`), info() {}, warn: (m) => seen.push(m), done() {} };
    const channel = channelSending([
      { type: 'progress', step: 'warning', message: 'disk \x1b]52;c;cm0gLXJm\x07 full' },
      { type: 'progress', step: 'vms\x1b[2J', message: 'ok\u202e' },
    ]);
    await new HostSessions(async () => channel).run(testCluster(1).hosts[0]!, 'apply', {}, progress);
    expect(seen).to.include('host1: disk \\x1b]52;c;cm0gLXJm\\x07 full');
    expect(seen).to.include('vms\\x1b[2J|ok\\u202e');
    expect(seen.join('')).to.not.match(/[\x1b\x07\u202e]/);
  });

  it('a verbose session shows each op sent and each command the agent reports, under the host name', async () => {
    const lines: string[] = [];
    const progress: Progress = { host() {}, info: (m) => lines.push(m), warn() {}, done() {} };
    const channel = channelSending([
      { type: 'progress', step: 'run', message: 'ip -batch - <<\nlink add a\nlink add b' },
      { type: 'progress', step: 'vms', message: 'configuring 2 VM namespace(s)' },
    ]);
    const host = testCluster(1).hosts[0]!;
    await new HostSessions(async () => channel, { verbose: true }).run(host, 'apply', { deployment: 'lab' }, progress);
    expect(lines).to.deep.equal(['host1: ediv agent apply (request 20 B)', 'host1: $ ip -batch - <<\n    link add a\n    link add b']);
    lines.length = 0;
    await new HostSessions(async () => channel).run(host, 'apply', {}, progress);
    expect(lines).to.deep.equal([]); // not verbose: nothing of the kind is shown
  });
});
