// The one atomic write: never through a planted link, nothing left behind on failure.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../../src/common/atomic-write.ts';

describe('writeFileAtomic', () => {
  let dir = '';
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-atomic-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('replaces a symbolic link at the target instead of writing through it', () => {
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'keep');
    const target = path.join(dir, 'out.xml');
    fs.symlinkSync(victim, target);
    writeFileAtomic(target, 'new');
    expect(fs.readFileSync(victim, 'utf8')).to.equal('keep');
    expect(fs.lstatSync(target).isSymbolicLink()).to.equal(false);
    expect(fs.readFileSync(target, 'utf8')).to.equal('new');
  });

  it('a link planted at the old predictable temporary name (<file>.<pid>.tmp) is not written through', () => {
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'keep');
    const target = path.join(dir, 'out.xml');
    fs.symlinkSync(victim, `${target}.${process.pid}.tmp`);
    writeFileAtomic(target, 'new');
    expect(fs.readFileSync(victim, 'utf8')).to.equal('keep');
    expect(fs.readFileSync(target, 'utf8')).to.equal('new');
  });

  it('leaves no temporary file when the rename fails (the target is a directory)', () => {
    const target = path.join(dir, 'taken');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'x'), '');
    expect(() => writeFileAtomic(target, 'new')).to.throw();
    expect(fs.readdirSync(dir)).to.deep.equal(['taken']);
  });
});
