import { expect } from 'chai';
import { OperationError } from '../../../src/common/errors.ts';
import type { ProgressEvent } from '../../../src/protocol/agent.ts';
import { agentOutcome, finish, LineSplitter, MAX_KEEP, TailText } from '../../../src/transport/agent-run.ts';
import { printable } from '../../../src/common/printable.ts';
import { fakeStarted } from './fake-started.ts';

describe('agent-run', () => {
  describe('LineSplitter', () => {
    it('splits lines across chunk boundaries, keeps UTF-8 characters split between chunks whole', () => {
      const lines: string[] = [];
      const s = new LineSplitter(100, (l) => lines.push(l));
      const bytes = Buffer.from('one\ntw☃o\n\nthree');
      for (let i = 0; i < bytes.length; i += 2) expect(s.push(bytes.subarray(i, i + 2))).to.equal(true);
      s.end();
      expect(lines).to.deep.equal(['one', 'tw☃o', '', 'three']);
    });

    it('refuses a line over the bound, counting the pieces held from earlier chunks', () => {
      const lines: string[] = [];
      const s = new LineSplitter(5, (l) => lines.push(l));
      expect(s.push(Buffer.from('12345\n123'))).to.equal(true);
      expect(s.push(Buffer.from('45'))).to.equal(true);
      expect(s.push(Buffer.from('6'))).to.equal(false);
      expect(lines).to.deep.equal(['12345']);
      expect(new LineSplitter(5, () => {}).push(Buffer.from('123456\n'))).to.equal(false);
    });
  });

  it('TailText keeps the last characters and says how many were dropped', () => {
    const t = new TailText(4);
    for (const c of 'abcdefghij') t.push(c);
    expect(t.text()).to.equal('[ediv: 6 earlier characters not kept]\nghij');
    const short = new TailText(4);
    short.push('ab');
    expect(short.text()).to.equal('ab');
  });

  it('finish returns stdout and stderr; stderr past the bound is its tail after a marker', async () => {
    const cmd = fakeStarted();
    const call = finish(cmd.p, 'cat', 'h', { timeoutMs: 0 });
    cmd.p.stdout.end(Buffer.from('out ☃'));
    cmd.p.stderr.end('e'.repeat(MAX_KEEP) + 'END');
    await new Promise((r) => setImmediate(r));
    cmd.exit({ exitCode: 3 });
    const r = await call;
    expect(r.stdout).to.equal('out ☃');
    expect(r.exitCode).to.equal(3);
    expect(r.stderr).to.match(/^\[ediv: 3 earlier characters not kept\]\ne+END$/);
  });

  it('finish kills the command on timeout', async () => {
    const cmd = fakeStarted();
    const err = await finish(cmd.p, 'sleep', 'h', { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(OperationError);
    expect((err as Error).message).to.equal('h: sleep timed out after 0 s');
    expect(cmd.killed).to.equal(true);
  });

  it('a progress callback that throws fails the call and kills the agent, instead of crashing the process', async () => {
    const cmd = fakeStarted();
    const call = agentOutcome(cmd.p, 'h', 'apply', {}, () => {
      throw new Error('renderer bug');
    }, { timeoutMs: 0 });
    cmd.p.stdout.write('{"type":"progress","step":"one"}\n');
    const err = (await call.catch((e: unknown) => e)) as Error;
    expect(err.message).to.equal('h: agent apply: reading its output failed: renderer bug');
    expect(cmd.killed).to.equal(true);
  });

  it('passes on only well-formed progress events; other JSON is stray output', async () => {
    const cmd = fakeStarted();
    const events: ProgressEvent[] = [];
    const call = agentOutcome(cmd.p, 'h', 'apply', {}, (e) => events.push(e), { timeoutMs: 0 });
    cmd.p.stdout.end(
      [
        '{"type":"progress","step":"one","done":1,"total":2}',
        '{"type":"progress","step":{"toString":1}}',
        '{"type":"progress","step":"x","message":5}',
        'null',
        '[1]',
        '{"type":"result","ok":"yes"}',
        '',
      ].join('\n'),
    );
    await new Promise((r) => setImmediate(r));
    cmd.exit({ exitCode: 0 });
    const err = (await call.catch((e: unknown) => e)) as Error;
    expect(events).to.deep.equal([{ type: 'progress', step: 'one', done: 1, total: 2 }]);
    expect(err.message).to.match(/^h: agent apply exited with status 0 without a result:\n/);
    expect(err.message).to.include('"step":{"toString":1}').and.to.include('{"type":"result","ok":"yes"}');
  });

  it('shows control characters from the host escaped in error messages', async () => {
    const cmd = fakeStarted();
    const call = agentOutcome(cmd.p, 'h', 'apply', {}, undefined, { timeoutMs: 0 });
    cmd.p.stdout.end('{"type":"result","ok":false,"error":{"message":"busy\\u001b]52;c;cm0gLXJmIH4=\\u0007\\u009b2J"}}\n');
    await new Promise((r) => setImmediate(r));
    cmd.exit({ exitCode: 1 });
    const err = (await call.catch((e: unknown) => e)) as OperationError;
    expect(err.message).to.equal('h: agent apply failed: busy\\x1b]52;c;cm0gLXJmIH4=\\x07\\x9b2J');
    expect((err.details as { message: string }).message).to.include('\x1b'); // the details stay as sent

    const cmd2 = fakeStarted();
    const call2 = agentOutcome(cmd2.p, 'h', 'apply', {}, undefined, { timeoutMs: 0 });
    cmd2.p.stderr.end('bad\x1b[2Jthing\n');
    await new Promise((r) => setImmediate(r));
    cmd2.exit({ exitCode: null, signal: 'KILL\x1b[H' });
    const err2 = (await call2.catch((e: unknown) => e)) as Error;
    expect(err2.message).to.equal('h: agent apply was killed by signal KILL\\x1b[H without a result:\nbad\\x1b[2Jthing');
    expect(printable('tab\tnew\nline')).to.equal('tab\tnew\nline');
  });
});
