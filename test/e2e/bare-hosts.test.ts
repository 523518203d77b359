// End to end: bare hosts, as fresh machines with nothing of ediv on them (emulated cluster
// instance 44, 3 hosts; hosts 2 and 3 bare: their sshd runs in a mount namespace where the
// ediv checkout, and the Node.js inside it, are hidden under an empty tmpfs). The controller
// brings its agent (agentNode: the machine's own Node.js, e.g. Debian's 20, outside the
// checkout); host 3 is reached as a non-root user whose sudo rule allows that Node.js. `cluster
// check` lists every item per host; the tutorial deploys across all three, pings across, a
// shell opens in a VM on a bare host, and undeploy leaves nothing. A bare host whose agentNode
// is missing stops the deploy before anything is made (exit 1, the host named).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { sudoersLine } from '../../src/transport/agent-run.ts';
import { agentBundle } from '../../src/transport/agent-push.ts';
import { useEmulatedCluster } from '../helpers/emulated.ts';
import { removeUser } from '../helpers/unix-users.ts';
import { installSudoers, makeClusterLogin, skipSuiteFor, sudoUnavailable } from '../helpers/sudo-login.ts';
import { ediv, repoRoot, settleTo, snapshotHosts, useLabState, vmNamespaces, type CliResult, type HostSnapshot } from './helpers.ts';

