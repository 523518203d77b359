// ProxyJump against real OpenSSH servers (root; emulated cluster instance 41). Run under the
// shared namespace lock: `flock /tmp/ediv-ns.lock npx mocha test/integration/transport/proxy-jump.test.ts`.
//
// host1 is the bastion. Two hosts are reachable only through it: "hidden2", an sshd of ours in
// host2's namespace listening only on a private veth link between host1 and host2, and
// "hidden3", one in host3's namespace on a link between host2 and host3 (so: bastion, then
// hidden2, then hidden3). The private links use 198.18.41.128/26 and .192/26, inside the
// cluster's own 198.18.41.0/24: the controller's route for them is the cluster bridge, so a
// direct attempt stays on that bridge (no host answers for those addresses there: arp_ignore=1
// in the host namespaces) and never leaves the machine by its default route.
import { expect } from 'chai';
import { execa } from 'execa';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edivBin } from '../../../src/common/paths.ts';
import { pidAlive } from '../../../src/common/process.ts';
import { emulatedHostNamespace } from '../../../src/emulated/layout.ts';
import { ensureKey, isOurSshd, killPid, sshdFiles, startSshd, writeSshdConfig } from '../../../src/emulated/sshd.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import { connectionStats, openTransport, resetConnectionStats } from '../../../src/transport/index.ts';
import type { HostTransport } from '../../../src/transport/index.ts';
import { useEmulatedCluster } from '../../helpers/emulated.ts';

const K = 41;
const ns = (i: number) => emulatedHostNamespace(i, K);
/** Our private links: [namespace, end] pairs, each veth named by us (removed by these names). */
const LINKS = [
  { a: { ns: ns(1), dev: `ediv${K}pjA`, addr: `198.18.${K}.129/26` }, b: { ns: ns(2), dev: `ediv${K}pjB`, addr: `198.18.${K}.130/26` } },
  { a: { ns: ns(2), dev: `ediv${K}pjC`, addr: `198.18.${K}.193/26` }, b: { ns: ns(3), dev: `ediv${K}pjD`, addr: `198.18.${K}.194/26` } },
];
const HIDDEN = [
  { name: 'hidden2', netns: ns(2), address: `198.18.${K}.130` },
  { name: 'hidden3', netns: ns(3), address: `198.18.${K}.194` },
];

