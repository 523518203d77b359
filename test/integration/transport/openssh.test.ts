// The OpenSSH transport (ssh.client: openssh) against real OpenSSH servers with host
// certificates (root; emulated cluster instance 45). Under the shared namespace lock:
// `flock /tmp/ediv-ns.lock npx mocha test/integration/transport/openssh.test.ts`.
//
// Two sshds of ours in host1's namespace: one on port 2222 whose host key carries a certificate
// signed by "our" CA for host1's address, one on 2223 with a certificate from another CA. The
// known_hosts file holds nothing but `@cert-authority <host1's address> <our CA>`. ediv's own
// client (ssh2) cannot check certificates and says so; the OpenSSH client connects to the first,
// runs the real agent and commands over one master connection, refuses the second and a host
// with a plain unknown key, and close() ends the master (its socket is gone).
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive } from '../../../src/common/process.ts';
import { emulatedHostNamespace } from '../../../src/emulated/layout.ts';
import { ensureKey, isOurSshd, killPid, sshdFiles, startSshd, writeSshdConfig } from '../../../src/emulated/sshd.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import type { StatusResult } from '../../../src/protocol/agent.ts';
import { connectionStats, openTransport, resetConnectionStats } from '../../../src/transport/index.ts';
import type { HostTransport } from '../../../src/transport/index.ts';
import { OpenSshTransport } from '../../../src/transport/openssh.ts';
import { useEmulatedCluster } from '../../helpers/emulated.ts';

const K = 45;

describe(`the OpenSSH client transport with host certificates (root, emulated cluster instance ${K})`, function () {
  this.timeout(120_000);
  const ec = useEmulatedCluster({ instance: K, hosts: 1 });
  const sshds: { pid: number; config: string }[] = [];
  const open: HostTransport[] = [];
  let tmp = '';
  let caKnownHosts = '';
  let address = '';

  before(async function () {
    this.timeout(60_000);
    tmp = mkdtempSync(path.join(os.tmpdir(), `ediv${K}-openssh-`));
    ec.beforeTeardown(async () => {
      for (const s of sshds.splice(0)) if (isOurSshd(s.pid, s.config)) await killPid(s.pid);
    });
    address = ec.cluster.hosts[0]!.address;
    const cas = { ours: path.join(tmp, 'ca-ours'), other: path.join(tmp, 'ca-other') };
    for (const [name, file] of Object.entries(cas)) await ensureKey(file, `ediv test CA ${name}`);
    caKnownHosts = path.join(tmp, 'known_hosts');
    writeFileSync(caKnownHosts, `# only the CA\n@cert-authority ${address},[${address}]:2222,[${address}]:2223 ${readFileSync(`${cas.ours}.pub`, 'utf8').trim()}\n`);
    for (const [port, ca] of [[2222, cas.ours], [2223, cas.other]] as const) {
      const dir = path.join(tmp, `sshd${port}`);
      mkdirSync(dir);
      const f = sshdFiles(dir);
      await ensureKey(f.hostKey, `host1:${port}`);
      await execa('ssh-keygen', ['-q', '-s', ca, '-h', '-I', `host1-${port}`, '-n', address, '-V', '-5m:+1h', `${f.hostKey}.pub`]);
      writeSshdConfig(f, address, port, path.join(ec.dir, 'authorized_keys'));
      writeFileSync(f.config, `${readFileSync(f.config, 'utf8')}HostCertificate ${f.hostKey}-cert.pub\n`);
      const pid = startSshd(emulatedHostNamespace(1, K), 'host1', f);
      sshds.push({ pid, config: f.config });
      const deadline = Date.now() + 10_000;
      while (!(existsSync(f.log) && readFileSync(f.log, 'utf8').includes(`Server listening on ${address} port ${port}`))) {
        if (Date.now() > deadline || !pidAlive(pid)) throw new Error(`sshd on ${port} did not start: ${existsSync(f.log) ? readFileSync(f.log, 'utf8') : ''}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close();
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const host = (port: number, client?: 'openssh', knownHosts = caKnownHosts): ClusterHost => ({
    ...ec.cluster.hosts[0]!,
    ssh: { ...ec.cluster.hosts[0]!.ssh, port, knownHosts, ...(client ? { client } : {}) },
  });
  const opened = async (h: ClusterHost) => {
    const t = await openTransport(h, { sshConfig: false, agentSocket: false });
    open.push(t);
    return t;
  };
  const refusal = (h: ClusterHost) => opened(h).then(() => 'connected', (err: Error) => err.message);

  it("ediv's own client cannot check a host certificate, and says so", async () => {
    expect(await refusal(host(2222))).to.match(/vouched for only by a @cert-authority line \(.*known_hosts:2\), and ediv cannot check host certificates/);
  });

  it('the OpenSSH client checks the certificate and runs the agent and commands over one master connection', async () => {
    resetConnectionStats();
    const t = await opened(host(2222, 'openssh'));
    const st = await t.runAgent<StatusResult>('status', { host: 'host1' });
    expect(st.deployments).to.deep.equal([]);
    const hostile = "it's $(id) `id` \"q\" \\";
    const r = await t.exec(['printf', '%s|', hostile, 'two words']);
    expect(r.stdout).to.equal(`${hostile}|two words|`);
    const many = await Promise.all(Array.from({ length: 12 }, (_, i) => t.exec(['echo', String(i)])));
    expect(many.map((x) => x.stdout.trim())).to.deep.equal(Array.from({ length: 12 }, (_, i) => String(i)));
    const fail = await t.exec(['sh', '-c', 'echo bad >&2; exit 7']);
    expect([fail.exitCode, fail.stderr.trim()]).to.deep.equal([7, 'bad']);
    expect(connectionStats().perHost).to.deep.equal({ host1: 1 });
    const log = readFileSync(path.join(tmp, 'sshd2222', 'sshd.log'), 'utf8');
    expect(log.match(/Accepted publickey for root/g), 'one authentication for all of it').to.have.length(1);
  });

  it('close() ends the master: its socket is gone', async () => {
    const t = (await opened(host(2222, 'openssh'))) as OpenSshTransport;
    await t.exec(['true']);
    expect(existsSync(t.controlPath), 'the master listens on its socket').to.equal(true);
    await t.close();
    open.splice(open.indexOf(t), 1);
    expect(existsSync(t.controlPath)).to.equal(false);
  });

  it('a certificate from another CA, and a plain key no line vouches for, are refused', async () => {
    expect(await refusal(host(2223, 'openssh'))).to.match(/ssh \(OpenSSH\) could not connect to root@[\d.]+:2223: .*Host key verification failed/);
    expect(await refusal(host(22, 'openssh'))).to.match(/could not connect to root@[\d.]+:22: .*Host key verification failed/);
  });
});
