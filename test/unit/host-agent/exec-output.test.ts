// A command's output as the agent sends it back: bounded per stream and per op, with a note.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_OP_OUTPUT_BYTES, MAX_OUTPUT_BYTES, readOutput, resetOpOutputAllowance } from '../../../src/host-agent/drivers/netns/exec.ts';

describe('exec output bounds', () => {
  let dir = '';
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-out-'));
    resetOpOutputAllowance();
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    resetOpOutputAllowance();
  });

  it('small output comes back whole', () => {
    fs.writeFileSync(path.join(dir, 'o'), 'hello\n');
    expect(readOutput(path.join(dir, 'o'))).to.equal('hello\n');
  });

  it('a 2 GB output (sparse file) is read only up to the bound, quickly, with a note saying so', () => {
    const f = path.join(dir, 'big');
    fs.writeFileSync(f, 'x');
    fs.truncateSync(f, 2 * 1024 ** 3);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const out = readOutput(f);
    expect(performance.now() - t0).to.be.below(1000);
    expect(out.length).to.be.below(MAX_OUTPUT_BYTES + 200);
    expect(out).to.match(/\[ediv: output truncated at 4\.0 MB of 2048\.0 MB\]\n$/);
    expect(process.memoryUsage().rss - rss0).to.be.below(64 * 1024 * 1024);
  });

  it('all the commands of one op together carry at most the op bound', () => {
    const f = path.join(dir, 'mid');
    fs.writeFileSync(f, Buffer.alloc(MAX_OUTPUT_BYTES, 'a'));
    let total = 0;
    const outs: string[] = [];
    for (let i = 0; i < 6; i++) {
      const o = readOutput(f);
      outs.push(o);
      total += o.replace(/\n\[ediv:[^\]]*\]\n$/, '').length;
    }
    expect(total).to.equal(MAX_OP_OUTPUT_BYTES);
    expect(outs[4]).to.match(/truncated at 0\.0 MB of 4\.0 MB \(the agent's answer carries at most 16\.0 MB/);
  });
});
