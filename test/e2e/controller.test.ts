// End to end: the real `ediv` CLI against a 3-host emulated cluster (instance 7: namespaces
// ediv7-host<i>, real sshd in each, agents over SSH). One cluster for the whole suite.
import { expect } from 'chai';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { execa } from 'execa';
import { edivBin } from '../../src/common/paths.ts';
import { clusterStatus, clusterUp } from '../../src/emulated/cluster.ts';
import { useEmulatedCluster } from '../helpers/emulated.ts';
import { emulatedHostNamespace, emulatedInstance } from '../../src/emulated/layout.ts';
import {
  INSTANCE,
  ediv,
  ping,
  recordedIds,
  repoRoot,
  setAgentStateDirs,
  settleTo,
  sh,
  snapshotHosts,
  thirdParty,
  vmNamespace,
  vmNamespaces,
  type HostSnapshot,
} from './helpers.ts';
import { haveThirdParty, itWithThirdParty } from '../helpers/third-party.ts';

const HOSTS = 3;
/**
 * The VNX tutorial (read from ../shared/third-party/vnx) with the files its filetrees name (the
 * third-party copy has the XML only), set up in `before`; the tests deploying it are skipped,
 * saying so, without it.
 */
let TUTORIAL: string;
const TUTORIAL_NAME = 'tutorial_lxc_ubuntu';
const OURS = path.join(repoRoot, 'scenarios', 'tutorial.xml');

