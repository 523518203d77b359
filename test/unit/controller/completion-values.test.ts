import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { completionValues } from '../../../src/controller/completion-values.ts';
import { STATE_FILE } from '../../../src/state/sqlite.ts';
import { recordLab } from '../../helpers/recorded-lab.ts';

describe('completion values (the names `ediv completion --list` prints)', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-completion-values-'));
    await recordLab(path.join(dir, 'state'), 'tutorial', {
      host1: { vms: { r1: { execs: ['start', 'step1, step2'] }, r2: {} }, cmdSeqs: { all: 'start,step1' } },
      host2: { vms: { h1: { filetrees: ['conf'] } } },
    });
    await recordLab(path.join(dir, 'state'), 'bgp', { host3: { vms: { R1: { execs: ['start', 'bgp-up'] } } } });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const list = (what: Parameters<typeof completionValues>[1], lab?: string) => completionValues(path.join(dir, 'state'), what, lab);

  it('lists the recorded labs', async () => {
    expect(await list('lab')).to.deep.equal(['bgp', 'tutorial']);
    expect(await list('lab', 'tutorial'), 'a lab does not narrow the labs').to.deep.equal(['bgp', 'tutorial']);
  });

  it("lists a lab's VMs and hosts, or those of every lab", async () => {
    expect(await list('vm', 'tutorial')).to.deep.equal(['h1', 'r1', 'r2']);
    expect(await list('host', 'tutorial')).to.deep.equal(['host1', 'host2']);
    expect(await list('vm')).to.deep.equal(['R1', 'h1', 'r1', 'r2']);
    expect(await list('host')).to.deep.equal(['host1', 'host2', 'host3']);
  });

  it("lists a lab's sequences: execs (comma lists split), filetrees and cmd-seqs, from every fragment", async () => {
    expect(await list('seq', 'tutorial')).to.deep.equal(['all', 'conf', 'start', 'step1', 'step2']);
    expect(await list('seq', 'bgp')).to.deep.equal(['bgp-up', 'start']);
    expect(await list('seq')).to.deep.equal(['all', 'bgp-up', 'conf', 'start', 'step1', 'step2']);
  });

  it('lists nothing for a lab that is not recorded', async () => {
    for (const what of ['vm', 'host', 'seq'] as const) expect(await list(what, 'nope')).to.deep.equal([]);
  });

  it('lists nothing, and creates nothing, where there is no state store', async () => {
    const none = path.join(dir, 'no-state');
    expect(await completionValues(none, 'lab')).to.deep.equal([]);
    expect(existsSync(none)).to.equal(false);
  });

  it('throws on a store it cannot read (the CLI prints nothing then)', async () => {
    const bad = mkdtempSync(path.join(dir, 'bad-'));
    writeFileSync(path.join(bad, STATE_FILE), 'not a database'.repeat(100));
    expect(await completionValues(bad, 'lab').then(() => 'resolved', () => 'rejected')).to.equal('rejected');
  });
});
