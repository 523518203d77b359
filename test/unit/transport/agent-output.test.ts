import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const FLOOD = path.join(import.meta.dirname, 'flood-output.ts');
// Small enough that a buffering regression dies of heap exhaustion instead of swapping.
const HEAP_MB = 512;
// Peak RSS allowed: output held to its 64 MB bound, plus the runtime and garbage not yet
// collected. (Before the bounds: 2.6 GB and rising after 10 minutes for 300 MB without a
// newline, 1 GB for 50 MB lines, 420 MB for 300 MB of exec stdout.)
const RSS_MB = 256;
const RSS_LINES_MB = 640; // a 50 MB line is held as bytes, joined, then decoded: three copies at once

interface Flood {
  ms: number;
  maxRssMB: number;
  fedMB: number;
  killed: boolean;
  ok: boolean;
  error?: string;
  errorLength?: number;
  length?: number;
}

/** Runs flood-output.ts in a child with a bounded heap and returns what it measured. */
async function flood(mode: 'agent' | 'exec', mb: number, stream: 'stdout' | 'stderr' = 'stdout', lineMB = 0): Promise<Flood> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [`--max-old-space-size=${HEAP_MB}`, '--disable-warning=ExperimentalWarning', FLOOD, mode, String(mb), stream, String(lineMB)],
    { maxBuffer: 1024 * 1024 },
  );
  const r = JSON.parse(stdout) as Flood;
  console.log(`      ${mode} ${stream}, ${mb} MB, ${lineMB ? `a newline every ${lineMB} MB` : 'no newline'}: ${JSON.stringify(r)}`);
  return r;
}

describe('agent output bounds (300 MB floods)', function () {
  this.timeout(120_000);

  it('runAgent fails the call past the line bound, kills the command, in linear time and bounded memory', async () => {
    const r = await flood('agent', 300);
    expect(r.ok).to.equal(false);
    expect(r.error).to.match(/^h: agent facts: output line over 64 MB: truncated; the command was killed$/);
    expect(r.killed).to.equal(true);
    expect(r.fedMB).to.be.at.most(70); // stopped at the bound, not after reading everything
    expect(r.ms).to.be.below(10_000);
    expect(r.maxRssMB).to.be.below(RSS_MB);
  });

  it('runAgent splits long lines in linear time (6 lines of 50 MB)', async () => {
    const r = await flood('agent', 300, 'stdout', 50);
    expect(r.ok).to.equal(false);
    expect(r.error).to.match(/^h: agent facts exited with status 0 without a result:\nx{40}/);
    expect(r.errorLength).to.be.below(70 * 1024); // stray output kept for the message is bounded
    expect(r.fedMB).to.equal(300);
    expect(r.ms).to.be.below(10_000);
    expect(r.maxRssMB).to.be.below(RSS_LINES_MB);
  });

  it('exec fails the call past the stdout bound and kills the command', async () => {
    const r = await flood('exec', 300);
    expect(r.ok).to.equal(false);
    expect(r.error).to.match(/^h: cat: output over 64 MB: truncated; the command was killed$/);
    expect(r.killed).to.equal(true);
    expect(r.fedMB).to.be.at.most(70);
    expect(r.ms).to.be.below(10_000);
    expect(r.maxRssMB).to.be.below(RSS_MB);
  });

  it('keeps only the tail of a flood of stderr, with a marker', async () => {
    const r = await flood('exec', 300, 'stderr');
    expect(r.ok).to.equal(true);
    expect(r.length).to.be.below(1024 * 1024);
    expect(r.ms).to.be.below(10_000);
    expect(r.maxRssMB).to.be.below(RSS_MB);
  });
});
