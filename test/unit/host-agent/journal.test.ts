import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal, parseJournal, replay, JOURNAL_FILE } from '../../../src/host-agent/journal.ts';

describe('host-agent journal', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-journal-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('replays intents, removals and VM markers (later records win)', () => {
    const { resources, vms } = replay([
      { t: 'res', key: 'netns:a', kind: 'netns', name: 'ns-a', vm: 'a' },
      { t: 'res', key: 'bridge:n', kind: 'bridge', name: 'eb1' },
      { t: 'vm', vm: 'a', hash: 'h1' },
      { t: 'gone', key: 'bridge:n' },
      { t: 'res', key: 'process:a:holder', kind: 'process', name: 'holder', vm: 'a' },
      { t: 'res', key: 'process:a:holder', kind: 'process', name: 'holder', vm: 'a', pid: 42 },
      { t: 'vm', vm: 'b', hash: 'h2' },
      { t: 'vm-gone', vm: 'b' },
    ]);
    expect([...resources.keys()]).to.deep.equal(['netns:a', 'process:a:holder']);
    expect(resources.get('process:a:holder')!.pid).to.equal(42);
    expect([...vms]).to.deep.equal([['a', 'h1']]);
  });

  it('ignores a torn last line (crash during a write) but not a corrupt middle line', () => {
    const good = JSON.stringify({ t: 'res', key: 'k', kind: 'dir', name: '/x' });
    expect(parseJournal(`${good}\n{"t":"res","ke`)).to.have.length(1);
    expect(() => parseJournal(`{"t":\n${good}\n`)).to.throw(/line 1 is corrupt/);
  });

  it('persists appended records and reopens them; compacts to nothing when empty', () => {
    const j = Journal.open(path.join(dir, 'dep'));
    expect(j.isEmpty()).to.equal(true);
    expect(fs.existsSync(path.join(dir, 'dep', JOURNAL_FILE))).to.equal(false);
    j.intend([
      { key: 'netns:a', kind: 'netns', name: 'ns-a', vm: 'a' },
      { key: 'veth:a:1', kind: 'veth', name: 'ev1', vm: 'a', net: 'n' },
    ]);
    const again = Journal.open(path.join(dir, 'dep'));
    expect(again.resources().map((r) => r.name)).to.deep.equal(['ns-a', 'ev1']);
    again.gone(['veth:a:1']);
    again.compact();
    const lines = fs.readFileSync(path.join(dir, 'dep', JOURNAL_FILE), 'utf8').trim().split('\n');
    expect(lines).to.have.length(1);
    again.gone(['netns:a']);
    again.compact();
    expect(fs.existsSync(path.join(dir, 'dep', JOURNAL_FILE))).to.equal(false);
  });
});
