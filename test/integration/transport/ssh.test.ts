// The SSH and local transports against a real emulated cluster (instance 5, real sshd).
import { expect } from 'chai';
import { execa } from 'execa';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperationError } from '../../../src/common/errors.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import type { ProgressEvent } from '../../../src/protocol/agent.ts';
import { agentStarts, connectionStats, mapHosts, openTransport, resetConnectionStats } from '../../../src/transport/index.ts';
import type { HostTransport, TransportOptions } from '../../../src/transport/index.ts';
import { useEmulatedCluster } from '../../helpers/emulated.ts';

// "Agents" written in sh for protocol tests that must not depend on the real agent. Like an
// agent of a version without sessions, they refuse `agent session` at once (the transport then
// runs each op on its own). The echo agent echoes its argv and request back as the result,
// after two progress events.
const NO_SESSIONS = `[ "$2" = session ] && { echo '{"type":"result","ok":false,"error":{"message":"unknown agent op session"}}'; exit 2; }; `;
const ECHO_AGENT = [
  '/bin/sh',
  '-c',
  NO_SESSIONS +
  'read -r req; printf \'{"type":"progress","step":"one","done":1,"total":2}\\n\'; echo "not json"; ' +
    'printf \'{"type":"progress","step":"two","done":2,"total":2}\\n\'; ' +
    'printf \'{"type":"result","ok":true,"result":{"request":%s,"argc":%d,"op":"%s"}}\\n\' "$req" "$#" "$2"',
  'fake-agent',
];
const FAILING_AGENT = [
  '/bin/sh',
  '-c',
  NO_SESSIONS + 'cat >/dev/null; echo oops >&2; printf \'{"type":"result","ok":false,"error":{"message":"bridge br0 is busy","code":"EBUSY"}}\\n\'; exit 1',
  'fake-agent',
];

const HOSTILE = [
  "a'b; rm -rf /tmp/x $(id)",
  '$HOME `id` ${PATH} "quoted" \\back\\slash',
  "'",
  "''",
  '',
  ' leading and trailing ',
  'line\nbreak\ttab',
  '*?[a-z] ~ # ! & | ; < > ( ) { }',
  'ünïcødé ☃',
  '-n',
];

const opts: TransportOptions = { sshConfig: false, agentSocket: false };

