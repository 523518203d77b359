// End to end: a host reached as a non-root login user whose agent runs through `sudo -n`
// (cluster file `ssh: {user, sudo: true}`), on emulated cluster instance 43 (3 hosts). Host 1 is
// reached as a throwaway user (test/helpers/unix-users.ts) allowed to run the agent command as
// root by a NOPASSWD sudoers drop-in the test writes (the very line ediv's error shows, checked
// with `visudo -cf`, removed by its exact name); the others as root. The tutorial deploys across
// the hosts, its ping-across sequence crosses them, and undeploy leaves nothing. A second user
// without a rule gets the clear sudo error (exit 1) and nothing is made (host 1 alone: a host
// whose agent cannot be started is left out of a deploy, with that error as the warning).
// The emulated sshd reads every user's key from the cluster's one authorized_keys file, as that
// user: the test makes the file readable (a public key) and its directory traversable.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { sudoersLine } from '../../src/transport/agent-run.ts';
import { useEmulatedCluster } from '../helpers/emulated.ts';
import { removeUser } from '../helpers/unix-users.ts';
import { installSudoers, makeClusterLogin, skipSuiteFor, sudoUnavailable } from '../helpers/sudo-login.ts';
import { ediv, recordedIds, repoRoot, settleTo, snapshotHosts, useLabState, vmNamespaces, type CliResult, type HostSnapshot } from './helpers.ts';

const INSTANCE = 43;
const HOSTS = 3;
const TUTORIAL = path.join(repoRoot, 'scenarios', 'tutorial.xml');
const ALLOWED = 'edivt-sudo43';
const REFUSED = 'edivt-nosudo43';
/** The sudoers drop-in's exact name (no '.' or '~': sudo would skip it). */
const SUDOERS = '/etc/sudoers.d/edivt-ediv43';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('e2e: a non-root login user whose agent runs through sudo -n (ssh.sudo)', function () {
  this.timeout(600_000);
  if (skipSuiteFor(sudoUnavailable())) return;
  const ec = useEmulatedCluster({ instance: INSTANCE, hosts: HOSTS, timeoutMs: 120_000 });
  const lab = useLabState(ec, 'sudo');
  let baseline: Record<string, HostSnapshot>;
  let allowedFile = '';
  let refusedFile = '';

  before(function () {
    const agentCommand = ec.cluster.hosts[0]!.agentCommand;
    for (const name of [ALLOWED, REFUSED]) makeClusterLogin(name, lab.work(), ec.dir);
    installSudoers(SUDOERS, [sudoersLine(ALLOWED, agentCommand)], lab.work(), 'test/e2e/sudo-login.test.ts');
    const doc = YAML.parse(fs.readFileSync(ec.clusterFile, 'utf8')) as Json;
    const variant = (user: string, file: string, only?: boolean): string => {
      const d = structuredClone(doc);
      Object.assign(d.hosts[0].ssh, { user, sudo: true });
      if (only) d.hosts = d.hosts.slice(0, 1);
      const out = path.join(lab.work(), file);
      fs.writeFileSync(out, YAML.stringify(d));
      return out;
    };
    allowedFile = variant(ALLOWED, 'sudo.yaml');
    // Host 1 alone: a deploy leaves out a host whose agent cannot be reached (with a warning, as
    // the refusal of a 3-host deploy would) and goes on with the others; alone it has nowhere to go.
    refusedFile = variant(REFUSED, 'nosudo.yaml', true);
  });
  before(async () => {
    baseline = await snapshotHosts(HOSTS, INSTANCE);
  });
  after(() => {
    fs.rmSync(SUDOERS, { force: true });
    for (const name of [ALLOWED, REFUSED]) removeUser(name);
  });

  const run = (file: string, args: string[]): Promise<CliResult> => ediv([...args, '--cluster', file, '--state', lab.state()]);
  const show = (r: CliResult): string => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-3000)}`;
  const sshdLog = (): string => fs.readFileSync(path.join(ec.dir, 'hosts', ec.cluster.hosts[0]!.name, 'sshd.log'), 'utf8');

  it('the tutorial deploys across the hosts with host 1 reached as a sudo user, pings across, undeploys clean', async () => {
    const host1 = ec.cluster.hosts[0]!.name;
    const dep = await run(allowedFile, ['deploy', TUTORIAL, '--json']);
    expect(dep.code, show(dep)).to.equal(0);
    expect((dep.json.mapping as Json[]).filter((m) => m.host === host1), 'host 1 has VMs').to.have.length.greaterThan(0);
    expect(dep.json.hosts, 'all three hosts take part').to.have.length(HOSTS);
    expect(dep.json.spanning, 'nets span hosts').to.have.length.greaterThan(0);
    expect(sshdLog()).to.match(new RegExp(`Accepted publickey for ${ALLOWED} `));
    expect(await vmNamespaces('tutorial')).to.have.length(6);

    const ping = await run(allowedFile, ['exec', 'tutorial', 'ping-across', '--json']);
    expect(ping.code, show(ping)).to.equal(0);
    const commands = (ping.json.vms as Json[]).flatMap((v) => v.commands as Json[]);
    expect(commands.length).to.be.greaterThan(0);
    for (const c of commands) expect(c.stdout, c.command).to.match(/ 0% packet loss/);
    const across = new Set((ping.json.vms as Json[]).map((v) => v.host));
    expect(across.size, 'pinged from VMs on several hosts').to.be.greaterThan(1);

    const st = await run(allowedFile, ['status', 'tutorial', '--json']);
    expect(st.code, show(st)).to.equal(0);

    const un = await run(allowedFile, ['undeploy', 'tutorial', '--json']);
    expect(un.code, show(un)).to.equal(0);
    expect(await vmNamespaces('tutorial')).to.deep.equal([]);
    expect(await settleTo(baseline, HOSTS, 10_000, INSTANCE)).to.deep.equal(baseline);
  });

  it('a user without a sudoers rule: the clear error naming host, user and the rule; exit 1; nothing made', async () => {
    const host1 = ec.cluster.hosts[0]!.name;
    const dep = await run(refusedFile, ['deploy', TUTORIAL]);
    expect(dep.code, show(dep)).to.equal(1);
    expect(dep.stderr).to.match(new RegExp(`${host1}: agent \\w+: sudo did not run the agent for ${REFUSED} \\(ssh\\.sudo in the cluster file\\): sudo wants a password`));
    expect(dep.stderr).to.include(sudoersLine(REFUSED, ec.cluster.hosts[0]!.agentCommand));
    expect(dep.stderr).to.not.match(/exited with status/);
    expect(sshdLog()).to.match(new RegExp(`Accepted publickey for ${REFUSED} `));
    expect(await vmNamespaces('tutorial')).to.deep.equal([]);
    expect(fs.existsSync(lab.state()) ? Object.keys(await recordedIds(lab.state())) : []).to.deep.equal([]);
    expect(await settleTo(baseline, HOSTS, 10_000, INSTANCE)).to.deep.equal(baseline);
  });

});
