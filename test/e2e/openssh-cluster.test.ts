// End to end: SSH as a site runs it, with the OpenSSH client (ssh.client: openssh) — emulated
// cluster instance 46, 3 hosts. Every host proves itself with a host certificate: the known_hosts
// file holds only `@cert-authority 198.18.46.* <CA>`, no host key. Host 3 is reachable only
// through host 1 (a bastion): its sshd listens on a private link between host 1 and host 3
// (198.18.46.128/26; the controller's route for it is the cluster bridge, where nobody answers
// for it: arp_ignore=1), and the user's ssh config says ProxyJump. Host 2 is bare (the ediv
// checkout is hidden from its sshd; the controller brings its agent) and is reached as a
// non-root user through sudo. The tutorial deploys across the three, pings across, undeploys
// clean; host 3's sshd saw its logins come from the bastion's private address.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { pidAlive } from '../../src/common/process.ts';
import { emulatedHostNamespace } from '../../src/emulated/layout.ts';
import { ensureKey, isOurSshd, killPid, sshdFiles, startSshd, writeSshdConfig } from '../../src/emulated/sshd.ts';
import { sudoersLine } from '../../src/transport/agent-run.ts';
import { useEmulatedCluster } from '../helpers/emulated.ts';
import { removeUser } from '../helpers/unix-users.ts';
import { installSudoers, makeClusterLogin, skipSuiteFor, sudoUnavailable } from '../helpers/sudo-login.ts';
import { ediv, repoRoot, settleTo, snapshotHosts, useLabState, vmNamespaces, type CliResult, type HostSnapshot } from './helpers.ts';

const K = 46;
const HOSTS = 3;
const TUTORIAL = path.join(repoRoot, 'scenarios', 'tutorial.xml');
const USER = 'edivt-ossh46';
const SUDOERS = '/etc/sudoers.d/edivt-ediv46';
const ns = (i: number) => emulatedHostNamespace(i, K);
const LINK = { a: { ns: ns(1), dev: `ediv${K}jA`, addr: `198.18.${K}.129/26` }, b: { ns: ns(3), dev: `ediv${K}jB`, addr: `198.18.${K}.130/26` } };
const HIDDEN3 = `198.18.${K}.130`;

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const listening = (log: string, address: string) => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split(`Server listening on ${address} port 22`).length - 1 : 0);

