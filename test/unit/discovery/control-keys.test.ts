// Issue 14 (a cluster shared by several controllers): a host keeps the control key of every
// controller that deployed onto it — one a line, newest last, bounded, 0600 — and its daemon
// accepts a signature made with any of them, with one replay cache for all.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ControlVerifier, MAX_KEYS, WINDOW_MS, formatKeyList, newKeyHex, parseKey, parseKeyList, readKeyFile, signCall, withKey, type SignedCall,
} from '../../../src/discovery/control-auth.ts';
import { controlKeyHolder } from '../../../src/discovery/daemon.ts';
import { serve } from '../../../src/discovery/serve.ts';
import { UpnpError, SERVICE_VM_MANAGEMENT } from '../../../src/discovery/types.ts';

const CALL: SignedCall = { url: 'http://198.18.6.11:4000/upnp/u/VMManagement/control', serviceType: SERVICE_VM_MANAGEMENT, action: 'Stop', udn: 'uuid:1', body: '<x/>' };
const hexOf = (b: Buffer) => b.toString('hex');
const keys = (n: number) => Array.from({ length: n }, () => newKeyHex());

function refusal(f: () => void): string | undefined {
  try {
    f();
  } catch (err) {
    expect(err).to.be.instanceOf(UpnpError);
    expect((err as UpnpError).code).to.equal(606);
    return (err as UpnpError).message;
  }
  return undefined;
}

