import { expect } from 'chai';
import { createECDH, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
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
  lookupNames,
  parseKnownHosts,
  patternListMatches,
  readKnownHostsFile,
} from '../../../src/transport/known-hosts.ts';
import { hostKeyRefusal, loadKnownHosts, verifyHostKey } from '../../../src/transport/host-key-check.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import { keyIdentity, sameKey } from '../../../src/transport/key-identity.ts';

// Real ed25519 public keys; the hashed lines were written by `ssh-keygen -H` (OpenSSH 9.2)
// for "[10.0.0.5]:2222" and "host.example".
const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIEOODsuAUbGwiAXEo6gjWfJyfsQX5vGKy1Cjyb0ogguM';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIF8M52DI2LpUjsIV6LmEeh0NJyiy9mnshjYnr46LCEpc';
const HASHED_PORT = '|1|Y+4hw40obodjMxS6TqzeDmCnBN0=|TtkT1mr5/cH59xu7sPDrGpBDyno=';
const HASHED_NAME = '|1|s6ju8xGiobF0078NCD1sfj1T73k=|HyU718Yz+/2p8fH8Q1K0jge5CT0=';
const k1 = Buffer.from(K1, 'base64');
const k2 = Buffer.from(K2, 'base64');

/** A hashed known_hosts name, as `ssh-keygen -H` writes it (checked against HASHED_NAME below). */
function hashed(name: string, salt = randomBytes(20)): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

/** SSH wire-format public key blob from its strings. */
function blob(...parts: Buffer[]): Buffer {
  return Buffer.concat(
    parts.flatMap((p) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(p.length);
      return [len, p];
    }),
  );
}

/** One ECDSA key as OpenSSH writes it (uncompressed point) and compressed. */
function ecdsaBlobs(): { uncompressed: Buffer; compressed: Buffer } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const enc = (q: Buffer) => blob(Buffer.from('ecdsa-sha2-nistp256'), Buffer.from('nistp256'), q);
  return { uncompressed: enc(ecdh.getPublicKey(null, 'uncompressed')), compressed: enc(ecdh.getPublicKey(null, 'compressed')) };
}