describe(`SSH through jump hosts (root, emulated cluster instance ${K})`, function () {
  this.timeout(120_000);
  const ec = useEmulatedCluster({ instance: K, hosts: 3 });
  const sshds: { pid: number; config: string }[] = [];
  const open: HostTransport[] = [];
  let tmp: string;
  let knownHosts: string;

  before(async function () {
    this.timeout(60_000);
    tmp = mkdtempSync(path.join(os.tmpdir(), `ediv${K}-jump-`));
    ec.beforeTeardown(async () => {
      for (const s of sshds.splice(0)) if (isOurSshd(s.pid, s.config)) await killPid(s.pid);
      for (const l of LINKS) await execa('ip', ['-n', l.a.ns, 'link', 'del', l.a.dev], { reject: false });
    });
    for (const i of [1, 2, 3]) await execa('ip', ['netns', 'exec', ns(i), 'sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1']);
    for (const l of LINKS) {
      await execa('ip', ['link', 'add', l.a.dev, 'netns', l.a.ns, 'type', 'veth', 'peer', 'name', l.b.dev, 'netns', l.b.ns]);
      for (const end of [l.a, l.b]) {
        await execa('ip', ['-n', end.ns, 'addr', 'add', end.addr, 'dev', end.dev]);
        await execa('ip', ['-n', end.ns, 'link', 'set', end.dev, 'up']);
      }
    }
    // The cluster's own pinned keys, and our sshds' key under their private addresses.
    knownHosts = path.join(tmp, 'known_hosts');
    copyFileSync(ec.cluster.hosts[0]!.ssh.knownHosts!, knownHosts);
    for (const h of HIDDEN) {
      const dir = path.join(tmp, h.name);
      mkdirSync(dir);
      const f = sshdFiles(dir);
      const pub = await ensureKey(f.hostKey, h.name);
      writeFileSync(knownHosts, `${h.address} ${pub.split(' ').slice(0, 2).join(' ')}\n`, { flag: 'a' });
      writeSshdConfig(f, h.address, 22, path.join(ec.dir, 'authorized_keys'));
      const pid = startSshd(h.netns, h.name, f);
      sshds.push({ pid, config: f.config });
      // Only the namespace can reach the address: wait for sshd's own word that it listens.
      const deadline = Date.now() + 10_000;
      while (!(existsSync(f.log) && readFileSync(f.log, 'utf8').includes(`Server listening on ${h.address} port 22`))) {
        if (Date.now() > deadline || !pidAlive(pid)) throw new Error(`sshd for ${h.name} did not start: ${existsSync(f.log) ? readFileSync(f.log, 'utf8') : ''}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** An ssh config of the style people write: the bastion, and the hidden hosts behind it. */
  function sshConfig(name: string, hidden2: string, hidden3: string): string {
    const id = path.join(ec.dir, 'id_ed25519');
    const file = path.join(tmp, name);
    writeFileSync(file, [
      'Host bastion',
      `  HostName ${ec.cluster.hosts[0]!.address}`,
      '  User root',
      `  IdentityFile ${id}`,
      'Host hidden2',
      `  HostName ${HIDDEN[0]!.address}`,
      `  IdentityFile ${id}`,
      hidden2,
      'Host hidden3',
      `  HostName ${HIDDEN[1]!.address}`,
      hidden3,
      'Host *',
      '  ProxyJump none',
      '  ConnectTimeout 5',
      '',
    ].join('\n'));
    return file;
  }
  function hiddenHost(name: string): ClusterHost {
    const base = ec.cluster.hosts[1]!;
    return {
      ...base,
      name,
      address: name, // an alias, resolved by the ssh config
      ssh: { user: 'root', port: 22, identity: path.join(ec.dir, 'id_ed25519'), knownHosts },
      agentCommand: [process.execPath, edivBin],
      agentStateDir: path.join(tmp, `agent-${name}`),
    };
  }
  async function connect(host: ClusterHost, sshConfigFile: string, connectTimeoutMs = 15_000): Promise<HostTransport> {
    const t = await openTransport(host, { sshConfig: sshConfigFile, agentSocket: false, connectTimeoutMs });
    open.push(t);
    return t;
  }
  const established = async (i: number) =>
    (await execa('ip', ['netns', 'exec', ns(i), 'ss', '-Htn', 'state', 'established', '( sport = :22 )'])).stdout.trim();

  it('runs exec and the agent on a host reachable only through the bastion (ProxyJump bastion)', async () => {
    const cfg = sshConfig('config-one-hop', '  ProxyJump bastion', '');
    resetConnectionStats();
    const t = await connect(hiddenHost('hidden2'), cfg);
    expect((await t.exec(['hostname'])).stdout.trim()).to.equal('hidden2');
    const facts = await t.runAgent<{ hostname: string; root: boolean }>('facts', {});
    expect(facts).to.deep.include({ hostname: 'hidden2', root: true });
    expect(connectionStats().perHost).to.deep.equal({ hidden2: 1 }); // the jump connection is not counted
    expect(await established(1)).to.not.equal(''); // the bastion carries it
    await open.pop()!.close();
    for (let i = 0; i < 50 && (await established(1)) !== ''; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await established(1)).to.equal(''); // close ended the jump connection too
  });

  it('cannot reach that host without the ProxyJump', async () => {
    const cfg = sshConfig('config-direct', '', '');
    const err = (await connect(hiddenHost('hidden2'), cfg, 5000).catch((e: unknown) => e)) as Error;
    expect(err).to.be.instanceOf(Error);
    expect(err.message).to.match(new RegExp(`^hidden2: (cannot connect to root@198\\.18\\.${K}\\.130:22: .*EHOSTUNREACH|SSH connection to root@198\\.18\\.${K}\\.130:22 timed out)`));
  });

  it('goes through two jump hosts (ProxyJump bastion,hidden2) to a host only hidden2 reaches', async () => {
    const cfg = sshConfig('config-two-hops', '', '  ProxyJump bastion,hidden2');
    resetConnectionStats();
    const t = await connect(hiddenHost('hidden3'), cfg);
    expect((await t.exec(['hostname'])).stdout.trim()).to.equal('hidden3');
    expect((await t.runAgent<{ hostname: string }>('facts', {})).hostname).to.equal('hidden3');
    expect(connectionStats().perHost).to.deep.equal({ hidden3: 1 });
  });

  it('the same chain from the jump host\'s own config: hidden3 jumps through hidden2, which jumps through the bastion', async () => {
    const cfg = sshConfig('config-nested', '  ProxyJump bastion', '  ProxyJump hidden2');
    const t = await connect(hiddenHost('hidden3'), cfg);
    expect((await t.exec(['hostname'])).stdout.trim()).to.equal('hidden3');
  });

  it('names the hop that fails', async () => {
    // hidden3 is not reachable from the bastion directly: the bastion's forwarding fails.
    const cfg = sshConfig('config-wrong-hop', '', '  ProxyJump bastion');
    const err = (await connect(hiddenHost('hidden3'), cfg, 5000).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(new RegExp(`^hidden3 via bastion: jump host bastion could not connect to 198\\.18\\.${K}\\.194:22: `));
  });
});
