// A login user whose agent runs through sudo (cluster file `ssh.sudo`): the agent's command line
// (`sudo -n -- <agentCommand> agent <op> …`, quoted for the remote shell word by word), and the
// errors when sudo refuses (a password, no rule, no sudo), one-shot and in a session.
import { expect } from 'chai';
import { OperationError } from '../../../src/common/errors.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import { agentArgv, agentEnded, agentHost, agentOutcome, sudoRefusal, sudoersLine, SUDO_PREFIX } from '../../../src/transport/agent-run.ts';
import { AgentSession } from '../../../src/transport/agent-session.ts';
import { shQuoteArgv } from '../../../src/transport/ssh-quote.ts';
import { testCluster } from '../../helpers/test-cluster.ts';
import { fakeStarted } from './fake-started.ts';

function hostWith(name: string, over: Partial<ClusterHost> & { sudo?: boolean; user?: string } = {}): ClusterHost {
  const { sudo, user, ...rest } = over;
  const base = testCluster(1).hosts[0]!;
  return { ...base, name, ...rest, ssh: { ...base.ssh, ...(user ? { user } : {}), ...(sudo === undefined ? {} : { sudo }) } };
}

const PASSWORD = 'sudo: a password is required\n';

describe('agent through sudo (ssh.sudo)', () => {
  it('without sudo the command line is the agent command itself', () => {
    expect(agentArgv(hostWith('s-plain'), 'facts')).to.deep.equal(['ediv', 'agent', 'facts']);
    expect(agentArgv(hostWith('s-false', { sudo: false }), 'facts')).to.deep.equal(['ediv', 'agent', 'facts']);
  });

  it('with sudo it is `sudo -n -- <agentCommand> agent <op> …`, for one-shot ops, sessions and streams', () => {
    const h = hostWith('s-on', { sudo: true, user: 'ops', agentCommand: ['/usr/bin/node', '/opt/ediv/bin/ediv'], agentStateDir: '/var/lib/ediv' });
    expect(SUDO_PREFIX).to.deep.equal(['sudo', '-n', '--']);
    expect(agentArgv(h, 'apply', true)).to.deep.equal(['sudo', '-n', '--', '/usr/bin/node', '/opt/ediv/bin/ediv', 'agent', 'apply', '--state-dir', '/var/lib/ediv', '--trace']);
    expect(agentArgv(h, 'session')).to.deep.equal(['sudo', '-n', '--', '/usr/bin/node', '/opt/ediv/bin/ediv', 'agent', 'session', '--state-dir', '/var/lib/ediv']);
    expect(agentArgv(h, 'connect').slice(0, 4)).to.deep.equal(['sudo', '-n', '--', '/usr/bin/node']);
  });

  it('every word is quoted on its own for the remote shell: an agent command word like an option or with shell characters stays one word', () => {
    const h = hostWith('s-quote', { sudo: true, agentCommand: ['-e', "/opt/it's here/ediv; rm -rf /"], agentStateDir: '/var/tmp/odd $(dir)' });
    const line = shQuoteArgv(agentArgv(h, 'facts'));
    expect(line).to.equal(`'sudo' '-n' '--' '-e' '/opt/it'\\''s here/ediv; rm -rf /' 'agent' 'facts' '--state-dir' '/var/tmp/odd $(dir)'`);
  });

  it('shows the sudoers line for the agent command, its special characters escaped', () => {
    expect(sudoersLine('ops', ['/usr/bin/node', '/opt/ediv/bin/ediv'])).to.equal('ops ALL=(root) NOPASSWD: /usr/bin/node /opt/ediv/bin/ediv agent *');
    expect(sudoersLine('ops', ['/opt/a b/ediv', '--x=1,2:3'])).to.equal('ops ALL=(root) NOPASSWD: /opt/a\\ b/ediv --x\\=1\\,2\\:3 agent *');
  });

  it('a password wanted: the error names the host and user, says ediv never types one, shows the rule', () => {
    const hSPw = agentHost(hostWith('s-pw', { sudo: true, user: 'ops', agentCommand: ['/usr/bin/node', '/opt/ediv/bin/ediv'] }));
    const err = agentEnded(hSPw, 'facts', { exitCode: 1, stderr: `sudo: unable to resolve host s-pw: Name or service not known\n${PASSWORD}` }, '', false);
    expect(err).to.be.instanceOf(OperationError);
    expect(err.message).to.match(/^s-pw: agent facts: sudo did not run the agent for ops \(ssh\.sudo in the cluster file\): sudo wants a password/);
    expect(err.message).to.include('ediv never types one');
    expect(err.message).to.include('visudo -f /etc/sudoers.d/ediv');
    expect(err.message).to.include('\n  ops ALL=(root) NOPASSWD: /usr/bin/node /opt/ediv/bin/ediv agent *');
    expect(err.message).to.match(/\nsudo said: sudo: a password is required$/);
    expect(err.message).to.not.include('exited with status');
    expect(err.host).to.equal('s-pw');
  });

  it('not in the sudoers file, or not allowed to execute the command: says the user may not run it', () => {
    const hSNo = agentHost(hostWith('s-no', { sudo: true, user: 'ops' }));
    for (const said of ['ops is not in the sudoers file.  This incident will be reported.', "Sorry, user ops is not allowed to execute '/usr/bin/ediv agent facts' as root on s-no."]) {
      const err = sudoRefusal(hSNo, 'facts', { exitCode: 1, stderr: `${said}\n` });
      expect(err?.message).to.match(/^s-no: agent facts: sudo did not run the agent for ops .*: ops may not run ediv as root there\. Give ops a rule/);
      // A relative agent command: sudo matches by full path, so the message says to write it.
      expect(err?.message).to.include('sudo matches commands by full path');
    }
  });

  it('sudo missing on the host: says so instead of "is ediv installed there?"', () => {
    const hSMissing = agentHost(hostWith('s-missing', { sudo: true, user: 'ops' }));
    for (const said of ['sh: 1: sudo: not found', 'bash: line 1: sudo: command not found']) {
      const err = agentEnded(hSMissing, 'facts', { exitCode: 127, stderr: said }, '', false);
      expect(err.message).to.equal('s-missing: agent facts: sudo did not run the agent for ops (ssh.sudo in the cluster file): sudo is not installed there. Install it (apt-get install sudo), or log in as root (remove ssh.sudo, set ssh.user: root).');
    }
  });

  it('the same words from a host without ssh.sudo, or from an agent that ran, are the agent\'s own failure', () => {
    const hSOff = agentHost(hostWith('s-off'));
    expect(sudoRefusal(hSOff, 'facts', { exitCode: 1, stderr: PASSWORD })).to.equal(undefined);
    expect(agentEnded(hSOff, 'facts', { exitCode: 1, stderr: PASSWORD }, '', false).message).to.match(/exited with status 1 without a result/);
    const hSRan = agentHost(hostWith('s-ran', { sudo: true }));
    expect(sudoRefusal(hSRan, 'facts', { exitCode: 1, stderr: 'Error: bridge busy\n' })).to.equal(undefined);
    expect(agentEnded(hSRan, 'facts', { exitCode: 1, stderr: PASSWORD }, '', true).message).to.match(/exited with status 1 without success/);
  });

  it('sudo finding no agent command says "is ediv installed there?"', () => {
    const hSNocmd = agentHost(hostWith('s-nocmd', { sudo: true }));
    expect(agentEnded(hSNocmd, 'facts', { exitCode: 1, stderr: 'sudo: ediv: command not found\n' }, '', false).message).to.include('is ediv installed there?');
  });

  it('a one-shot op refused by sudo fails with the clear error', async () => {
    const hSOnce = agentHost(hostWith('s-once', { sudo: true, user: 'ops' }));
    const cmd = fakeStarted();
    const r = agentOutcome(cmd.p, hSOnce, 'facts', {}, undefined, { timeoutMs: 0 });
    cmd.p.stderr.end(PASSWORD);
    cmd.p.stdout.end();
    setTimeout(() => cmd.exit({ exitCode: 1 }), 10);
    const err = (await r.catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/^s-once: agent facts: sudo did not run the agent for ops .*sudo wants a password/);
  });

  it('a session refused by sudo fails the op with the clear error, not "no sessions" (and is asked again next time)', async () => {
    const hSSess = agentHost(hostWith('s-sess', { sudo: true, user: 'ops' }));
    let starts = 0;
    const session = new AgentSession(hSSess, async () => {
      starts++;
      const cmd = fakeStarted();
      setTimeout(() => {
        cmd.p.stderr.end(PASSWORD);
        cmd.p.stdout.end();
        setTimeout(() => cmd.exit({ exitCode: 1 }), 5);
      }, 5);
      return cmd.p;
    });
    for (const op of ['facts', 'status'] as const) {
      const err = (await session.run(op, {}, undefined, { timeoutMs: 0 }).catch((e: unknown) => e)) as Error;
      expect(err).to.be.instanceOf(OperationError);
      expect(err.message).to.match(new RegExp(`^s-sess: agent ${op}: sudo did not run the agent for ops .*sudo wants a password`));
    }
    expect(starts).to.equal(2);
  });

  it('a session whose command ends without hello for another reason is still "no sessions"', async () => {
    const hSOld = agentHost(hostWith('s-old', { sudo: true, user: 'ops' }));
    const session = new AgentSession(hSOld, async () => {
      const cmd = fakeStarted();
      setTimeout(() => {
        cmd.p.stderr.end('error: unknown command "session"\n');
        cmd.p.stdout.end();
        cmd.exit({ exitCode: 2 });
      }, 5);
      return cmd.p;
    });
    expect(await session.run('facts', {}, undefined, { timeoutMs: 0 })).to.equal(undefined);
  });
});