const INSTANCE = 44;
const HOSTS = 3;
const TUTORIAL = path.join(repoRoot, 'scenarios', 'tutorial.xml');
const USER = 'edivt-bare44';
/** The sudoers drop-in's exact name (no '.' or '~': sudo would skip it). */
const SUDOERS = '/etc/sudoers.d/edivt-ediv44';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('e2e: bare hosts (no ediv on them: the controller brings its agent), one reached through sudo', function () {
  this.timeout(600_000);
  if (skipSuiteFor(sudoUnavailable())) return;
  const ec = useEmulatedCluster({ instance: INSTANCE, hosts: HOSTS, timeoutMs: 120_000, bare: [2, 3] });
  const lab = useLabState(ec, 'bare');
  let baseline: Record<string, HostSnapshot>;
  let clusterFile = '';
  let missingNodeFile = '';

  before(async function () {
    const node = ec.cluster.hosts[2]!.agentNode!;
    makeClusterLogin(USER, lab.work(), ec.dir);
    installSudoers(SUDOERS, [sudoersLine(USER, [node], true)], lab.work(), 'test/e2e/bare-hosts.test.ts');
    const doc = YAML.parse(fs.readFileSync(ec.clusterFile, 'utf8')) as Json;
    Object.assign(doc.hosts[2].ssh, { user: USER, sudo: true });
    clusterFile = path.join(lab.work(), 'bare.yaml');
    fs.writeFileSync(clusterFile, YAML.stringify(doc));
    const broken = structuredClone(doc);
    broken.hosts[1].agentNode = '/nonexistent/bin/node';
    missingNodeFile = path.join(lab.work(), 'no-node.yaml');
    fs.writeFileSync(missingNodeFile, YAML.stringify(broken));
    baseline = await snapshotHosts(HOSTS, INSTANCE);
  });
  after(() => {
    fs.rmSync(SUDOERS, { force: true });
    removeUser(USER);
  });

  const run = (file: string, args: string[]): Promise<CliResult> => ediv([...args, '--cluster', file, '--state', lab.state()]);
  const show = (r: CliResult): string => `exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;
  const bundleDir = (i: number) => path.join(ec.cluster.hosts[i]!.agentStateDir!, 'bundles', agentBundle().hash);

  it('the bare hosts cannot see the checkout', async () => {
    const r = await run(clusterFile, ['exec', '--help']); // (any command: the controller side sees it)
    expect(r.code).to.equal(0);
    const ssh = (i: number, cmd: string) =>
      execFileSync('ssh', ['-i', path.join(ec.dir, 'id_ed25519'), '-o', `UserKnownHostsFile=${path.join(ec.dir, 'known_hosts')}`, '-o', 'BatchMode=yes', `root@${ec.cluster.hosts[i]!.address}`, cmd], { encoding: 'utf8' });
    expect(ssh(1, `ls -A ${repoRoot} | wc -l`).trim(), 'host 2 sees an empty directory').to.equal('0');
    expect(ssh(0, `ls ${repoRoot}/package.json`).trim(), 'host 1 sees the checkout').to.equal(`${repoRoot}/package.json`);
  });

  it('cluster check: every item per host, all met; the bare hosts run the bundle the controller brought', async () => {
    const check = await run(clusterFile, ['cluster', 'check', '--json']);
    expect(check.code, show(check)).to.equal(0);
    const byHost = new Map((check.json.hosts as Json[]).map((h) => [h.host, h]));
    for (const i of [1, 2]) {
      const h = byHost.get(ec.cluster.hosts[i]!.name);
      const agent = (h.requirements as Json[]).find((q) => q.check === 'agent');
      expect(agent.found).to.equal(`ediv ${check.json.controllerVersion} (brought by the controller, bundle ${agentBundle().hash.slice(0, 12)})`);
      expect((h.requirements as Json[]).map((q) => q.check)).to.include.members(['node', 'root', 'kernel: vxlan', 'iproute2', 'overlayfs', 'cgroups', 'clock']);
      expect(fs.existsSync(path.join(bundleDir(i), 'ediv-agent.mjs')), `bundle on host ${i + 1}`).to.equal(true);
    }
    const installed = (byHost.get(ec.cluster.hosts[0]!.name).requirements as Json[]).find((q) => q.check === 'agent');
    expect(installed.found).to.match(/\(installed\)$/);
    expect(check.json.ids.free).to.be.greaterThan(0);
    const text = await run(clusterFile, ['cluster', 'check']);
    expect(text.stdout).to.match(/host3\s+agent\s+ok\s+ediv .*brought by the controller/);
    expect(text.stdout).to.match(/all 3 hosts are ready/);
  });

  it('the tutorial deploys over the bare hosts, pings across, a shell opens in a VM there, undeploys clean', async () => {
    const dep = await run(clusterFile, ['deploy', TUTORIAL, '--json']);
    expect(dep.code, show(dep)).to.equal(0);
    expect(dep.json.hosts, 'all three hosts take part').to.have.length(HOSTS);
    const onBare = (dep.json.mapping as Json[]).filter((m) => m.host !== ec.cluster.hosts[0]!.name);
    expect(onBare.length, 'VMs on the bare hosts').to.be.greaterThan(0);
    expect(await vmNamespaces('tutorial')).to.have.length(6);

    const ping = await run(clusterFile, ['exec', 'tutorial', 'ping-across', '--json']);
    expect(ping.code, show(ping)).to.equal(0);
    for (const c of (ping.json.vms as Json[]).flatMap((v) => v.commands as Json[])) expect(c.stdout, c.command).to.match(/ 0% packet loss/);

    const vm = onBare.find((m) => m.host === ec.cluster.hosts[2]!.name)?.vm ?? onBare[0].vm;
    const shell = await ediv(['connect', 'tutorial', vm, '--cluster', clusterFile, '--state', lab.state(), '--', 'hostname']);
    expect(shell.code, show(shell)).to.equal(0);
    expect(shell.stdout.trim()).to.equal(vm);

    const un = await run(clusterFile, ['undeploy', 'tutorial', '--json']);
    expect(un.code, show(un)).to.equal(0);
    expect(await vmNamespaces('tutorial')).to.deep.equal([]);
    expect(await settleTo(baseline, HOSTS, 10_000, INSTANCE)).to.deep.equal(baseline);
  });

  it("a bare host whose agentNode is missing stops the deploy before anything is made", async () => {
    const dep = await run(missingNodeFile, ['deploy', TUTORIAL]);
    expect(dep.code, show(dep)).to.equal(1);
    expect(dep.stderr).to.match(/hosts cannot take their part \(nothing was touched/);
    expect(dep.stderr).to.match(/host2: agent facts exited with status 127 .*is Node\.js installed there\? the host's agentNode/);
    expect(await vmNamespaces('tutorial')).to.deep.equal([]);
    expect(await settleTo(baseline, HOSTS, 10_000, INSTANCE)).to.deep.equal(baseline);
  });
});