/** One RSA key with a minimal modulus encoding and with extra leading zero bytes. */
function rsaBlobs(): { minimal: Buffer; padded: Buffer } {
  const jwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
  const e = Buffer.from(jwk.e!, 'base64url');
  const n = Buffer.concat([Buffer.from([0]), Buffer.from(jwk.n!, 'base64url')]); // an mpint: leading 0 as the top bit is set
  return { minimal: blob(Buffer.from('ssh-rsa'), e, n), padded: blob(Buffer.from('ssh-rsa'), e, Buffer.concat([Buffer.from([0, 0]), n])) };
}

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

  it('hashes names as ssh-keygen -H does', () => {
    const salt = Buffer.from(HASHED_NAME.split('|')[2]!, 'base64');
    expect(hashed('host.example', salt)).to.equal(HASHED_NAME);
  });

  it('matches hashed entries written by ssh-keygen -H, including [host]:port', () => {
    const e = parseKnownHosts(`${HASHED_PORT} ssh-ed25519 ${K1}\n${HASHED_NAME} ssh-ed25519 ${K1}\n`);
    expect(checkHostKey(e, '10.0.0.5', 2222, k1).status).to.equal('ok');
    expect(checkHostKey(e, 'host.example', 22, k1).status).to.equal('ok');
    expect(checkHostKey(e, '10.0.0.5', 22, k1).status).to.equal('unknown'); // port matters
    expect(checkHostKey(e, 'host.example', 22, k2).status).to.equal('changed');
  });

  it('looks hashed entries up under the lower-cased name, as OpenSSH hashes it', () => {
    const e = parseKnownHosts(`${HASHED_PORT} ssh-ed25519 ${K1}\n${HASHED_NAME} ssh-ed25519 ${K1}\n`);
    expect(checkHostKey(e, 'HOST.Example', 22, k1).status).to.equal('ok');
    expect(checkHostKey(e, 'HOST.Example', 22, k2).status).to.equal('changed'); // not "unknown": accept-new would add it
    expect(checkHostKey(e, 'host.example.', 22, k2).status).to.equal('changed');
    const kofy = parseKnownHosts(`${hashed('kofy.lab')} ssh-ed25519 ${K1}\n${hashed('[kofy.lab]:2200')} ssh-ed25519 ${K1}\n`);
    expect(checkHostKey(kofy, 'Kofy.Lab', 22, k2).status).to.equal('changed');
    expect(checkHostKey(kofy, 'KOFY.LAB', 2200, k2).status).to.equal('changed');
    expect(checkHostKey(kofy, 'Kofy.Lab', 2201, k2).status).to.equal('unknown');
  });

  it('finds a host under every spelling: trailing dot, IPv6 forms, [host]:22', () => {
    const plain = parseKnownHosts(
      [`kofy.lab ssh-ed25519 ${K1}`, `dot.lab. ssh-ed25519 ${K1}`, `2001:db8::1 ssh-ed25519 ${K1}`, `[fe80::1%eth0]:2222 ssh-ed25519 ${K1}`, `[bracket.lab]:22 ssh-ed25519 ${K1}`].join('\n'),
    );
    for (const [host, port] of [
      ['kofy.lab.', 22],
      ['dot.lab', 22],
      ['2001:DB8:0:0:0:0:0:1', 22],
      ['2001:0db8::0001', 22],
      ['FE80::0:1%eth0', 2222],
      ['bracket.lab', 22],
    ] as const) {
      expect(checkHostKey(plain, host, port, k1).status, `${host} ${port}`).to.equal('ok');
      expect(checkHostKey(plain, host, port, k2).status, `${host} ${port}`).to.equal('changed');
    }
    const hashedV6 = parseKnownHosts(`${hashed('2001:db8::1')} ssh-ed25519 ${K1}\n`);
    expect(checkHostKey(hashedV6, '2001:0DB8::1', 22, k2).status).to.equal('changed');
    expect(lookupNames('Kofy.Lab.', 22)).to.deep.equal(['kofy.lab', '[kofy.lab]:22', 'kofy.lab.', '[kofy.lab.]:22']);
  });

  it('applies a negated pattern to every spelling of the name', () => {
    const e = parseKnownHosts(`*,!bad.lab ssh-ed25519 ${K1}\n`);
    expect(checkHostKey(e, 'good.lab', 22, k2).status).to.equal('changed');
    for (const spelling of ['bad.lab', 'BAD.lab', 'bad.lab.']) expect(checkHostKey(e, spelling, 22, k2).status, spelling).to.equal('unknown');
  });

  it('recognises a known or @revoked key in another encoding of the same key', () => {
    const ec = ecdsaBlobs();
    const e = parseKnownHosts(`alpha ecdsa-sha2-nistp256 ${ec.uncompressed.toString('base64')}\n`);
    expect(checkHostKey(e, 'alpha', 22, ec.compressed).status).to.equal('ok');
    const revoked = parseKnownHosts(`@revoked nothing-matches-this ecdsa-sha2-nistp256 ${ec.uncompressed.toString('base64')}\n`);
    expect(checkHostKey(revoked, 'beta', 22, ec.compressed).status).to.equal('revoked');
    const rsa = rsaBlobs();
    const r = parseKnownHosts(`@revoked * ssh-rsa ${rsa.minimal.toString('base64')}\n`);
    expect(checkHostKey(r, 'gamma', 22, rsa.padded).status).to.equal('revoked');
    expect(checkHostKey(r, 'gamma', 22, Buffer.concat([rsa.minimal, Buffer.from([0, 0, 0, 0])])).status).to.equal('revoked'); // trailing bytes
    expect(keyIdentity(ec.compressed)).to.not.equal(keyIdentity(rsa.minimal));
    expect(sameKey(k1, k2)).to.equal(false);
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
      addKnownHost(f, 'Gamma.Lab', 22, k2);
      expect(readFileSync(f, 'utf8')).to.equal(`alpha ssh-ed25519 ${K1}\n# no newline\n[beta]:2200 ssh-ed25519 ${K2}\ngamma.lab ssh-ed25519 ${K2}\n`);
      const e = readKnownHostsFile(f);
      expect(checkHostKey(e, 'beta', 2200, k2).status).to.equal('ok');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a host vouched for only by a @cert-authority line', () => {
  it('is refused with a message that says certificates are not checked and what to add', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-kh-ca-'));
    try {
      const file = path.join(dir, 'known_hosts');
      writeFileSync(file, `# site CA\n@cert-authority *.lab.example ssh-ed25519 ${K2}\n`);
      const t = { name: 'n1', hostName: 'n1.lab.example', port: 22, user: 'root', identities: [], knownHosts: [file], keyHost: 'n1.lab.example', keyPort: 22, jumps: [] };
      const d = verifyHostKey(t, loadKnownHosts(t), Buffer.from(K1, 'base64'), true);
      expect(d.accept, 'the CA line is no key of the host: unknown, so accept-new may record the plain key').to.equal(true);
      const refused = verifyHostKey(t, loadKnownHosts(t), Buffer.from(K1, 'base64'), false);
      expect(refused.accept).to.equal(false);
      const msg = hostKeyRefusal({ name: 'n1' } as ClusterHost, t, refused);
      expect(msg).to.include(`vouched for only by a @cert-authority line (${file}:2)`);
      expect(msg).to.match(/ediv cannot check host certificates: its SSH library \(ssh2\) does not negotiate certificate host keys/);
      expect(msg).to.include('Set ssh.client: openssh for the host');
      expect(msg).to.include(`ssh-keyscan n1.lab.example >> ${file}`);
      const other = { ...t, hostName: 'n1.elsewhere', keyHost: 'n1.elsewhere' };
      expect(hostKeyRefusal({ name: 'n1' } as ClusterHost, other, verifyHostKey(other, loadKnownHosts(other), Buffer.from(K1, 'base64'), false))).to.match(/is not known: it presented/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
