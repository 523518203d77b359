import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  addKnownHost,
  checkHostKey,
  fingerprint,
  keyBlobType,
  knownHostName,
  knownKeyTypes,
  parseKnownHosts,
  patternListMatches,
  readKnownHostsFile,
} from '../../../src/transport/known-hosts.ts';

// Real ed25519 public keys; the hashed lines were written by `ssh-keygen -H` (OpenSSH 9.2)
// for "[10.0.0.5]:2222" and "host.example".
const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIEOODsuAUbGwiAXEo6gjWfJyfsQX5vGKy1Cjyb0ogguM';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIF8M52DI2LpUjsIV6LmEeh0NJyiy9mnshjYnr46LCEpc';
const HASHED_PORT = '|1|Y+4hw40obodjMxS6TqzeDmCnBN0=|TtkT1mr5/cH59xu7sPDrGpBDyno=';
const HASHED_NAME = '|1|s6ju8xGiobF0078NCD1sfj1T73k=|HyU718Yz+/2p8fH8Q1K0jge5CT0=';
const k1 = Buffer.from(K1, 'base64');
const k2 = Buffer.from(K2, 'base64');

describe('known_hosts', () => {
  it('parses plain, hashed, marked and commented lines with their line numbers', () => {
    const e = parseKnownHosts(
      [
        '# comment',
        '',
        `alpha,10.1.1.1 ssh-ed25519 ${K1} me@there`,
        `${HASHED_NAME} ssh-ed25519 ${K1}`,
        `@revoked * ssh-ed25519 ${K2}`,
        `@cert-authority *.example ssh-ed25519 ${K2}`,
        '@bogus x ssh-ed25519 AAAA',
        'garbage',
        'host ssh-ed25519 not*base64',
      ].join('\n'),
    );
    expect(e.map((x) => [x.line, x.marker, x.hosts])).to.deep.equal([
      [3, undefined, 'alpha,10.1.1.1'],
      [4, undefined, HASHED_NAME],
      [5, 'revoked', '*'],
      [6, 'cert-authority', '*.example'],
    ]);
    expect(e[0]!.key.equals(k1)).to.equal(true);
  });

  it('matches hashed entries written by ssh-keygen -H, including [host]:port', () => {
    const e = parseKnownHosts(`${HASHED_PORT} ssh-ed25519 ${K1}\n${HASHED_NAME} ssh-ed25519 ${K1}\n`);
    expect(checkHostKey(e, '10.0.0.5', 2222, k1).status).to.equal('ok');
    expect(checkHostKey(e, 'host.example', 22, k1).status).to.equal('ok');
    expect(checkHostKey(e, '10.0.0.5', 22, k1).status).to.equal('unknown'); // port matters
    expect(checkHostKey(e, 'HOST.example', 22, k1).status).to.equal('unknown'); // hashes are exact
    expect(checkHostKey(e, 'host.example', 22, k2).status).to.equal('changed');
  });

  it('names hosts as OpenSSH does for non-standard ports', () => {
    expect(knownHostName('h', 22)).to.equal('h');
    expect(knownHostName('h', 2222)).to.equal('[h]:2222');
    const e = parseKnownHosts(`[h]:2222 ssh-ed25519 ${K1}\nh ssh-ed25519 ${K2}\n`);
    expect(checkHostKey(e, 'h', 2222, k1).status).to.equal('ok');
    expect(checkHostKey(e, 'h', 22, k2).status).to.equal('ok');
    expect(checkHostKey(e, 'h', 22, k1).status).to.equal('changed');
  });

  it('matches wildcard and negated patterns, case-insensitively', () => {
    expect(patternListMatches('*.lab,!bad.lab', 'good.lab')).to.equal(true);
    expect(patternListMatches('*.lab,!bad.lab', 'bad.lab')).to.equal(false);
    expect(patternListMatches('10.0.0.?', '10.0.0.7')).to.equal(true);
    expect(patternListMatches('10.0.0.?', '10.0.0.17')).to.equal(false);
    expect(patternListMatches('Alpha', 'alpha')).to.equal(true);
    expect(patternListMatches('a.b', 'aXb')).to.equal(false); // '.' is literal
  });

  it('compares the whole key blob: a changed key is "changed", a revoked one "revoked"', () => {
    const e = parseKnownHosts(`alpha ssh-ed25519 ${K1}\n@revoked * ssh-ed25519 ${K2}\n`);
    expect(checkHostKey(e, 'alpha', 22, k1)).to.deep.include({ status: 'ok' });
    const changed = checkHostKey(e, 'alpha', 22, Buffer.concat([k1.subarray(0, -1), Buffer.from([k1.at(-1)! ^ 1])]));
    expect(changed.status).to.equal('changed');
    expect(checkHostKey(e, 'alpha', 22, k2).status).to.equal('revoked');
    expect(checkHostKey(e, 'beta', 22, k1).status).to.equal('unknown');
  });

  it('reads key types from blobs and lists the types known for a host', () => {
    expect(keyBlobType(k1)).to.equal('ssh-ed25519');
    expect(fingerprint(k1)).to.match(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const e = parseKnownHosts(`alpha ssh-ed25519 ${K1}\nbeta ssh-ed25519 ${K2}\n`);
    expect(knownKeyTypes(e, 'alpha', 22)).to.deep.equal(['ssh-ed25519']);
    expect(knownKeyTypes(e, 'gamma', 22)).to.deep.equal([]);
  });

  it('appends accepted keys as whole lines, after a file without a final newline', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-kh-'));
    try {
      const f = path.join(dir, 'sub', 'known_hosts');
      addKnownHost(f, 'alpha', 22, k1);
      writeFileSync(f, readFileSync(f, 'utf8') + '# no newline');
      addKnownHost(f, 'beta', 2200, k2);
      expect(readFileSync(f, 'utf8')).to.equal(`alpha ssh-ed25519 ${K1}\n# no newline\n[beta]:2200 ssh-ed25519 ${K2}\n`);
      const e = readKnownHostsFile(f);
      expect(checkHostKey(e, 'beta', 2200, k2).status).to.equal('ok');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
