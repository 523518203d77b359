import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knownHostsProblem, MAX_KEY_FILE_BYTES, privateKeyProblem } from '../../../src/transport/file-safety.ts';

describe('file safety (identity keys, known_hosts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-fs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, mode: number, text = 'x') => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    chmodSync(f, mode);
    return f;
  };

  it('accepts a private key only its owner can access, as OpenSSH does', () => {
    expect(privateKeyProblem(file('k600', 0o600))).to.equal(undefined);
    expect(privateKeyProblem(file('k400', 0o400))).to.equal(undefined);
    for (const mode of [0o640, 0o604, 0o620, 0o601]) {
      expect(privateKeyProblem(file(`k${mode.toString(8)}`, mode)), mode.toString(8)).to.match(/permissions 0\d{3} are too open/);
    }
    expect(privateKeyProblem(path.join(dir, 'missing'))).to.equal(undefined); // the caller says "does not exist"
  });

  it('refuses what cannot be a key file: a device, a directory, a huge file', () => {
    expect(privateKeyProblem('/dev/zero')).to.equal('it is not a regular file');
    expect(privateKeyProblem(dir)).to.equal('it is not a regular file');
    expect(privateKeyProblem(file('big', 0o600, 'x'.repeat(MAX_KEY_FILE_BYTES + 1)))).to.match(/too large for a key/);
  });

  it('refuses a known_hosts file others can write, or that sits in a directory others can write', () => {
    expect(knownHostsProblem(file('kh644', 0o644))).to.equal(undefined);
    expect(knownHostsProblem(file('kh664', 0o664))).to.equal(undefined); // group-writable: umask 002 setups
    expect(knownHostsProblem(file('kh646', 0o646))).to.match(/^it is writable by others \(permissions 0646\)/);
    expect(knownHostsProblem('/dev/null')).to.equal('it is not a regular file');
    expect(knownHostsProblem(path.join(dir, 'not-yet'))).to.equal(undefined);

    const open = path.join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(knownHostsProblem(path.join(open, 'known_hosts'))).to.match(/^its directory .*open is writable by others without the sticky bit/);
    chmodSync(open, 0o1777); // like /tmp: others cannot replace our file
    expect(knownHostsProblem(path.join(open, 'known_hosts'))).to.equal(undefined);
  });
});
