import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Journal, parseJournal, replay, JOURNAL_FILE } from '../../../src/host-agent/journal.ts';
import { trustStateDir } from '../../../src/host-agent/store.ts';
import { OperationError } from '../../../src/common/errors.ts';

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

describe('the journal and state directory are trusted only when ediv wrote them', () => {
  let dir = '';
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-trust-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const dep = () => path.join(dir, 'deployments', 'lab');
  const write = (records: unknown[]) => {
    fs.mkdirSync(dep(), { recursive: true });
    fs.writeFileSync(path.join(dep(), JOURNAL_FILE), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  };

  it('a journal ediv wrote opens', () => {
    write([
      { t: 'res', key: 'bridge:Net0', kind: 'bridge', name: 'lab-Net0', net: 'Net0' },
      { t: 'res', key: 'netns:a', kind: 'netns', name: 'lab.a.abcdef', vm: 'a' },
      { t: 'res', key: 'dir:a', kind: 'dir', name: path.join(dep(), 'vms', 'a'), vm: 'a' },
      { t: 'res', key: 'cgroup:a:0', kind: 'cgroup', name: '/sys/fs/cgroup/memory/ediv/lab.a.abcdef', vm: 'a' },
      { t: 'res', key: 'sysctl:x', kind: 'sysctl', name: 'net.ipv4.ip_forward', params: '0' },
      { t: 'vm', vm: 'a', hash: 'h' },
    ]);
    expect(Journal.open(dep()).resources()).to.have.length(5);
  });

  for (const [what, record, why] of [
    ['a directory outside the deployment (rm -r as root)', { t: 'res', key: 'dir:a', kind: 'dir', name: '/etc', vm: 'a' }, /directory "\/etc" is not inside/],
    ['a "dir" climbing out with ..', { t: 'res', key: 'dir:a', kind: 'dir', name: '/x/../etc' }, /not inside/],
    ['a link name that is a batch line', { t: 'res', key: 'veth:a:1', kind: 'veth', name: 'x\nnetns add evil' }, /veth name .* is not an interface name/],
    ['a cgroup that is not ediv\'s', { t: 'res', key: 'cgroup:a:0', kind: 'cgroup', name: '/sys/fs/cgroup/memory/system.slice' }, /not an ediv cgroup/],
    ['a sysctl path escaping /proc/sys', { t: 'res', key: 'sysctl:x', kind: 'sysctl', name: '../../etc/passwd' }, /sysctl name/],
    ['pid 1', { t: 'res', key: 'process:a:init', kind: 'process', name: 'init', pid: 1 }, /process id 1/],
    ['an unknown kind', { t: 'res', key: 'x', kind: 'shell', name: 'rm -rf /' }, /unknown kind "shell"/],
  ] as const) {
    it(`refuses ${what}, naming the line`, () => {
      write([{ t: 'res', key: 'bridge:Net0', kind: 'bridge', name: 'lab-Net0' }, record]);
      expect(() => Journal.open(dep())).to.throw(OperationError, /journal\.jsonl line 2: .*refusing to act on a journal ediv did not write/);
      expect(() => Journal.open(dep())).to.throw(why);
    });
  }

  it('a state directory others can write to, or that belongs to another user, is refused', function () {
    const open = path.join(dir, 'open');
    fs.mkdirSync(open);
    fs.chmodSync(open, 0o777);
    expect(() => trustStateDir(open)).to.throw(OperationError, /writable by everyone \(mode 777\)/);
    fs.chmodSync(open, 0o775);
    expect(() => trustStateDir(open)).to.throw(OperationError, /writable by its group/);
    fs.chmodSync(open, 0o755);
    expect(() => trustStateDir(open)).to.not.throw();
    const fresh = path.join(dir, 'fresh', 'agent');
    trustStateDir(fresh);
    expect(fs.statSync(fresh).mode & 0o777).to.equal(0o700);
    if (process.geteuid?.() !== 0) return; // chown needs root
    const theirs = path.join(dir, 'theirs');
    fs.mkdirSync(theirs, { mode: 0o700 });
    fs.chownSync(theirs, 65534, 65534);
    expect(() => trustStateDir(theirs)).to.throw(OperationError, /belongs to uid 65534/);
  });
});