async function waitListening(pid: number, log: string, address: string, atLeast: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (listening(log, address) < atLeast) {
    if (Date.now() > deadline || !pidAlive(pid)) throw new Error(`sshd ${pid} does not listen on ${address}: ${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(-2000) : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('e2e: OpenSSH client, host certificates only, a host behind a jump host, a bare host through sudo', function () {
  this.timeout(600_000);
  if (skipSuiteFor(sudoUnavailable(['ssh']))) return;
  const ec = useEmulatedCluster({ instance: K, hosts: HOSTS, timeoutMs: 120_000, bare: [2] });
  const lab = useLabState(ec, 'openssh');
  const ours: { pid: number; config: string }[] = [];
  let baseline: Record<string, HostSnapshot>;
  let clusterFile = '';
  let home = '';
  let hidden3Log = '';

  before(async function () {
    ec.beforeTeardown(async () => {
      for (const s of ours.splice(0)) if (isOurSshd(s.pid, s.config)) await killPid(s.pid);
      await execa('ip', ['-n', LINK.a.ns, 'link', 'del', LINK.a.dev], { reject: false });
    });
    const work = lab.work();
    // The CA, and a certificate for every host key (its management address; host 3's private one too).
    const ca = path.join(work, 'ca');
    await ensureKey(ca, 'ediv e2e host CA');
    const sign = (pub: string, id: string, principals: string[]) => execa('ssh-keygen', ['-q', '-s', ca, '-h', '-I', id, '-n', principals.join(','), '-V', '-5m:+1h', pub]);
    for (const [i, h] of ec.cluster.hosts.entries()) {
      const f = sshdFiles(path.join(ec.dir, 'hosts', h.name));
      await sign(`${f.hostKey}.pub`, h.name, [h.address]);
      fs.appendFileSync(f.config, `HostCertificate ${f.hostKey}-cert.pub\n`);
      const pid = ec.status.hosts[i]!.sshd!;
      const before = listening(f.log, h.address);
      process.kill(pid, 'SIGHUP'); // sshd re-executes itself and reads its config again
      await waitListening(pid, f.log, h.address, before + 1);
    }
    // Host 3 behind host 1: a private link, and an sshd of ours on host 3's end of it only.
    for (const i of [1, 2, 3]) await execa('ip', ['netns', 'exec', ns(i), 'sysctl', '-qw', 'net.ipv4.conf.all.arp_ignore=1']);
    await execa('ip', ['link', 'add', LINK.a.dev, 'netns', LINK.a.ns, 'type', 'veth', 'peer', 'name', LINK.b.dev, 'netns', LINK.b.ns]);
    for (const end of [LINK.a, LINK.b]) {
      await execa('ip', ['-n', end.ns, 'addr', 'add', end.addr, 'dev', end.dev]);
      await execa('ip', ['-n', end.ns, 'link', 'set', end.dev, 'up']);
    }
    const f3 = sshdFiles(path.join(work, 'hidden3'));
    fs.mkdirSync(f3.dir);
    fs.copyFileSync(sshdFiles(path.join(ec.dir, 'hosts', 'host3')).hostKey, f3.hostKey);
    fs.chmodSync(f3.hostKey, 0o600);
    execFileSync('sh', ['-c', 'ssh-keygen -y -f "$1" > "$1.pub"', 'sh', f3.hostKey]);
    await sign(`${f3.hostKey}.pub`, 'host3-private', [HIDDEN3]);
    writeSshdConfig(f3, HIDDEN3, 22, path.join(ec.dir, 'authorized_keys'));
    fs.appendFileSync(f3.config, `HostCertificate ${f3.hostKey}-cert.pub\n`);
    const pid3 = startSshd(ns(3), 'host3', f3);
    ours.push({ pid: pid3, config: f3.config });
    await waitListening(pid3, f3.log, HIDDEN3, 1);
    hidden3Log = f3.log;

    // known_hosts: the CA alone. The user's ssh config: keys, that file, the jump.
    const knownHosts = path.join(work, 'known_hosts');
    fs.writeFileSync(knownHosts, `@cert-authority 198.18.${K}.* ${fs.readFileSync(`${ca}.pub`, 'utf8').trim()}\n`);
    home = path.join(work, 'home');
    fs.mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(home, '.ssh', 'config'), [
      `Host ${HIDDEN3}`,
      `  ProxyJump root@${ec.cluster.hosts[0]!.address}`,
      `Host 198.18.${K}.*`,
      `  IdentityFile ${path.join(ec.dir, 'id_ed25519')}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      '',
    ].join('\n'), { mode: 0o600 });

    // Host 2: a user allowed to run the Node.js that runs the pushed agent.
    makeClusterLogin(USER, work, ec.dir);
    installSudoers(SUDOERS, [sudoersLine(USER, [ec.cluster.hosts[1]!.agentNode!], true)], work, 'test/e2e/openssh-cluster.test.ts');

    const doc = YAML.parse(fs.readFileSync(ec.clusterFile, 'utf8')) as Json;
    for (const h of doc.hosts) h.ssh = { client: 'openssh' }; // keys and known_hosts from the ssh config
    doc.hosts[1].ssh = { client: 'openssh', user: USER, sudo: true };
    doc.hosts[2].address = HIDDEN3;
    clusterFile = path.join(work, 'openssh.yaml');
    fs.writeFileSync(clusterFile, YAML.stringify(doc));
    baseline = await snapshotHosts(HOSTS, K);
  });
  after(() => {
    fs.rmSync(SUDOERS, { force: true });
    removeUser(USER);
  });

  const run = (args: string[]): Promise<CliResult> => ediv([...args, '--cluster', clusterFile, '--state', lab.state()], { env: { HOME: home } });
  const show = (r: CliResult): string => `exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;

  it('cluster check: all three hosts ready', async () => {
    const check = await run(['cluster', 'check', '--json']);
    expect(check.code, show(check)).to.equal(0);
    expect((check.json.hosts as Json[]).map((h) => [h.host, h.reachable])).to.deep.equal([['host1', true], ['host2', true], ['host3', true]]);
    expect(fs.readFileSync(hidden3Log, 'utf8'), "host 3's logins come through the bastion").to.match(new RegExp(`Accepted publickey for root from 198\\.18\\.${K}\\.129 `));
  });

  it('the tutorial deploys across the three, pings across, undeploys clean', async () => {
    const dep = await run(['deploy', TUTORIAL, '--json']);
    expect(dep.code, show(dep)).to.equal(0);
    expect(dep.json.hosts, 'all three hosts take part').to.have.length(HOSTS);
    expect(await vmNamespaces('tutorial')).to.have.length(6);
    const ping = await run(['exec', 'tutorial', 'ping-across', '--json']);
    expect(ping.code, show(ping)).to.equal(0);
    const commands = (ping.json.vms as Json[]).flatMap((v) => v.commands as Json[]);
    expect(commands.length).to.be.greaterThan(0);
    for (const c of commands) expect(c.stdout, c.command).to.match(/ 0% packet loss/);
    expect(new Set((ping.json.vms as Json[]).map((v) => v.host)).size, 'pinged from VMs on several hosts').to.be.greaterThan(1);
    const un = await run(['undeploy', 'tutorial', '--json']);
    expect(un.code, show(un)).to.equal(0);
    expect(await vmNamespaces('tutorial')).to.deep.equal([]);
    expect(await settleTo(baseline, HOSTS, 10_000, K)).to.deep.equal(baseline);
  });
});