describe('discovery: the control keys of several controllers', () => {
  describe('the key list', () => {
    it('reads the single-key format as a list of one, and one key a line oldest first', () => {
      const [a, b, c] = keys(3) as [string, string, string];
      expect(parseKeyList(`${a}\n`)).to.deep.equal([a]);
      expect(parseKeyList(`  ${a}  `)).to.deep.equal([a]); // no newline, stray blanks
      expect(parseKeyList(`${a}\n\n${b}\r\n${c}\n`)).to.deep.equal([a, b, c]);
    });

    it('counts a repeated key once, at its newest place, and keeps only the MAX_KEYS newest', () => {
      const [a, b, c] = keys(3) as [string, string, string];
      expect(parseKeyList(formatKeyList([a, b, a, c]))).to.deep.equal([b, a, c]);
      const many = keys(MAX_KEYS + 6);
      expect(parseKeyList(formatKeyList(many))).to.deep.equal(many.slice(6));
    });

    it('refuses a file with a line that is no key (without echoing it), or with no key at all', () => {
      const a = newKeyHex();
      const bad = `${a.slice(0, 60)}XYZW`;
      expect(() => parseKeyList(`${a}\n${bad}\n`, '/k')).to.throw(/\/k: line 2 is not a discovery key \(64 hex digits\)/).and.satisfy((e: unknown) => !(e as Error).message.includes(bad));
      expect(() => parseKeyList(`${a.toUpperCase()}\n`)).to.throw(/64 hex digits/);
      expect(() => parseKeyList('\n \n')).to.throw(/holds no discovery key/);
    });

    it('withKey appends, moves a key already there to the end (no duplicate), and drops the oldest beyond the bound', () => {
      const [a, b, c] = keys(3) as [string, string, string];
      expect(withKey([], a)).to.deep.equal([a]);
      expect(withKey([a], b)).to.deep.equal([a, b]);
      expect(withKey([a, b], b)).to.deep.equal([a, b]);
      expect(withKey([a, b, c], a)).to.deep.equal([b, c, a]);
      expect(withKey([a, b], c, 2)).to.deep.equal([b, c]);
      expect(withKey([a, b, a], c)).to.deep.equal([b, a, c]); // a hand-edited list with a repeat
      const full = keys(MAX_KEYS);
      const added = withKey(full, a);
      expect(added).to.have.length(MAX_KEYS);
      expect(added[0]).to.equal(full[1]);
      expect(added.at(-1)).to.equal(a);
    });
  });

  describe('verification with several keys', () => {
    const [A, B, C] = keys(3).map(parseKey) as [Buffer, Buffer, Buffer];

    it('a call signed with any key of the list passes; with a key not in it, 606; a replay stays refused whatever key signed it', () => {
      const clock = { now: 7_000_000 };
      const v = new ControlVerifier(() => [A, B], () => clock.now);
      const byB = signCall(B, CALL, clock.now);
      expect(refusal(() => v.verify(byB, CALL)), 'signed with the 2nd key').to.equal(undefined);
      expect(refusal(() => v.verify(signCall(A, CALL, clock.now), CALL)), 'signed with the 1st key').to.equal(undefined);
      expect(refusal(() => v.verify(signCall(C, CALL, clock.now), CALL)), 'unknown key').to.match(/bad signature/);
      expect(refusal(() => v.verify(byB, CALL)), 'replay').to.match(/replayed/);
      // The nonce cache is one for all keys: the same nonce signed with the other key is a replay too.
      const nonce = 'ab'.repeat(16);
      expect(refusal(() => v.verify(signCall(A, CALL, clock.now, nonce), CALL))).to.equal(undefined);
      expect(refusal(() => v.verify(signCall(B, CALL, clock.now, nonce), CALL))).to.match(/replayed/);
      // Binding and time are checked as with one key.
      expect(refusal(() => v.verify(signCall(B, CALL, clock.now), { ...CALL, udn: 'uuid:2' }))).to.match(/bad signature/);
      expect(refusal(() => v.verify(signCall(B, CALL, clock.now - WINDOW_MS - 1000), CALL))).to.match(/off this host's clock/);
    });

    it('follows the list the holder has now (a key added on reload passes at once); a single Buffer is a list of one', () => {
      const clock = { now: 8_000_000 };
      let list: Buffer[] = [A];
      const v = new ControlVerifier(() => list, () => clock.now);
      expect(refusal(() => v.verify(signCall(B, CALL, clock.now), CALL))).to.match(/bad signature/);
      list = [A, B];
      expect(refusal(() => v.verify(signCall(B, CALL, clock.now), CALL))).to.equal(undefined);
      expect(refusal(() => new ControlVerifier(() => A, () => clock.now).verify(signCall(A, CALL, clock.now), CALL))).to.equal(undefined);
      expect(refusal(() => new ControlVerifier(() => A, () => clock.now).verify(signCall(B, CALL, clock.now), CALL))).to.match(/bad signature/);
    });
  });

  describe('the key file on the host', () => {
    let dir: string;
    let file: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-keys-'));
      file = path.join(dir, '.discovery', 'control.key');
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const mode = (f: string) => fs.statSync(f).mode & 0o777;
    const said: string[] = [];
    const handOver = (controlKey: string) =>
      serve({ host: 'h1', stop: true, controlKey }, { stateDir: dir, daemonMain: '/nonexistent/main.ts', emit: (l) => said.push((l as { message: string }).message) });
    const lines = () => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

    it('each serve request adds its key (newest last, no duplicate), 0600, atomically', async () => {
      const [a, b, c] = keys(3) as [string, string, string];
      await handOver(a);
      expect(lines()).to.deep.equal([a]);
      expect(mode(file)).to.equal(0o600);
      await handOver(b);
      await handOver(c);
      expect(lines()).to.deep.equal([a, b, c]);
      await handOver(a); // a controller deploying again: its key becomes the newest
      expect(lines()).to.deep.equal([b, c, a]);
      await handOver(a);
      expect(lines()).to.deep.equal([b, c, a]);
      expect(mode(file)).to.equal(0o600);
      expect(readKeyFile(file).map(hexOf)).to.deep.equal([b, c, a]);
      expect(fs.readdirSync(path.dirname(file)).sort()).to.deep.equal(['control.key']); // no temporary file, no lock left
    });

    it('keeps at most MAX_KEYS, dropping the ones handed over least recently', async () => {
      const all = keys(MAX_KEYS + 3);
      for (const k of all) await handOver(k);
      expect(lines()).to.deep.equal(all.slice(3));
      await handOver(all[3]!);
      expect(lines()).to.deep.equal([...all.slice(4), all[3]]);
    });

    it('a file of the single-key format gains the new key after its own', async () => {
      const [old, b] = keys(2) as [string, string];
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, `${old}\n`, { mode: 0o600 });
      await handOver(b);
      expect(lines()).to.deep.equal([old, b]);
    });

    it('keys in a file others could read are dropped (the file is rewritten 0600 with the new key only); the daemon refuses such a file', async () => {
      const [a, b] = keys(2) as [string, string];
      await handOver(a);
      fs.chmodSync(file, 0o644);
      expect(() => readKeyFile(file)).to.throw(/readable by others \(mode 644\)/);
      said.length = 0;
      await handOver(b);
      expect(lines()).to.deep.equal([b]);
      expect(mode(file)).to.equal(0o600);
      expect(said.join('\n')).to.match(/readable by others.*keys are dropped/);
    });

    it('lines that are no key are dropped when a key is added, even one already the newest', async () => {
      const [a, b] = keys(2) as [string, string];
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(file, `${a}\ngarbage\n`, { mode: 0o600 });
      await handOver(b);
      expect(lines()).to.deep.equal([a, b]);
      fs.writeFileSync(file, `${a}\nxyz\n${b}\n`);
      await handOver(b);
      expect(lines()).to.deep.equal([a, b]);
    });

    it('a file already holding the list it would get is left as it is (not rewritten)', async () => {
      const [a, b] = keys(2) as [string, string];
      await handOver(a);
      await handOver(b);
      const ino = fs.statSync(file).ino;
      await handOver(b);
      expect(fs.statSync(file).ino).to.equal(ino);
      await handOver(a);
      expect(fs.statSync(file).ino).to.not.equal(ino);
      expect(lines()).to.deep.equal([b, a]);
    });

    it('waits for another serve holding the key file lock; takes over a lock left by a dead one', async () => {
      const [a, b] = keys(2) as [string, string];
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const lock = `${file}.lock`;
      fs.mkdirSync(lock);
      let done = false;
      const p = handOver(a).then(() => (done = true));
      await new Promise((r) => setTimeout(r, 150));
      expect(done, 'waits while the lock is held').to.equal(false);
      fs.rmdirSync(lock);
      await p;
      expect(lines()).to.deep.equal([a]);
      fs.mkdirSync(lock);
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(lock, old, old);
      await handOver(b);
      expect(lines()).to.deep.equal([a, b]);
      expect(fs.existsSync(lock)).to.equal(false);
    });

    it('the daemon holds the whole list and re-reads it on reload (a bad or missing file keeps the old list)', () => {
      const [a, b, c] = keys(3) as [string, string, string];
      const f = path.join(dir, 'control.key');
      fs.writeFileSync(f, formatKeyList([a, b]), { mode: 0o600 });
      const log: string[] = [];
      const holder = controlKeyHolder(f, (m) => log.push(m));
      expect(holder.get()!.map(hexOf)).to.deep.equal([a, b]);
      expect(log.at(-1)).to.match(/one of the 2 control keys/);
      fs.writeFileSync(f, formatKeyList([a, b, c]));
      holder.reread();
      expect(holder.get()!.map(hexOf)).to.deep.equal([a, b, c]);
      expect(log.at(-1)).to.match(/now 3 control keys/);
      fs.rmSync(f);
      holder.reread();
      expect(holder.get()!.map(hexOf)).to.deep.equal([a, b, c]);
      expect(log.at(-1)).to.match(/old ones stay/);
    });
  });
});