describe('SSH transport (root, emulated cluster instance 5)', function () {
  this.timeout(60_000);
  const ec = useEmulatedCluster({ instance: 5, hosts: 2 });
  const open: HostTransport[] = [];
  let tmp: string;

  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ediv-transport-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function connect(host: ClusterHost, o: TransportOptions = {}): Promise<HostTransport> {
    const t = await openTransport(host, { ...opts, ...o });
    open.push(t);
    return t;
  }
  const withHost = (i: number, patch: Omit<Partial<ClusterHost>, 'ssh'> & { ssh?: Partial<ClusterHost['ssh']> } = {}): ClusterHost => {
    const h = ec.cluster.hosts[i]!;
    return { ...h, ...patch, ssh: { ...h.ssh, ...patch.ssh } };
  };

  it('runs commands inside each host namespace', async () => {
    for (const [i, h] of ec.cluster.hosts.entries()) {
      const t = await connect(h);
      const r = await t.exec(['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
      expect(r.exitCode).to.equal(0);
      expect(r.stdout).to.include(`${h.address}/24`);
      expect((await t.exec(['hostname'])).stdout.trim()).to.equal(`host${i + 1}`);
    }
  });

  it('passes hostile arguments through the remote shell exactly', async () => {
    const t = await connect(ec.cluster.hosts[0]!);
    const r = await t.exec(['printf', '%s', "a'b; rm -rf /tmp/x $(id)"]);
    expect(r.stdout).to.equal("a'b; rm -rf /tmp/x $(id)");
    // All at once, NUL-separated, so empty strings and newlines are visible.
    const all = await t.exec(['sh', '-c', 'printf "%s\\0" "$@"', 'sh', ...HOSTILE]);
    expect(all.stdout.split('\0').slice(0, -1)).to.deep.equal(HOSTILE);
  });

  it('reports exit status, stderr and feeds stdin', async () => {
    const t = await connect(ec.cluster.hosts[0]!);
    const r = await t.exec(['sh', '-c', 'cat; echo err >&2; exit 7'], { input: 'from stdin\n' });
    expect(r).to.deep.include({ stdout: 'from stdin\n', stderr: 'err\n', exitCode: 7 });
  });

  it('uses one connection per host for many operations, multiplexing channels', async () => {
    resetConnectionStats();
    const ts = await Promise.all(ec.cluster.hosts.map((h) => connect(h)));
    const outcomes = await mapHosts(ts, 2, (t) => Promise.all(Array.from({ length: 12 }, (_, j) => t.exec(['echo', String(j)]))));
    for (const o of outcomes) {
      expect(o.ok).to.equal(true);
      if (o.ok) expect(o.value.map((r) => r.stdout.trim())).to.deep.equal(Array.from({ length: 12 }, (_, j) => String(j)));
    }
    expect(connectionStats().perHost).to.deep.equal({ host1: 1, host2: 1 });
  });

  it('runAgent sends the request on stdin, streams progress and returns the result', async () => {
    const t = await connect(withHost(0, { agentCommand: ECHO_AGENT, agentStateDir: '/var/tmp/odd dir' }));
    const events: ProgressEvent[] = [];
    const req = { deployment: "it's", n: [1, 2] };
    const r = await t.runAgent<{ request: unknown; argc: number; op: string }>('status', req, (e) => events.push(e));
    expect(r.request).to.deep.equal(req);
    expect(r.op).to.equal('status');
    expect(r.argc).to.equal(4); // agent status --state-dir '<dir with a space>'
    expect(events.map((e) => [e.step, e.done])).to.deep.equal([['one', 1], ['two', 2]]);
  });

  it('runAgent throws an OperationError naming the host and carrying the agent error', async () => {
    const t = await connect(withHost(1, { agentCommand: FAILING_AGENT }));
    const err = await t.runAgent('apply', {}).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(OperationError);
    const e = err as OperationError;
    expect(e.host).to.equal('host2');
    expect(e.message).to.match(/^host2: agent apply failed: bridge br0 is busy/);
    expect(e.details).to.deep.equal({ message: 'bridge br0 is busy', code: 'EBUSY' });
  });

  it('runAgent on a host without ediv says so', async () => {
    const t = await connect(withHost(0, { agentCommand: ['/nonexistent/ediv'] }));
    const err = (await t.runAgent('facts', {}).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/host1: agent facts exited with status 127.*is ediv installed/s);
  });

  it('runs the real ediv agent (facts) inside each host namespace', async () => {
    const t = await connect(ec.cluster.hosts[1]!);
    const f = await t.runAgent<{ hostname: string; root: boolean; capabilities: { netns: boolean } }>('facts', {});
    expect(f.hostname).to.equal('host2');
    expect(f.root).to.equal(true);
    expect(f.capabilities.netns).to.equal(true);
  });

  it('runs a connection\'s agent ops in one agent process (ediv agent session), each with its own result', async () => {
    resetConnectionStats();
    const t = await connect(ec.cluster.hosts[1]!);
    const f = await t.runAgent<{ hostname: string }>('facts', {});
    expect(f.hostname).to.equal('host2');
    const st = await t.runAgent<{ deployments: unknown[] }>('status', { host: 'host2' });
    expect(st.deployments).to.be.an('array');
    const bad = (await t.runAgent('status', { host: 'host2', bogus: 1 }).catch((e: unknown) => e)) as OperationError;
    expect(bad.message).to.match(/^host2: agent status failed: .*bogus/);
    expect((await t.runAgent<{ hostname: string }>('facts', {})).hostname).to.equal('host2'); // a refused op leaves the session usable
    expect(agentStarts()).to.deep.equal({ host2: 1 });
    expect(connectionStats().perHost).to.deep.equal({ host2: 1 });
  });

  it('an agent without sessions runs each op on its own', async () => {
    resetConnectionStats();
    const t = await connect(withHost(0, { agentCommand: ECHO_AGENT }));
    for (const op of ['facts', 'status'] as const) expect((await t.runAgent<{ op: string }>(op, {})).op).to.equal(op);
    expect(agentStarts()).to.deep.equal({ host1: 3 }); // the refused session, then one per op
  });

  it('enforces the operation timeout and keeps the connection usable', async () => {
    resetConnectionStats();
    const t = await connect(ec.cluster.hosts[0]!);
    const t0 = Date.now();
    const err = (await t.exec(['sleep', '20'], { timeoutMs: 300 }).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/host1: sleep timed out/);
    expect(Date.now() - t0).to.be.lessThan(5000);
    expect((await t.exec(['echo', 'still here'])).stdout).to.equal('still here\n');
    expect(connectionStats().total).to.equal(1);
  });

  it('refuses an unknown host key, explaining how to accept it', async () => {
    const kh = path.join(tmp, 'empty_known_hosts');
    writeFileSync(kh, '');
    const err = (await connect(withHost(0, { ssh: { knownHosts: kh } })).catch((e: unknown) => e)) as OperationError;
    expect(err).to.be.instanceOf(OperationError);
    expect(err.host).to.equal('host1');
    expect(err.message).to.match(/host key of host1 \(198\.18\.5\.11\) is not known/);
    expect(err.message).to.include('--accept-new-host-keys').and.to.include('ssh-ed25519 SHA256:');
    expect(readFileSync(kh, 'utf8')).to.equal('');
  });

  it('accepts an unknown key with acceptNewHostKeys, records it, and then trusts it', async () => {
    const kh = path.join(tmp, 'accept_known_hosts');
    writeFileSync(kh, '# mine\n');
    const host = withHost(0, { ssh: { knownHosts: kh } });
    await connect(host, { acceptNewHostKeys: true });
    const pinned = readFileSync(ec.cluster.hosts[0]!.ssh.knownHosts!, 'utf8').split('\n').find((l) => l.startsWith('198.18.5.11 '))!;
    expect(readFileSync(kh, 'utf8')).to.equal(`# mine\n${pinned}\n`);
    const t = await connect(host); // without the option now
    expect((await t.exec(['hostname'])).stdout.trim()).to.equal('host1');
  });

  it('refuses a changed host key, even with acceptNewHostKeys', async () => {
    // Claim host1's address has host2's key.
    const pinned = readFileSync(ec.cluster.hosts[0]!.ssh.knownHosts!, 'utf8');
    const host2Key = pinned.split('\n').find((l) => l.startsWith('198.18.5.12 '))!.split(' ').slice(1).join(' ');
    const kh = path.join(tmp, 'changed_known_hosts');
    writeFileSync(kh, `198.18.5.11 ${host2Key}\n`);
    for (const acceptNewHostKeys of [false, true]) {
      const err = (await connect(withHost(0, { ssh: { knownHosts: kh } }), { acceptNewHostKeys }).catch((e: unknown) => e)) as Error;
      expect(err.message).to.match(/REFUSED: the SSH host key of host1 \(198\.18\.5\.11\) has CHANGED/);
      expect(err.message).to.include(`${kh}:1`).and.to.include('ssh-keygen -R');
    }
    expect(readFileSync(kh, 'utf8')).to.equal(`198.18.5.11 ${host2Key}\n`);
  });

  it('verifies against hashed known_hosts entries (ssh-keygen -H)', async () => {
    const kh = path.join(tmp, 'hashed_known_hosts');
    copyFileSync(ec.cluster.hosts[0]!.ssh.knownHosts!, kh);
    await execa('ssh-keygen', ['-H', '-f', kh]);
    expect(readFileSync(kh, 'utf8')).to.match(/^\|1\|/);
    const t = await connect(withHost(1, { ssh: { knownHosts: kh } }));
    expect((await t.exec(['hostname'])).stdout.trim()).to.equal('host2');
  });

  it('honours a ~/.ssh/config Host alias (HostName), verifying the key of the real address', async () => {
    const cfg = path.join(tmp, 'ssh_config');
    writeFileSync(cfg, 'Host other\n  HostName 192.0.2.99\n\nHost h2-alias\n  HostName 198.18.5.12\n  Port 22\n');
    const t = await connect(withHost(0, { address: 'h2-alias' }), { sshConfig: cfg });
    expect((await t.exec(['hostname'])).stdout.trim()).to.equal('host2');
  });

  it('reports a refused connection and a failed authentication, naming the host', async () => {
    const refused = (await connect(withHost(0, { ssh: { port: 2222 } })).catch((e: unknown) => e)) as Error;
    expect(refused.message).to.match(/^host1: cannot connect to root@198\.18\.5\.11:2222: .*ECONNREFUSED/);
    const key = path.join(tmp, 'stranger');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const denied = (await connect(withHost(1, { ssh: { identity: key } })).catch((e: unknown) => e)) as Error;
    expect(denied.message).to.match(/^host2: SSH authentication as root@198\.18\.5\.12:22 failed \(tried key .*stranger\)/);
  });
});

describe('local transport', function () {
  this.timeout(30_000);
  const local = (agentCommand: string[]): ClusterHost => ({
    name: 'ctl',
    address: '127.0.0.1',
    ssh: { user: 'root', port: 22 },
    trunk: 'lo',
    cpu: 100,
    labels: {},
    agentCommand,
    transport: 'local',
    driver: 'netns',
  });

  it('runs the agent command without a shell and parses its lines', async () => {
    const t = await openTransport(local(ECHO_AGENT));
    const events: string[] = [];
    const r = await t.runAgent<{ request: unknown; op: string; argc: number }>('facts', { a: "x'y" }, (e) => events.push(e.step));
    expect(r).to.deep.equal({ request: { a: "x'y" }, op: 'facts', argc: 2 });
    expect(events).to.deep.equal(['one', 'two']);
    const err = (await (await openTransport(local(FAILING_AGENT))).runAgent('destroy', {}).catch((e: unknown) => e)) as OperationError;
    expect(err.message).to.equal('ctl: agent destroy failed: bridge br0 is busy');
  });

  it('passes hostile arguments as they are', async () => {
    const t = await openTransport(local([]));
    const r = await t.exec(['printf', '%s\\0', ...HOSTILE]);
    expect(r.stdout.split('\0').slice(0, -1)).to.deep.equal(HOSTILE);
  });

  it('runs the real ediv agent', async () => {
    const agent = [process.execPath, path.resolve(import.meta.dirname, '../../../bin/ediv')];
    const t = await openTransport(local(agent));
    const f = await t.runAgent<{ hostname: string; cpus: number }>('facts', {});
    expect(f.hostname).to.equal(os.hostname());
    expect(f.cpus).to.equal(os.cpus().length);
  });
});