describe('e2e: controller on a 3-host emulated cluster', function () {
  this.timeout(180_000);
  let work: string;
  let clusterDir: string;
  let clusterFile: string;
  let baseline: Record<string, HostSnapshot>;
  let stateN = 0;
  let state: string;
  /** A fresh controller state directory per test (the cluster is shared). */
  const newState = (): string => (state = path.join(work, `state${++stateN}`));
  const common = (): string[] => ['--cluster', clusterFile, '--state', state];

  const ec = useEmulatedCluster({ instance: INSTANCE, hosts: HOSTS, timeoutMs: 120_000 });

  before(async function () {
    work = mkdtempSync(path.join(os.tmpdir(), 'ediv-e2e-'));
    TUTORIAL = path.join(work, 'tutorial', path.basename(thirdParty('02-tutorial_lxc_ubuntu.xml')));
    for (const h of ['h3', 'h4']) {
      mkdirSync(path.join(work, 'tutorial/conf/tutorial_ubuntu', h), { recursive: true });
      writeFileSync(path.join(work, 'tutorial/conf/tutorial_ubuntu', h, 'index.html'), `<h1>${h}</h1>\n`);
    }
    if (haveThirdParty('vnx')) copyFileSync(thirdParty('02-tutorial_lxc_ubuntu.xml'), TUTORIAL);
    clusterDir = ec.dir;
    clusterFile = ec.clusterFile;
    setAgentStateDirs(ec.cluster.hosts.map((h) => h.agentStateDir!));
    baseline = await snapshotHosts(HOSTS);
  });

  afterEach(async function () {
    this.timeout(120_000);
    // Whatever a failed test left recorded is removed through the product itself.
    if (!state) return;
    for (const name of Object.keys((await recordedIds(state)))) await ediv(['undeploy', name, '--purge', '--state', state]);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Nothing of `deployment` on any host: no namespace, link or extra process; no id recorded. */
  async function expectNothingLeft(deployments: string[]): Promise<void> {
    for (const d of deployments) expect(await vmNamespaces(d), `namespaces of ${d}`).to.deep.equal([]);
    expect(await settleTo(baseline, HOSTS)).to.deep.equal(baseline);
    expect((await recordedIds(state))).to.deep.equal({});
  }

  itWithThirdParty('deploys the VNX tutorial round-robin: VMs on different hosts reach each other through r1 and r2; exec output per VM; undeploy leaves nothing', async () => {
    newState();
    const dep = await ediv(['deploy', TUTORIAL, ...common(), '--segmentator', 'round-robin', '--json']);
    expect(dep.code, dep.stderr).to.equal(0);
    const where = Object.fromEntries((dep.json.mapping as { vm: string; host: string }[]).map((m) => [m.vm, m.host]));
    expect(Object.keys(where).sort()).to.deep.equal(['h1', 'h2', 'h3', 'h4', 'r1', 'r2']);
    // Round-robin in document order: h1 host1, h2 host2, r1 host3, r2 host1, h3 host2, h4 host3.
    expect(where).to.deep.equal({ h1: 'host1', h2: 'host2', r1: 'host3', r2: 'host1', h3: 'host2', h4: 'host3' });
    expect(dep.json.spanning.length).to.be.greaterThan(0);
    expect(
      dep.json.warnings.filter((w: { feature: string }) => w.feature === 'deploy'),
      'no deploy warning: every host answered and its discovery daemon started',
    ).to.deep.equal([]);
    // One SSH connection and one agent process per host did the facts, the apply and the discovery daemon's start.
    expect(dep.json.connections).to.deep.equal({ host1: 1, host2: 1, host3: 1 });
    expect(dep.json.agentProcesses).to.deep.equal({ host1: 1, host2: 1, host3: 1 });
    const running = await snapshotHosts(HOSTS);
    for (const h of ['host1', 'host2', 'host3']) {
      expect(running[h]!.pids.length, `${h} runs its discovery daemon`).to.be.greaterThan(baseline[h]!.pids.length);
    }
    // Progress came as JSON lines on stderr (not a TTY).
    const events = dep.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; host?: string });
    expect(events.some((e) => e.type === 'progress' && e.host === 'host2')).to.equal(true);

    // h1 (host1) → r1 (host3) → r2 (host1) → h3 (host2), and back; IPv4 addressing and routes as written.
    const h1 = await vmNamespace(TUTORIAL_NAME, 'h1');
    const h4 = await vmNamespace(TUTORIAL_NAME, 'h4');
    expect(await ping(h1, '10.1.0.1'), 'h1 → r1 (Net0)').to.equal(true);
    expect(await ping(h1, '10.1.2.2'), 'h1 → h3 through r1 and r2').to.equal(true);
    expect(await ping(h4, '10.1.0.3'), 'h4 → h2 through r2 and r1').to.equal(true);
    expect(await ping(h1, '10.1.9.9'), 'an address nobody has').to.equal(false);
    const trace = await sh('ip', ['netns', 'exec', h1, 'ping', '-c', '1', '-W', '2', '-t', '2', '10.1.2.2']);
    expect(trace, 'TTL 2 is not enough to cross two routers').to.not.match(/ 0% packet loss/);

    // An exec sequence (a cmd-seq of four) comes back per VM and per command; only h2 has it.
    const ex = await ediv(['exec', TUTORIAL_NAME, 'ls1234', '--state', state, '--json']);
    expect(ex.code, ex.stderr).to.equal(0);
    expect(ex.json.vms.map((v: { vm: string; host: string }) => [v.vm, v.host])).to.deep.equal([['h2', 'host2']]);
    const cmds = ex.json.vms[0].commands as { command: string; stdout: string; exitCode: number }[];
    expect(cmds.map((c) => c.command.trim())).to.deep.equal(['ls -al /tmp', 'ls -al /root', 'ls -al /usr', 'ls -al /bin']);
    expect(cmds.map((c) => c.exitCode), JSON.stringify(cmds)).to.deep.equal([0, 0, 0, 0]);
    expect(cmds[2]!.stdout).to.match(/total \d+/);

    // The tutorial's <host> section: the host that runs r1 (host3) has its own interface on Net3
    // (10.1.3.2) and the route to 10.1.0.0/16 through r1, so it reaches r1 and h1 behind it.
    const host3 = emulatedHostNamespace(3, INSTANCE);
    expect(await ping(host3, '10.1.3.1'), 'host3 → r1 on Net3').to.equal(true);
    expect(await ping(host3, '10.1.0.2'), 'host3 → h1 through r1').to.equal(true);

    // h3's start-www: its filetree puts the page in h3's own /var/www/html and its exec starts
    // apache2 inside h3 (container VM); h1, on another host, fetches the page across r1 and r2.
    const www = await ediv(['exec', TUTORIAL_NAME, 'start-www', '--vm', 'h3', '--state', state, '--json']);
    expect(www.code, JSON.stringify(www.json?.vms ?? www.stderr)).to.equal(0);
    const hostPage = existsSync('/var/www/html/index.html') ? readFileSync('/var/www/html/index.html', 'utf8') : undefined;
    let page = '';
    for (let i = 0; i < 20 && !page.includes('<h1>h3</h1>'); i++) {
      page = await sh('ip', ['netns', 'exec', h1, 'wget', '-q', '-T', '2', '-O', '-', 'http://10.1.2.2/']);
      if (!page.includes('<h1>h3</h1>')) await new Promise((r) => setTimeout(r, 250));
    }
    expect(page).to.equal('<h1>h3</h1>'); // sh() drops the final newline
    expect(hostPage, 'the host\'s own /var/www/html is untouched').to.not.equal('<h1>h3</h1>\n');

    // Status: recorded and live.
    const st = await ediv(['status', TUTORIAL_NAME, '--state', state, '--json']);
    expect(st.code, st.stderr).to.equal(0);
    expect(st.json.scenarios[0].status).to.equal('running');
    expect(st.json.scenarios[0].vms.every((v: { live: string }) => v.live === 'running')).to.equal(true);
    expect(st.json.hosts.map((h: { host: string; reachable: boolean }) => [h.host, h.reachable])).to.deep.equal([
      ['host1', true], ['host2', true], ['host3', true],
    ]);

    const un = await ediv(['undeploy', TUTORIAL_NAME, '--state', state, '--json']);
    expect(un.code, un.stderr).to.equal(0);
    expect(un.json.freedIds.length).to.equal(dep.json.spanning.length);
    await expectNothingLeft([TUTORIAL_NAME]);
  }, 'vnx');

  itWithThirdParty('two scenarios deployed at once get distinct ids, both work, both undeploy cleanly', async () => {
    newState();
    const [a, b] = await Promise.all([
      ediv(['deploy', TUTORIAL, ...common(), '--json']),
      ediv(['deploy', OURS, ...common(), '--json']),
    ]);
    expect(a.code, a.stdout.slice(-3000) + a.stderr).to.equal(0);
    expect(b.code, b.stdout.slice(-3000) + b.stderr).to.equal(0);
    const idsA = (a.json.spanning as { id: number }[]).map((s) => s.id);
    const idsB = (b.json.spanning as { id: number }[]).map((s) => s.id);
    expect(idsA.length).to.be.greaterThan(0);
    expect(idsB.length).to.be.greaterThan(0);
    expect(idsA.filter((id) => idsB.includes(id))).to.deep.equal([]);

    // Same addresses in both labs, yet each lab only sees its own VMs.
    expect(await ping(await vmNamespace(TUTORIAL_NAME, 'h1'), '10.1.2.2')).to.equal(true);
    const ex = await ediv(['exec', 'tutorial', 'ping-across', '--state', state, '--json']);
    expect(ex.code, JSON.stringify(ex.json ?? ex.stderr)).to.equal(0);
    expect(ex.json.vms.map((v: { vm: string }) => v.vm)).to.deep.equal(['h1', 'h2', 'h3', 'h4']);
    expect(ex.json.vms[0].commands[0].stdout).to.match(/2 received/);

    const [ua, ub] = await Promise.all([
      ediv(['undeploy', TUTORIAL_NAME, '--state', state]),
      ediv(['undeploy', 'tutorial', '--state', state]),
    ]);
    expect(ua.code, ua.stderr).to.equal(0);
    expect(ub.code, ub.stderr).to.equal(0);
    await expectNothingLeft([TUTORIAL_NAME, 'tutorial']);
  }, 'vnx');

  it('a host whose agent fails mid-apply: everything is rolled back on every host and the error names the host', async () => {
    newState();
    // A real conflict on host2 only: a foreign VXLAN device already holds the VNIs the plan
    // will allocate (the first ids of the range), so the agent's vxlan link cannot be made.
    const ns2 = emulatedHostNamespace(2, INSTANCE);
    const cluster = YAML.parse(readFileSync(clusterFile, 'utf8')) as { ids: { first: number } };
    const first = cluster.ids.first;
    const foreign: string[] = [];
    try {
      for (let k = 0; k < 4; k++) {
        const name = `ediv7x${k}`;
        await sh('ip', ['-n', ns2, 'link', 'add', name, 'type', 'vxlan', 'id', String(first + k), 'dstport', '4789', 'dev', 'eth0']);
        foreign.push(name);
      }
      const before = await snapshotHosts(HOSTS);
      const dep = await ediv(['deploy', OURS, ...common(), '--json']);
      expect(dep.code).to.equal(1);
      expect(dep.json.error).to.equal('operation-failed');
      expect(dep.json.host).to.equal('host2');
      expect(dep.json.message).to.match(/failed on host2/);
      expect(dep.json.message).to.match(/rolled back/);
      expect(dep.json.details.rolledBack).to.equal(true);
      expect(await vmNamespaces('tutorial')).to.deep.equal([]);
      expect(await settleTo(before, HOSTS)).to.deep.equal(before);
      expect((await recordedIds(state))).to.deep.equal({});
    } finally {
      for (const name of foreign) await sh('ip', ['-n', ns2, 'link', 'del', name]);
    }
    await expectNothingLeft(['tutorial']);
  });

  it('--keep-on-failure leaves the failed deploy recorded, and undeploy removes it', async () => {
    newState();
    const ns3 = emulatedHostNamespace(3, INSTANCE);
    const cluster = YAML.parse(readFileSync(clusterFile, 'utf8')) as { ids: { first: number } };
    const foreign: string[] = [];
    try {
      for (let k = 0; k < 4; k++) {
        await sh('ip', ['-n', ns3, 'link', 'add', `ediv7y${k}`, 'type', 'vxlan', 'id', String(cluster.ids.first + k), 'dstport', '4789', 'dev', 'eth0']);
        foreign.push(`ediv7y${k}`);
      }
      const dep = await ediv(['deploy', OURS, ...common(), '--keep-on-failure', '--json']);
      expect(dep.code).to.equal(1);
      expect(dep.json.message).to.match(/failed on host3/);
      const st = await ediv(['status', 'tutorial', '--state', state, '--json']);
      expect(st.json.scenarios[0].status).to.equal('failed');
      expect((await vmNamespaces('tutorial')).length).to.be.greaterThan(0);
    } finally {
      for (const name of foreign) await sh('ip', ['-n', ns3, 'link', 'del', name]);
    }
    const un = await ediv(['undeploy', 'tutorial', '--state', state]);
    expect(un.code, un.stderr).to.equal(0);
    await expectNothingLeft(['tutorial']);
  });

  it('a host that is down at deploy time is excluded with a warning naming it; a deploy that needs it fails before touching anything', async () => {
    newState();
    const st = await clusterStatus({ instance: INSTANCE, dir: clusterDir });
    const pid = st.hosts.find((h) => h.name === 'host3')!.sshd!;
    process.kill(pid, 'SIGTERM'); // the sshd our cluster started for host3
    try {
      await waitFor(async () => !(await clusterStatus({ instance: INSTANCE, dir: clusterDir })).hosts[2]!.up);

      // Needs host3 (--host): refused, nothing recorded, nothing made anywhere.
      const pinned = await ediv(['deploy', OURS, ...common(), '--host', 'host3', '--json']);
      expect(pinned.code).to.equal(1);
      expect(pinned.json.host).to.equal('host3');
      expect(pinned.json.message).to.match(/host3/);
      expect((await recordedIds(state))).to.deep.equal({});
      expect(await vmNamespaces('tutorial')).to.deep.equal([]);

      // Otherwise the lab goes to the hosts that answer.
      const dep = await ediv(['deploy', OURS, ...common(), '--json']);
      expect(dep.code, dep.stderr).to.equal(0);
      expect(dep.json.excludedHosts.map((e: { host: string }) => e.host)).to.deep.equal(['host3']);
      expect(dep.json.warnings.map((w: { message: string }) => w.message).join('\n')).to.match(/host3 excluded/);
      expect(new Set(dep.json.mapping.map((m: { host: string }) => m.host))).to.deep.equal(new Set(['host1', 'host2']));
      const ex = await ediv(['exec', 'tutorial', 'ping-across', '--state', state, '--json']);
      expect(ex.code, JSON.stringify(ex.json)).to.equal(0);
      const un = await ediv(['undeploy', 'tutorial', '--state', state]);
      expect(un.code, un.stderr).to.equal(0);
    } finally {
      await clusterUp({ hosts: HOSTS, instance: INSTANCE, dir: clusterDir }); // restarts host3's sshd
    }
    baseline = await snapshotHosts(HOSTS); // host3's sshd has a new pid
    await expectNothingLeft(['tutorial']);
  });

  it('an unknown host key is refused (nothing recorded or made); --accept-new-host-keys accepts it', async () => {
    newState();
    const doc = YAML.parse(readFileSync(clusterFile, 'utf8')) as { hosts: { ssh: { knownHosts?: string } }[] };
    const known = path.join(work, 'empty_known_hosts');
    writeFileSync(known, '');
    for (const h of doc.hosts) h.ssh.knownHosts = known;
    const file = path.join(work, 'cluster-unknown-keys.yaml');
    writeFileSync(file, YAML.stringify(doc));

    const dep = await ediv(['deploy', OURS, '--cluster', file, '--state', state, '--json']);
    expect(dep.code).to.equal(1);
    expect(dep.json.message).to.match(/host key/i);
    expect(dep.json.message).to.match(/--accept-new-host-keys/);
    expect((await recordedIds(state))).to.deep.equal({});
    expect(await vmNamespaces('tutorial')).to.deep.equal([]);

    const check = await ediv(['cluster', 'check', '--cluster', file, '--state', state, '--json']);
    expect(check.code).to.equal(1);
    expect(check.json.problems.length).to.equal(HOSTS);

    const ok = await ediv(['cluster', 'check', '--cluster', file, '--state', state, '--accept-new-host-keys', '--json']);
    expect(ok.code, JSON.stringify(ok.json?.problems ?? ok.stderr)).to.equal(0);
    expect(readFileSync(known, 'utf8').split('\n').filter(Boolean)).to.have.length(HOSTS);
  });

  /** Runs `ediv deploy` of our scenario and sends `signal` to it once an agent is applying. */
  async function deployAndSignal(signal: NodeJS.Signals): Promise<{ sent: boolean; exitCode?: number; signal?: string; stderr: string }> {
    const child = execa(process.execPath, [edivBin, 'deploy', OURS, ...common(), '--json'], { reject: false });
    let sent = false;
    child.stderr!.on('data', (chunk: Buffer) => {
      if (!sent && /"host":"host\d","step":"(plan|host|vms)"/.test(String(chunk))) {
        sent = true;
        child.kill(signal); // the controller we started, by its pid
      }
    });
    const r = await child;
    return { sent, exitCode: r.exitCode, signal: r.signal, stderr: String(r.stderr) };
  }

  it('a controller killed with SIGKILL mid-deploy: a later undeploy removes everything that was made', async () => {
    newState();
    const r = await deployAndSignal('SIGKILL');
    expect(r.sent, 'the deploy was killed while the agents were applying').to.equal(true);
    expect(r.signal).to.equal('SIGKILL');
    expect(Object.keys((await recordedIds(state)))).to.deep.equal(['tutorial']); // recorded before any host was touched
    const un = await ediv(['undeploy', 'tutorial', '--state', state]);
    expect(un.code, un.stderr).to.equal(0);
    await expectNothingLeft(['tutorial']);
  });

  it('Ctrl-C (SIGINT) mid-deploy stops cleanly: everything made is rolled back, the ids are freed', async () => {
    newState();
    const r = await deployAndSignal('SIGINT');
    expect(r.sent, 'the deploy was interrupted while the agents were applying').to.equal(true);
    expect(r.exitCode, r.stderr).to.equal(1);
    expect(r.stderr).to.match(/SIGINT/);
    // Nothing recorded, nothing left on any host: the same guarantee as a failed host.
    await expectNothingLeft(['tutorial']);
  });

  it('a bad scenario is refused before anything is touched: exit 2, located message, no record, no namespace', async () => {
    newState();
    const bad = path.join(work, 'bad.xml');
    writeFileSync(
      bad,
      readFileSync(OURS, 'utf8').replace('<if id="1" net="Net2">\n      <ipv4>10.1.2.2/24</ipv4>', '<if id="1" net="NetX">\n      <ipv4>10.1.2.2/24</ipv4>'),
    );
    const before = await snapshotHosts(HOSTS);
    const dep = await ediv(['deploy', bad, ...common()]);
    expect(dep.code).to.equal(2);
    expect(dep.stderr).to.match(/bad\.xml:\d+(:\d+)?: .*NetX/);
    expect(dep.stderr).to.not.match(/\n\s+at /); // no stack trace
    expect((await recordedIds(state))).to.deep.equal({});
    expect(await vmNamespaces('tutorial')).to.deep.equal([]);
    expect(await snapshotHosts(HOSTS)).to.deep.equal(before);
  });

  it('after deploy, discover shows every host with exactly the VMs the plan put there; after undeploy they are gone', async () => {
    newState();
    const bridge = emulatedInstance(INSTANCE).bridge;
    const dep = await ediv(['deploy', OURS, ...common(), '--json']);
    expect(dep.code, dep.stderr).to.equal(0);
    const planned: Record<string, string[]> = {};
    for (const m of dep.json.mapping as { vm: string; host: string }[]) (planned[m.host] ??= []).push(m.vm);
    for (const vms of Object.values(planned)) vms.sort();

    const found = await ediv(['discover', '--interface', bridge, '--timeout', '3', '--json']);
    expect(found.code, found.stderr).to.equal(0);
    const seen: Record<string, string[]> = {};
    for (const hv of found.json.hypervisors as { host: string; vms: { name: string; lab: string; deployment: string; services: unknown[] }[] }[]) {
      // Shown by lab name; identified by the lab's key on the hosts (`tutorial.<uid>`).
      const ours = hv.vms.filter((v) => v.lab === 'tutorial' && /^tutorial\.[a-z2-7]{6}$/.test(v.deployment));
      expect(ours.every((v) => v.services.length > 0), `${hv.host}: every VM offers its management service`).to.equal(true);
      if (ours.length > 0) seen[hv.host] = ours.map((v) => v.name).sort();
    }
    expect(seen).to.deep.equal(planned);

    // A VM's state changes through the SOAP action the tree offers, signed with the cluster's
    // key (in the controller's state); without the key the daemon refuses to stop it.
    const unsigned = await ediv(['discover', 'call', 'tutorial/h1', 'Stop', '--interface', bridge, '--state', path.join(work, 'no-state'), '--json']);
    expect(unsigned.code, unsigned.stdout + unsigned.stderr).to.not.equal(0);
    const stop = await ediv(['discover', 'call', 'tutorial/h1', 'Stop', '--interface', bridge, '--state', state, '--json']);
    expect(stop.code, stop.stderr).to.equal(0);
    const st = await ediv(['status', 'tutorial', '--state', state, '--json']);
    const h1 = (st.json.scenarios[0].vms as { vm: string; live: string }[]).find((v) => v.vm === 'h1');
    expect(h1?.live).to.equal('stopped');

    const un = await ediv(['undeploy', 'tutorial', '--state', state]);
    expect(un.code, un.stderr).to.equal(0);
    const after = await ediv(['discover', '--interface', bridge, '--timeout', '2', '--json']);
    expect(after.code, after.stderr).to.equal(0);
    const left = (after.json.hypervisors as { vms: { deployment: string }[] }[]).flatMap((hv) => hv.vms.filter((v) => v.deployment === 'tutorial'));
    expect(left).to.deep.equal([]);
    await expectNothingLeft(['tutorial']);
  });

  it('cluster check reports every host ready; deploying a name twice and unknown names are refused', async () => {
    newState();
    const check = await ediv(['cluster', 'check', '--cluster', clusterFile, '--state', state, '--json']);
    expect(check.code, JSON.stringify(check.json?.problems ?? check.stderr)).to.equal(0);
    expect(check.json.hosts.map((h: { host: string; root: boolean }) => [h.host, h.root])).to.deep.equal([
      ['host1', true], ['host2', true], ['host3', true],
    ]);

    const dep = await ediv(['deploy', OURS, ...common(), '--json']);
    expect(dep.code, dep.stderr).to.equal(0);
    const again = await ediv(['deploy', OURS, ...common(), '--json']);
    expect(again.code).to.equal(1);
    expect(again.json.details.reason).to.equal('already-deployed');
    const noSeq = await ediv(['exec', 'tutorial', 'no-such-seq', '--state', state]);
    expect(noSeq.code).to.equal(2);
    expect(noSeq.stderr).to.match(/show-addresses/);
    const noName = await ediv(['undeploy', 'nope', '--state', state]);
    expect(noName.code).to.equal(2);
    const un = await ediv(['undeploy', 'tutorial', '--state', state]);
    expect(un.code, un.stderr).to.equal(0);
    await expectNothingLeft(['tutorial']);
  });
});

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}
