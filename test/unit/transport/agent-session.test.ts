// The controller's side of `ediv agent session`, over fake commands: ops one after another in
// one process; nothing sent before the hello; an agent without sessions (or a silent one) gets
// nothing and the caller runs the op alone; a timeout or the process's end fails the op in flight
// and the next op starts a fresh process.
import { expect } from 'chai';
import { AgentSession } from '../../../src/transport/agent-session.ts';
import { OperationError } from '../../../src/common/errors.ts';
import type { ProgressEvent } from '../../../src/protocol/agent.ts';
import { fakeStarted, type FakeCommand } from './fake-started.ts';

/** A session over fake commands; `started` lists every command it started, `sent` what each was sent. */
function harness(helloTimeoutMs = 2000) {
  const started: FakeCommand[] = [];
  const sent: string[][] = [];
  const session = new AgentSession(
    'h',
    async () => {
      const c = fakeStarted();
      const lines: string[] = [];
      c.p.stdin.on('data', (d: Buffer) => lines.push(...String(d).split('\n').filter(Boolean)));
      started.push(c);
      sent.push(lines);
      return c.p;
    },
    { helloTimeoutMs },
  );
  return { session, started, sent };
}

const say = (c: FakeCommand, line: unknown) => c.p.stdout.write(JSON.stringify(line) + '\n');
const HELLO = { type: 'session', version: 1 };
const tick = () => new Promise((r) => setTimeout(r, 10));

describe('agent sessions (controller side)', () => {
  it('runs ops one after another in one process, with their progress, after the hello', async () => {
    const { session, started, sent } = harness();
    const events: ProgressEvent[] = [];
    const first = session.run<{ n: number }>('facts', { a: 1 }, (e) => events.push(e), { timeoutMs: 0 });
    await tick();
    expect(sent[0]).to.deep.equal([]); // nothing before the hello
    say(started[0]!, HELLO);
    await tick();
    expect(sent[0]!.map((l) => JSON.parse(l))).to.deep.equal([{ op: 'facts', request: { a: 1 } }]);
    say(started[0]!, { type: 'progress', step: 'probe', done: 1, total: 2 });
    say(started[0]!, { type: 'result', ok: true, result: { n: 1 } });
    expect(await first).to.deep.equal({ value: { n: 1 } });
    expect(events.map((e) => e.step)).to.deep.equal(['probe']);

    const second = session.run('apply', { b: 2 }, undefined, { timeoutMs: 0 });
    await tick();
    say(started[0]!, { type: 'result', ok: false, error: { message: 'bridge busy', code: 'EBUSY' } });
    const err = (await second.catch((e: unknown) => e)) as OperationError;
    expect(err).to.be.instanceOf(OperationError);
    expect(err.message).to.equal('h: agent apply failed: bridge busy');
    expect(started).to.have.length(1);
    expect(sent[0]!.map((l) => JSON.parse(l).op)).to.deep.equal(['facts', 'apply']);
  });

  it('is busy while an op runs (the caller runs another op on its own) and never takes a streaming op', async () => {
    const { session, started } = harness();
    const first = session.run('exec', {}, undefined, { timeoutMs: 0 });
    expect(await session.run('status', {}, undefined, { timeoutMs: 0 })).to.equal(undefined);
    await tick();
    say(started[0]!, HELLO);
    await tick();
    say(started[0]!, { type: 'result', ok: true, result: 1 });
    expect(await first).to.deep.equal({ value: 1 });
    expect(await session.run('connect', {}, undefined, { timeoutMs: 0 })).to.equal(undefined);
    expect(started).to.have.length(1);
  });

  it('an agent without sessions (its first line is a refusal) is sent nothing, and not asked again', async () => {
    const { session, started, sent } = harness();
    const r = session.run('facts', {}, undefined, { timeoutMs: 0 });
    await tick();
    say(started[0]!, { type: 'result', ok: false, error: { message: 'unknown agent op "session"' } });
    expect(await r).to.equal(undefined);
    expect(sent[0]).to.deep.equal([]);
    expect(started[0]!.killed).to.equal(true);
    expect(await session.run('facts', {}, undefined, { timeoutMs: 0 })).to.equal(undefined);
    expect(started).to.have.length(1);
  });

  it('a command that says nothing within the hello timeout is killed unsent', async () => {
    const { session, started, sent } = harness(100);
    const t0 = Date.now();
    expect(await session.run('facts', {}, undefined, { timeoutMs: 0 })).to.equal(undefined);
    expect(Date.now() - t0).to.be.within(90, 1000);
    expect(started[0]!.killed).to.equal(true);
    expect(sent[0]).to.deep.equal([]);
  });

  it('an op that times out kills the process; the next op starts a fresh one', async () => {
    const { session, started } = harness();
    const slow = session.run('apply', {}, undefined, { timeoutMs: 100 });
    await tick();
    say(started[0]!, HELLO);
    const err = (await slow.catch((e: unknown) => e)) as Error;
    expect(err.message).to.equal('h: agent apply timed out after 0 s');
    expect(started[0]!.killed).to.equal(true);
    const next = session.run('status', {}, undefined, { timeoutMs: 0 });
    await tick();
    expect(started).to.have.length(2);
    say(started[1]!, HELLO);
    await tick();
    say(started[1]!, { type: 'result', ok: true, result: 'fresh' });
    expect(await next).to.deep.equal({ value: 'fresh' });
  });

  it('an abort kills the process and fails the op', async () => {
    const { session, started } = harness();
    const ac = new AbortController();
    const op = session.run('apply', {}, undefined, { timeoutMs: 0, signal: ac.signal });
    await tick();
    say(started[0]!, HELLO);
    await tick();
    ac.abort();
    expect(((await op.catch((e: unknown) => e)) as Error).message).to.equal('h: agent apply was cancelled');
    expect(started[0]!.killed).to.equal(true);
  });

  it('a process that ends mid-op fails it with how it ended and its last words', async () => {
    const { session, started } = harness();
    const op = session.run('apply', {}, undefined, { timeoutMs: 0 });
    await tick();
    say(started[0]!, HELLO);
    await tick();
    started[0]!.p.stdout.write('not json\n');
    started[0]!.p.stderr.write('Segmentation fault\n');
    await tick();
    started[0]!.exit({ exitCode: 139 });
    const err = (await op.catch((e: unknown) => e)) as OperationError;
    expect(err.message).to.match(/^h: agent apply exited with status 139 without a result:\nSegmentation fault/);
  });

  it('close ends the input and waits for the exit', async () => {
    const { session, started } = harness();
    const op = session.run('status', {}, undefined, { timeoutMs: 0 });
    await tick();
    say(started[0]!, HELLO);
    await tick();
    say(started[0]!, { type: 'result', ok: true, result: 1 });
    await op;
    let ended = false;
    started[0]!.p.stdin.on('finish', () => {
      ended = true;
      started[0]!.exit({ exitCode: 0 });
    });
    await session.close();
    expect(ended).to.equal(true);
    expect(started[0]!.killed).to.equal(false);
  });
});
