// `ediv cluster up/down/status` for real: namespaces, bridge, sshd per host (instance 5).
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadCluster } from '../../../src/controller/cluster.ts';
import { clusterDown, clusterStatus, clusterUp } from '../../../src/emulated/cluster.ts';
import type { ClusterUpResult } from '../../../src/emulated/cluster.ts';
import { readManifest } from '../../../src/emulated/manifest.ts';
import { emulatedCluster } from '../../../src/emulated/layout.ts';
import { edivRoot } from '../../../src/common/paths.ts';
import { openTransport } from '../../../src/transport/index.ts';
import { emulatedLeftovers, isRoot, removeStaleInstance } from '../../helpers/emulated.ts';
import { pidAlive } from '../../../src/common/process.ts';

const K = 5;
const node = process.execPath;

function tcpAnswers(host: string, port: number): Promise<string> {
  // sshd greets first: read its identification line.
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    s.setTimeout(3000, () => (s.destroy(), reject(new Error('timeout'))));
    s.once('data', (d) => (s.destroy(), resolve(d.toString())));
    s.once('error', reject);
  });
}


describe('emulated cluster (root, instance 5)', function () {
  this.timeout(60_000);
  let dir: string;
  let up: ClusterUpResult;

  before(async function () {
    if (!isRoot()) this.skip();
    await removeStaleInstance(K);
    dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'ediv5-ec-')), 'cluster');
    up = await clusterUp({ hosts: 2, instance: K, dir });
  });

  after(async function () {
    if (!dir) return;
    await clusterDown({ instance: K, dir }).catch(() => {});
    rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('creates a namespace per host with its management address, behind the bridge', async () => {
    expect(up.alreadyUp).to.equal(false);
    const ns = (await execa('ip', ['netns', 'list'])).stdout;
    expect(ns).to.match(/^ediv5-host1\b/m).and.to.match(/^ediv5-host2\b/m);
    const br = (await execa('ip', ['-o', '-4', 'addr', 'show', 'dev', 'edivbr5'])).stdout;
    expect(br).to.include('198.18.5.1/24');
    for (const [i, addr] of [[1, '198.18.5.11'], [2, '198.18.5.12']] as const) {
      const a = (await execa('ip', ['-n', `ediv5-host${i}`, '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout;
      expect(a).to.include(`${addr}/24`);
      const lo = (await execa('ip', ['-n', `ediv5-host${i}`, '-o', 'link', 'show', 'dev', 'lo'])).stdout;
      expect(lo).to.match(/[<,]UP[,>]/);
      const port = (await execa('ip', ['-o', 'link', 'show', 'dev', `ediv5h${i}`])).stdout;
      expect(port).to.include('master edivbr5');
    }
  });

  it('runs an OpenSSH server on each management address only', async () => {
    for (const h of up.hosts) {
      expect(await tcpAnswers(h.address, 22)).to.match(/^SSH-2\.0-OpenSSH/);
      expect(h.sshd).to.be.a('number');
      // The server is inside the host's namespace: the namespace's pid list holds it.
      const pids = (await execa('ip', ['netns', 'pids', h.netns])).stdout.split(/\s+/).map(Number);
      expect(pids).to.include(h.sshd);
    }
    // Not on the controller's address: nothing listens there on 22 for this cluster.
    const conf = readFileSync(path.join(dir, 'hosts', 'host1', 'sshd_config'), 'utf8');
    expect(conf).to.match(/^ListenAddress 198\.18\.5\.11:22$/m).and.to.match(/^PasswordAuthentication no$/m);
  });

  it('accepts the generated key with the pinned known_hosts (OpenSSH client, strict checking)', async () => {
    const r = await execa('ssh', [
      '-i', path.join(dir, 'id_ed25519'),
      '-o', `UserKnownHostsFile=${path.join(dir, 'known_hosts')}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-F', '/dev/null',
      'root@198.18.5.12', 'hostname; ip -o -4 addr show dev eth0',
    ]);
    expect(r.stdout).to.match(/^host2$/m).and.to.include('198.18.5.12/24');
  });

  it('writes a cluster file the cluster loader accepts, matching the layout', async () => {
    const c = await loadCluster(up.clusterFile);
    const want = emulatedCluster(2, dir, K);
    expect(c.hosts.map((h) => [h.name, h.address, h.ssh.identity, h.ssh.knownHosts, h.agentStateDir])).to.deep.equal(
      want.hosts.map((h) => [h.name, h.address, h.ssh.identity, h.ssh.knownHosts, h.agentStateDir]),
    );
    expect(c.hosts[0]!.agentCommand).to.deep.equal([process.execPath, path.join(edivRoot, 'bin', 'ediv')]);
    expect(c.backplane).to.equal('vxlan'); // this kernel has no 8021q
    expect(c.management.interface).to.equal('edivbr5');
  });

  it('status reports every host up', async () => {
    const s = await clusterStatus({ instance: K, dir });
    expect(s.up).to.equal(true);
    expect(s.hosts.map((h) => [h.name, h.address, h.up])).to.deep.equal([
      ['host1', '198.18.5.11', true],
      ['host2', '198.18.5.12', true],
    ]);
    expect(s.mgmtInterface).to.equal('edivbr5');
  });

  it('status --json through the CLI gives hosts, mgmtInterface and clusterFile', async () => {
    const r = await execa(node, [path.join(edivRoot, 'bin', 'ediv'), 'cluster', 'status', '--instance', '5', '--dir', dir, '--json'], {
      reject: false,
    });
    expect(r.exitCode, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout) as { hosts: { name: string; address: string; up: boolean; sshd: number }[]; mgmtInterface: string; clusterFile: string };
    expect(j.hosts.map((h) => h.name)).to.deep.equal(['host1', 'host2']);
    expect(j.hosts.every((h) => h.up && typeof h.sshd === 'number')).to.equal(true);
    expect(j.mgmtInterface).to.equal('edivbr5');
    expect(j.clusterFile).to.equal(path.join(dir, 'cluster.yaml'));
  });

  it('up again with the same N is a no-op; with another N it refuses', async () => {
    const pidsBefore = up.hosts.map((h) => h.sshd);
    const again = await clusterUp({ hosts: 2, instance: K, dir });
    expect(again.alreadyUp).to.equal(true);
    expect(again.hosts.map((h) => h.sshd)).to.deep.equal(pidsBefore);
    let err: Error | undefined;
    await clusterUp({ hosts: 3, instance: K, dir }).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/already up with 2 hosts/);
  });

  it('up repairs a host whose sshd died', async () => {
    const victim = up.hosts[1]!.sshd!;
    process.kill(victim, 'SIGKILL');
    for (let i = 0; i < 50 && pidAlive(victim); i++) await new Promise((r) => setTimeout(r, 20));
    expect((await clusterStatus({ instance: K, dir })).up).to.equal(false);
    const r = await clusterUp({ hosts: 2, instance: K, dir });
    expect(r.alreadyUp).to.equal(false);
    expect(r.up).to.equal(true);
    expect(r.hosts[1]!.sshd).to.not.equal(victim);
    up = r;
  });

  it('refuses without root, saying why', async () => {
    const script = `import { clusterUp } from ${JSON.stringify(path.join(edivRoot, 'src/emulated/cluster.ts'))};
      try { await clusterUp({ hosts: 1, instance: 5, dir: '/nonexistent/ediv5' }); } catch (e) { console.log(e.name + ': ' + e.message); process.exit(e.exitCode ?? 3); }`;
    const r = await execa(node, ['--input-type=module', '-e', script], { uid: 65534, gid: 65534, reject: false, cwd: '/' });
    expect(r.stdout).to.match(/OperationError: .*needs root/);
    expect(r.exitCode).to.equal(1);
  });

  it('down removes every namespace, link, process and generated file; a second down succeeds', async () => {
    const pids = up.hosts.map((h) => h.sshd!);
    const made = readManifest(dir)!.resources.filter((r) => r.kind === 'path').map((r) => (r as { path: string }).path);
    expect(made.length).to.be.greaterThan(3);
    const r = await clusterDown({ instance: K, dir });
    expect(r.removed).to.include('netns ediv5-host1');
    expect(await emulatedLeftovers(K)).to.deep.equal([]);
    for (const pid of pids) expect(pidAlive(pid), `sshd ${pid}`).to.equal(false);
    for (const p of made) expect(existsSync(p), p).to.equal(false);
    expect(existsSync(dir)).to.equal(false); // up created it, down removed it
    expect(readdirSync(path.dirname(dir))).to.deep.equal([]);
    await clusterDown({ instance: K, dir }); // nothing left: still fine
  });

  it('down without a manifest (lost in a crash) still removes the instance by its names', async () => {
    await clusterUp({ hosts: 1, instance: K, dir });
    const pid = (await clusterStatus({ instance: K, dir })).hosts[0]!.sshd!;
    rmSync(path.join(dir, 'manifest.json'));
    await clusterDown({ instance: K, dir });
    expect(await emulatedLeftovers(K)).to.deep.equal([]);
    expect(pidAlive(pid)).to.equal(false); // killed as a process inside the host namespace
  });

  it('VM namespaces the agent makes over SSH are machine-wide, and down destroys deployments left on its hosts', async () => {
    await clusterUp({ hosts: 1, instance: K, dir });
    const host = emulatedCluster(1, dir, K).hosts[0]!;
    const t = await openTransport(host, { sshConfig: false, agentSocket: false });
    try {
      await t.runAgent('apply', { deployment: 'ediv5left', host: 'host1', fragmentXml: FRAGMENT, backplane: [] });
    } finally {
      await t.close();
    }
    const vmNs = () => readdirSync('/run/netns').filter((n) => n.startsWith('ediv5left.'));
    expect(vmNs()).to.have.length(2); // seen from the root namespace, not hidden in sshd's mount namespace
    const r = await clusterDown({ instance: K, dir });
    expect(r.removed).to.include('deployment host1/ediv5left');
    expect(vmNs()).to.deep.equal([]);
    expect(await emulatedLeftovers(K)).to.deep.equal([]);
  });
});

const FRAGMENT = `<?xml version="1.0" encoding="UTF-8"?>
<vnx>
  <global><version>2.0</version><scenario_name>ediv5left</scenario_name><automac/><vm_mgmt type="none"/></global>
  <net name="Net0" mode="virtual_bridge"/>
  <vm name="a" type="lxc"><if id="1" net="Net0"><ipv4>10.5.0.1/24</ipv4></if></vm>
  <vm name="b" type="lxc"><if id="1" net="Net0"><ipv4>10.5.0.2/24</ipv4></if></vm>
</vnx>
`;
