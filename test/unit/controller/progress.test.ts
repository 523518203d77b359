import { expect } from 'chai';
import { JsonLinesProgress, PlainLinesProgress, TtyProgress, progressFor, silentProgress } from '../../../src/controller/progress.ts';

/** Collects what a renderer writes. */
function sink(): { out: { write(s: string): boolean }; text(): string } {
  let buf = '';
  return { out: { write: (s: string) => ((buf += s), true) }, text: () => buf };
}

describe('progress renderers', () => {
  it('TTY: redraws one line per host, messages above the block', () => {
    const s = sink();
    const p = new TtyProgress(s.out, { minIntervalMs: 0 });
    p.host('host1', 'apply', { done: 1, total: 4 });
    p.info('planning lab');
    const shown = s.text().replace(/\x1b\[[0-9]*[A-Za-z]/g, '');
    expect(shown).to.include('planning lab\n');
    expect(shown).to.include('host1  apply  1/4');
  });

  it('TTY: after done() nothing is redrawn, so the result printed next is not overwritten', async () => {
    const s = sink();
    const p = new TtyProgress(s.out, { minIntervalMs: 0 });
    p.host('host1', 'apply', { done: 4, total: 4 });
    p.done();
    const before = s.text();
    p.host('host1', 'serve');
    p.done();
    await new Promise((r) => setTimeout(r, 20));
    expect(s.text()).to.equal(before);
    p.warn('late');
    expect(s.text()).to.equal(before + 'warning: late\n');
  });

  it('JSON lines: one parseable event per call', () => {
    const s = sink();
    const p = new JsonLinesProgress(s.out);
    p.host('host2', 'apply', { done: 2, total: 3 });
    p.warn('host3 excluded');
    const lines = s.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.type, l.host ?? l.message])).to.deep.equal([['progress', 'host2'], ['warning', 'host3 excluded']]);
    expect(lines[0]).to.include({ step: 'apply', done: 2, total: 3 });
  });
});

describe('plain progress lines (no terminal, no --json)', () => {
  it('a line per new step, per quarter of a counted step, and per message; no escape codes, no JSON', async () => {
    const { PlainLinesProgress } = await import('../../../src/controller/progress.ts');
    let text = '';
    const p = new PlainLinesProgress({ write: (s: string) => ((text += s), true) });
    p.host('host1', 'connect');
    p.host('host1', 'connect');
    for (let i = 0; i <= 100; i++) p.host('host1', 'vms', { done: i, total: 100 });
    p.host('host1', 'apply', { message: 'host side' });
    p.host('host1', 'apply', { message: 'host side' });
    p.host('host1', 'apply', { message: 'bridges up' });
    p.warn('host2 excluded');
    expect(text.split('\n').filter(Boolean)).to.deep.equal([
      'host1   connect',
      'host1   vms  0/100',
      'host1   vms  25/100',
      'host1   vms  50/100',
      'host1   vms  75/100',
      'host1   vms  100/100',
      'host1   apply  host side',
      'host1   apply  bridges up',
      'warning: host2 excluded',
    ]);
    expect(text).to.not.match(/\x1b|\{/);
  });
});

describe('progressFor: which renderer (--progress, --json, a terminal)', () => {
  const pipe = { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream;
  const tty = { isTTY: true, write: () => true, columns: 80 } as unknown as NodeJS.WriteStream;
  it('auto: json with --json, live on a terminal, else plain lines', () => {
    expect(progressFor({ json: true, stream: tty })).to.be.instanceOf(JsonLinesProgress);
    expect(progressFor({ stream: tty })).to.be.instanceOf(TtyProgress);
    expect(progressFor({ stream: pipe })).to.be.instanceOf(PlainLinesProgress);
    expect(progressFor({ mode: 'auto', stream: pipe })).to.be.instanceOf(PlainLinesProgress);
  });
  it('--progress chooses whatever --json and the terminal say', () => {
    expect(progressFor({ mode: 'json', stream: pipe })).to.be.instanceOf(JsonLinesProgress);
    expect(progressFor({ mode: 'plain', json: true, stream: tty })).to.be.instanceOf(PlainLinesProgress);
    expect(progressFor({ mode: 'none', stream: tty })).to.equal(silentProgress);
  });
});
