// The SSH transport against an in-process ssh2 server on 127.0.0.1 (ssh-test-server.ts).
import { expect } from 'chai';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperationError } from '../../../src/common/errors.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import { SshTransport } from '../../../src/transport/ssh.ts';
import { connectionStats, resetConnectionStats } from '../../../src/transport/stats.ts';
import type { TransportOptions } from '../../../src/transport/types.ts';
import { clientFiles, newKeyPair, startTestServer, testHost } from './ssh-test-server.ts';
import type { ServerBehaviour, TestServer } from './ssh-test-server.ts';

const base: TransportOptions = { sshConfig: false, agentSocket: false, connectTimeoutMs: 5000 };

describe('SSH transport (in-process ssh2 server on 127.0.0.1)', function () {
  this.timeout(20_000);
  let files: ReturnType<typeof clientFiles>;
  let servers: TestServer[] = [];
  let transports: SshTransport[] = [];

  const realHome = process.env.HOME;

  beforeEach(() => {
    files = clientFiles();
    process.env.HOME = files.dir; // ~/.ssh is the scratch one: nothing reads or writes the real one
  });
  afterEach(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await Promise.all(servers.map((s) => s.close()));
    transports = [];
    servers = [];
    process.env.HOME = realHome;
    files.cleanup();
  });

  async function server(b: ServerBehaviour = {}): Promise<TestServer> {
    const s = await startTestServer(b);
    servers.push(s);
    return s;
  }
  function transport(host: ClusterHost, o: TransportOptions = {}): SshTransport {
    const t = new SshTransport(host, { ...base, ...o });
    transports.push(t);
    return t;
  }
  const pinned = (s: TestServer, ssh: Partial<ClusterHost['ssh']> = {}) =>
    testHost(s.port, { identity: files.identity, knownHosts: files.knownHosts, ...ssh });
  const recorded = (s: TestServer, key = s.hostKeyBlob) => `[127.0.0.1]:${s.port} ssh-ed25519 ${key.toString('base64')}\n`;
  const knownHostsText = () => (existsSync(files.knownHosts) ? readFileSync(files.knownHosts, 'utf8') : '');
  const failure = (p: Promise<unknown>) => p.then(() => expect.fail('expected a rejection'), (e: unknown) => e as OperationError);

  describe('accept-new records a key only once the connection is authenticated', () => {
    it('records the key of a server that completes the handshake and authentication, then trusts it', async () => {
      const s = await server();
      await transport(pinned(s), { acceptNewHostKeys: true }).connect();
      expect(knownHostsText()).to.equal(recorded(s));
      const r = await transport(pinned(s)).exec(['echo', 'hi']);
      expect(r.stdout).to.equal("'echo' 'hi'");
    });

    it('records nothing when the server rejects authentication', async () => {
      const s = await server({ auth: 'reject' });
      const err = await failure(transport(pinned(s), { acceptNewHostKeys: true }).connect());
      expect(err.message).to.match(/^h1: SSH authentication as root@127\.0\.0\.1:\d+ failed/);
      expect(knownHostsText()).to.equal('');
    });

    it('records nothing when the server closes after the key exchange', async () => {
      const s = await server({ closeAfterKex: true });
      const err = await failure(transport(pinned(s), { acceptNewHostKeys: true }).connect());
      expect(err).to.be.instanceOf(OperationError);
      expect(err.message).to.match(/^h1: cannot connect to root@127\.0\.0\.1:\d+: the server closed the connection before authentication completed$/);
      expect(knownHostsText()).to.equal('');
    });

    it('records nothing for a man in the middle presenting a key it does not hold', async () => {
      const s = await server({ presentKey: newKeyPair().private });
      const err = await failure(transport(pinned(s), { acceptNewHostKeys: true }).connect());
      expect(err.message).to.match(/^h1: cannot connect to root@127\.0\.0\.1:\d+: .*signature/i);
      expect(knownHostsText()).to.equal('');
    });

    it('refuses a server that changes its key at a re-key', async () => {
      const s = await server();
      const t = transport(pinned(s), { acceptNewHostKeys: true });
      expect((await t.exec(['a'])).exitCode).to.equal(0);
      s.switchHostKey();
      const conn = s.connections[0]!;
      const dropped = new Promise<void>((resolve) => conn.once('close', () => resolve()));
      conn.rekey();
      await dropped; // the client refused the new key and left
      const err = await failure(t.exec(['b'])); // reconnects, and is shown the new key again
      expect(err.message).to.match(/REFUSED: the SSH host key of h1 \(\[127\.0\.0\.1\]:\d+\) has CHANGED/);
      expect(knownHostsText()).to.equal(recorded(s));
    });
  });

  describe('host key files and identities', () => {
    it('refuses a changed key known under a HostKeyAlias, hashed and spelt in another case', async () => {
      const s = await server();
      const cfg = path.join(files.dir, 'ssh_config');
      writeFileSync(cfg, `Host lab\n  HostName 127.0.0.1\n  Port ${s.port}\n  HostKeyAlias Kofy.Lab\n`);
      const known = `${hashedName('kofy.lab')} ${newKeyPair().public}\n`;
      writeFileSync(files.knownHosts, known);
      const host = testHost(22, { identity: files.identity, knownHosts: files.knownHosts }, 'lab');
      const err = await failure(transport(host, { sshConfig: cfg, acceptNewHostKeys: true }).connect());
      expect(err.message).to.match(/REFUSED: the SSH host key of h1 \(Kofy\.Lab\) has CHANGED/);
      expect(knownHostsText()).to.equal(known);
    });

    it('looks keys up in the UserKnownHostsFile of the matching ssh config block', async () => {
      const s = await server();
      const userFile = path.join(files.dir, 'user_known_hosts');
      writeFileSync(userFile, `[127.0.0.1]:${s.port} ${newKeyPair().public}\n`);
      const cfg = path.join(files.dir, 'ssh_config');
      writeFileSync(cfg, `Host lab\n  HostName 127.0.0.1\n  Port ${s.port}\n  UserKnownHostsFile ${userFile}\n`);
      const host = testHost(22, { identity: files.identity }, 'lab');
      const err = await failure(transport(host, { sshConfig: cfg, acceptNewHostKeys: true }).connect());
      expect(err.message).to.include('has CHANGED').and.to.include(`${userFile}:1`);
    });

    it('refuses ProxyCommand from ssh config instead of connecting directly, naming file and line', async () => {
      const cfg = path.join(files.dir, 'ssh_config');
      writeFileSync(cfg, 'Host lab\n  HostName 127.0.0.1\n  ProxyCommand nc %h %p\n');
      const err = await failure(transport(testHost(22, {}, 'lab'), { sshConfig: cfg }).connect());
      expect(err.message).to.equal(
        `h1: cannot connect to root@lab:22: ${cfg}:3: ProxyCommand nc %h %p: ediv never runs a command from an ssh config file (docs/security.md); use ProxyJump`,
      );
    });

    it('refuses an identity file from the cluster file that others can read', async () => {
      const s = await server();
      chmodSync(files.identity, 0o644);
      const err = await failure(transport(pinned(s)).connect());
      expect(err.message).to.equal(
        `h1: identity file ${files.identity} (from the cluster file) is not used: its permissions 0644 are too open: ` +
          `a private key must be accessible by its owner only (chmod 600 ${files.identity})`,
      );
      expect(s.connections).to.have.length(0);
    });

    it('skips a default identity that others can read, and says so when authentication fails', async () => {
      const s = await server({ auth: 'reject' });
      chmodSync(files.identity, 0o640);
      const cfg = path.join(files.dir, 'ssh_config');
      writeFileSync(cfg, `Host lab\n  HostName 127.0.0.1\n  Port ${s.port}\n  IdentityFile ${files.identity}\n`);
      writeFileSync(files.knownHosts, recorded(s));
      const host = testHost(22, { knownHosts: files.knownHosts }, 'lab');
      const err = await failure(transport(host, { sshConfig: cfg }).connect());
      expect(err.message).to.include('tried no key').and.to.include(`skipped ${files.identity}: its permissions 0640 are too open`);
    });

    it('refuses a known_hosts file that others can write', async () => {
      const s = await server();
      writeFileSync(files.knownHosts, recorded(s));
      chmodSync(files.knownHosts, 0o646);
      const err = await failure(transport(pinned(s)).connect());
      expect(err.message).to.match(/^h1: known_hosts file .* is not used: it is writable by others \(permissions 0646\)/);
      expect(s.connections).to.have.length(0);
    });
  });

  it('reads the exit status of a command that exits at once (it can come with the channel confirmation)', async () => {
    const s = await server();
    writeFileSync(files.knownHosts, recorded(s));
    const t = transport(pinned(s));
    for (let i = 0; i < 5; i++) expect(await t.exec(['true'])).to.deep.include({ exitCode: 0 });
  });

  it('fails in-flight work, not the process, when the protocol breaks right after authentication', async () => {
    const s = await server({ garbageAfterAuth: true });
    writeFileSync(files.knownHosts, recorded(s));
    const t = transport(pinned(s));
    const err = await t.connect().then(() => t.exec(['x'])).then(() => expect.fail('expected a rejection'), (e: unknown) => e as Error);
    expect(err.message).to.match(/^h1: /);
  });

  describe('ProxyJump (jump hosts through ssh2 forwarding)', () => {
    /** An ssh config that reaches `lab` (the target server) through the given jump servers. */
    const jumpConfig = (target: TestServer, jumps: [string, TestServer][], proxyJump = jumps.map(([n]) => n).join(',')) => {
      const cfg = path.join(files.dir, 'ssh_config');
      const lines = [`Host lab`, `  HostName 127.0.0.1`, `  Port ${target.port}`, `  ProxyJump ${proxyJump}`];
      for (const [name, s] of jumps) lines.push(`Host ${name}`, '  HostName 127.0.0.1', `  Port ${s.port}`, `  IdentityFile ${files.identity}`);
      writeFileSync(cfg, lines.join('\n') + '\n');
      return cfg;
    };
    const lab = (ssh: Partial<ClusterHost['ssh']> = {}) => testHost(22, { identity: files.identity, knownHosts: files.knownHosts, ...ssh }, 'lab');
    const closedSoon = async (s: TestServer, n: number) => {
      for (let i = 0; i < 100 && s.closed.length < n; i++) await new Promise((r) => setTimeout(r, 20));
      return s.closed.length;
    };

    it('connects through a jump host, verifying both keys; counts one connection; close ends both', async () => {
      const [bastion, target] = [await server({ forwarding: 'allow' }), await server()];
      writeFileSync(files.knownHosts, recorded(bastion) + recorded(target));
      resetConnectionStats();
      const t = transport(lab(), { sshConfig: jumpConfig(target, [['bastion', bastion]]) });
      expect(t.target.jumps.map((j) => `${j.name} ${j.user}@${j.hostName}:${j.port}`)).to.deep.equal([`bastion ${os.userInfo().username}@127.0.0.1:${bastion.port}`]);
      expect((await t.exec(['echo', 'hi'])).stdout).to.equal("'echo' 'hi'");
      expect(bastion.forwards).to.deep.equal([`127.0.0.1:${target.port}`]);
      expect([bastion.connections.length, target.connections.length]).to.deep.equal([1, 1]);
      expect(connectionStats().perHost).to.deep.equal({ h1: 1 });
      await t.close();
      expect([await closedSoon(target, 1), await closedSoon(bastion, 1)]).to.deep.equal([1, 1]);
    });

    it('goes through two jump hosts in order', async () => {
      const [j1, j2, target] = [await server({ forwarding: 'allow' }), await server({ forwarding: 'allow' }), await server()];
      writeFileSync(files.knownHosts, recorded(j1) + recorded(j2) + recorded(target));
      const t = transport(lab(), { sshConfig: jumpConfig(target, [['j1', j1], ['j2', j2]]) });
      expect((await t.exec(['x'])).exitCode).to.equal(0);
      expect(j1.forwards).to.deep.equal([`127.0.0.1:${j2.port}`]);
      expect(j2.forwards).to.deep.equal([`127.0.0.1:${target.port}`]);
      await t.close();
      expect([await closedSoon(target, 1), await closedSoon(j2, 1), await closedSoon(j1, 1)]).to.deep.equal([1, 1, 1]);
    });

    it('refuses an unknown jump host key before reaching the host', async () => {
      const [bastion, target] = [await server({ forwarding: 'allow' }), await server()];
      writeFileSync(files.knownHosts, recorded(target));
      const err = await failure(transport(lab(), { sshConfig: jumpConfig(target, [['bastion', bastion]]) }).connect());
      expect(err.message).to.match(new RegExp(`^h1: jump host bastion: the SSH host key of bastion \\(\\[127\\.0\\.0\\.1\\]:${bastion.port}\\) is not known`));
      expect(err.host).to.equal('h1');
      expect(target.connections).to.have.length(0);
    });

    it('refuses a changed key of the host behind the jump host, naming the way', async () => {
      const [bastion, target] = [await server({ forwarding: 'allow' }), await server()];
      writeFileSync(files.knownHosts, recorded(bastion) + recorded(target, Buffer.from(newKeyPair().public.split(' ')[1]!, 'base64')));
      const err = await failure(transport(lab(), { sshConfig: jumpConfig(target, [['bastion', bastion]]), acceptNewHostKeys: true }).connect());
      expect(err.message).to.match(/^h1 via bastion: REFUSED: the SSH host key of h1 \(\[127\.0\.0\.1\]:\d+\) has CHANGED/);
      expect(await closedSoon(bastion, 1)).to.equal(1); // the jump connection is not left open
    });

    it('says which jump host could not reach the next hop', async () => {
      const [j1, j2, target] = [await server({ forwarding: 'allow' }), await server({ forwarding: 'reject' }), await server()];
      writeFileSync(files.knownHosts, recorded(j1) + recorded(j2) + recorded(target));
      const err = await failure(transport(lab(), { sshConfig: jumpConfig(target, [['j1', j1], ['j2', j2]]) }).connect());
      expect(err.message).to.match(new RegExp(`^h1 via j1, j2: jump host j2 could not connect to 127\\.0\\.0\\.1:${target.port}: `));
      expect(target.connections).to.have.length(0);
      expect([await closedSoon(j2, 1), await closedSoon(j1, 1)]).to.deep.equal([1, 1]);
    });

    it('records new keys of every hop with acceptNewHostKeys, once each is authenticated', async () => {
      const [bastion, target] = [await server({ forwarding: 'allow' }), await server()];
      const t = transport(lab(), { sshConfig: jumpConfig(target, [['bastion', bastion]]), acceptNewHostKeys: true });
      await t.connect();
      expect(knownHostsText()).to.equal(recorded(bastion) + recorded(target));
    });

    it('drops the host connection when the jump connection goes, and reconnects through it', async () => {
      const [bastion, target] = [await server({ forwarding: 'allow' }), await server()];
      writeFileSync(files.knownHosts, recorded(bastion) + recorded(target));
      resetConnectionStats();
      const t = transport(lab(), { sshConfig: jumpConfig(target, [['bastion', bastion]]) });
      await t.exec(['one']);
      bastion.connections[0]!.end();
      expect(await closedSoon(target, 1)).to.equal(1);
      expect((await t.exec(['two'])).stdout).to.equal("'two'");
      expect(bastion.connections).to.have.length(2);
      expect(connectionStats().perHost).to.deep.equal({ h1: 2 });
    });
  });

  describe('a server that does not answer', () => {
    it('bounds the wait for a channel by connectTimeoutMs', async () => {
      const s = await server({ sessions: 'hang' });
      writeFileSync(files.knownHosts, recorded(s));
      const t = transport(pinned(s), { connectTimeoutMs: 300 });
      await t.connect();
      const t0 = Date.now();
      const err = await failure(t.exec(['x']));
      expect(err.message).to.equal('h1: x: no answer to opening an SSH channel after 0 s');
      expect(Date.now() - t0).to.be.below(3000);
    });

    it('gives back the channel slot of a killed command whose close is never confirmed', async () => {
      const s = await server({ ignoreChannelClose: true, onExec: () => {} });
      writeFileSync(files.knownHosts, recorded(s));
      const t = transport(pinned(s), { maxChannels: 1 });
      const err = await failure(t.exec(['sleep'], { timeoutMs: 100 }));
      expect(err.message).to.equal('h1: sleep timed out after 0 s');
      // The only slot is back after the grace period, and the next call gets a channel.
      const next = await failure(t.exec(['again'], { timeoutMs: 200 }));
      expect(next.message).to.equal('h1: again timed out after 0 s');
    });
  });
});

/** A hashed known_hosts name, as `ssh-keygen -H` writes it. */
function hashedName(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}
