// The agent on one emulated host (namespace edivt-h1): apply the VNX tutorial, check the
// kernel state, ping across routers, exec, idempotent apply, destroy; crash during a big apply.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Journal } from '../../../src/host-agent/journal.ts';
import type { AgentExecResult, ApplyResult, FactsResult, LabFile, StatusResult, VmActionResult } from '../../../src/protocol/agent.ts';
import {
  addHostNs,
  bigFragment,
  isRoot,
  linksIn,
  namespacesWith,
  removeNamespaces,
  runAgent,
  sh,
  startAgent,
  tempDir,
} from './helpers.ts';
import { haveThirdParty, itWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

const HOST = 'edivt-h1';
const DEP = 'edivt-tut';
const BIG = 'edivt-big';

// The VNX tutorial, read in place from ../shared/third-party/vnx (in `before`, when it is there:
// the tests applying it are skipped, saying so, without it).
const TUTORIAL = thirdPartyPath('vnx', '02-tutorial_lxc_ubuntu.xml');
/** The tutorial plus a few sequences this test runs (h1 pings h3 across r1 and r2); set in `before`. */
let fragment = '';
const tutorialFragment = (tutorial: string) => tutorial
  .replace(
    '<route type="ipv6" gw="2001:db8:0::1">default</route>\n  </vm>',
    '<route type="ipv6" gw="2001:db8:0::1">default</route>\n' +
      '    <exec seq="ping" type="verbatim">ping -c1 -W3 10.1.2.2 &amp;&amp; ping -6 -c1 -W3 2001:db8:2::2</exec>\n' +
      '    <exec seq="fail" type="verbatim">echo out; echo err >&amp;2; exit 3</exec>\n' +
      '    <exec seq="fail" type="verbatim">hostname; ip -o -4 addr show dev eth1</exec>\n' +
      '  </vm>',
  )
  .replaceAll(
    '<exec seq="stop-www" type="verbatim"  ostype="system">service apache2 stop</exec>',
    '<exec seq="stop-www" type="verbatim"  ostype="system">service apache2 stop</exec>\n' +
      '    <exec seq="show" type="verbatim">cat /var/www/html/index.html; hostname</exec>',
  );

// The tutorial's filetree sources (conf/tutorial_ubuntu/h3/*, h4/*), carried by the apply request.
const files: LabFile[] = ['h3', 'h4'].flatMap((h): LabFile[] => [
  { path: `lab/conf/tutorial_ubuntu/${h}`, type: 'dir', mode: 0o755 },
  { path: `lab/conf/tutorial_ubuntu/${h}/index.html`, type: 'file', mode: 0o644, dataBase64: Buffer.from(`<h1>${h}</h1>\n`).toString('base64') },
]);

describe('integration: ediv agent on one host namespace', function () {
  this.timeout(120_000);
  let stateDir: string;

  before(function () {
    if (!isRoot) {
      console.log('    (skipped: the agent integration tests need root)');
      this.skip();
    }
    removeNamespaces([HOST]); // left over by an interrupted run
    addHostNs(HOST);
    stateDir = tempDir('state');
    if (haveThirdParty('vnx')) fragment = tutorialFragment(fs.readFileSync(TUTORIAL, 'utf8'));
  });

  after(() => {
    if (!isRoot) return;
    removeNamespaces([...namespacesWith(`${DEP}.`), ...namespacesWith(`${BIG}.`)]);
    removeNamespaces([HOST]);
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const apply = () =>
    runAgent(HOST, 'apply', { deployment: DEP, host: 'h1', fragmentXml: fragment, files, backplane: [] }, stateDir);
  const ns = (vm: string) => namespacesWith(`${DEP}.${vm}.`)[0];

  it('facts: real capabilities, no 8021q here', async () => {
    const r = await runAgent(HOST, 'facts', {}, stateDir);
    expect(r.code).to.equal(0);
    const f = r.result.result as FactsResult;
    expect(f.root).to.equal(true);
    expect(f.capabilities).to.include({ netns: true, bridge: true, veth: true, vxlan: true });
    expect(f.capabilities.vlan8021q).to.equal(fs.existsSync('/proc/net/vlan/config'));
    expect(f.drivers).to.include('netns');
  });

  it('a bad request is refused with exit 2 and a clear message', async () => {
    const r = await runAgent(HOST, 'apply', { deployment: 'bad name', host: 'h1', backplane: [] }, stateDir);
    expect(r.code).to.equal(2);
    expect(r.result.ok).to.equal(false);
    expect(r.result.error!.message).to.match(/deployment: must be a name/).and.match(/fragmentXml: must be a non-empty string/);
  });

  itWithThirdParty('vlan backplane on a kernel without 8021q fails early, suggesting vxlan, making nothing', async function () {
    if (fs.existsSync('/proc/net/vlan/config')) this.skip();
    const r = await runAgent(
      HOST,
      'apply',
      { deployment: DEP, host: 'h1', fragmentXml: fragment, files, backplane: [{ kind: 'vlan', net: 'Net0', id: 100, trunk: 'lo', remotes: [] }] },
      stateDir,
    );
    expect(r.code).to.equal(1);
    expect(r.result.error!.message).to.match(/802\.1q/).and.match(/vxlan/);
    expect(namespacesWith(`${DEP}.`)).to.deep.equal([]);
    expect(linksIn(HOST)).to.deep.equal([]);
  }, 'vnx');

  itWithThirdParty('apply makes one namespace per VM with the addresses, routes and forwarding of the fragment', async () => {
    const r = await apply();
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    const res = r.result.result as ApplyResult;
    expect(res.vms.map((v) => v.name)).to.deep.equal(['h1', 'h2', 'r1', 'r2', 'h3', 'h4']);
    expect(res.links.every((l) => l.length <= 15)).to.equal(true);
    expect(namespacesWith(`${DEP}.`)).to.have.length(6);
    const addrs = sh('ip', ['-n', ns('r1'), '-o', 'addr', 'show']);
    for (const a of ['10.1.0.1/24', '10.1.1.1/24', '10.1.3.1/24', '2001:db8::1/64', '2001:db8:1::1/64', '2001:db8:3::1/64']) {
      expect(addrs).to.contain(a);
    }
    expect(sh('ip', ['-n', ns('r1'), 'route', 'show', '10.1.2.0/24'])).to.contain('via 10.1.1.2 dev eth2');
    expect(sh('ip', ['-n', ns('h1'), 'route', 'show', 'default'])).to.contain('via 10.1.0.1 dev eth1');
    expect(sh('ip', ['-n', ns('h1'), '-6', 'route', 'show', 'default'])).to.contain('via 2001:db8::1 dev eth1');
    expect(sh('ip', ['netns', 'exec', ns('r1'), 'sysctl', '-n', 'net.ipv4.ip_forward']).trim()).to.equal('1');
    expect(sh('ip', ['netns', 'exec', ns('h1'), 'sysctl', '-n', 'net.ipv4.ip_forward']).trim()).to.equal('0');
    // The bridges and veth ends are in the host namespace, not in the machine's.
    const journaled = (kind: string) => Journal.open(path.join(stateDir, 'deployments', DEP)).resources().filter((r) => r.kind === kind).map((r) => r.name);
    expect(linksIn(HOST)).to.include.members([...journaled('bridge'), ...journaled('veth')]);
    expect(journaled('bridge')).to.have.length(4);
    expect(journaled('veth')).to.have.length(9);
    // Readable where lab and net (VM and interface) fit in 15 characters.
    expect(journaled('bridge')).to.include('edivt-tut-Net0');
    expect(journaled('veth')).to.include('edivt-tut-r1-3');
  }, 'vnx');

  itWithThirdParty('exec: ping across two routers, output and exit codes per command', async () => {
    const ping = await runAgent(HOST, 'exec', { deployment: DEP, host: 'h1', seq: 'ping', vms: ['h1'] }, stateDir);
    expect(ping.code).to.equal(0);
    const [h1] = (ping.result.result as AgentExecResult).vms;
    expect(h1.commands[0].exitCode, h1.commands[0].stdout + h1.commands[0].stderr).to.equal(0);
    expect(h1.commands[0].stdout).to.match(/1 received/);

    const fail = await runAgent(HOST, 'exec', { deployment: DEP, host: 'h1', seq: 'fail' }, stateDir);
    const res = fail.result.result as AgentExecResult;
    expect(res.vms.map((v) => [v.name, v.commands.length])).to.deep.equal([
      ['h1', 2],
      ['h2', 0],
      ['r1', 0],
      ['r2', 0],
      ['h3', 0],
      ['h4', 0],
    ]);
    expect(res.vms[0].commands[0]).to.deep.include({ stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
    expect(res.vms[0].commands[1].exitCode).to.equal(0);
    expect(res.vms[0].commands[1].stdout).to.contain('10.1.0.2/24');
  }, 'vnx');

  itWithThirdParty('exec: cmd-seq expansion runs ls1 then ls2 on h2', async () => {
    const r = await runAgent(HOST, 'exec', { deployment: DEP, host: 'h1', seq: 'ls12', vms: ['h2'] }, stateDir);
    const cmds = (r.result.result as AgentExecResult).vms[0].commands;
    expect(cmds.map((c) => c.command)).to.deep.equal(['ls -al /tmp', 'ls -al /root']);
    expect(cmds.every((c) => c.exitCode === 0)).to.equal(true);
  }, 'vnx');

  itWithThirdParty('filetrees reach the VM’s view of /var/www/html, not the host’s', async () => {
    // The host's own page, if it has one (a host with apache2 installed does): it must not change.
    const hostPage = () => (fs.existsSync('/var/www/html/index.html') ? fs.readFileSync('/var/www/html/index.html', 'utf8') : undefined);
    const before = hostPage();
    const www = await runAgent(HOST, 'exec', { deployment: DEP, host: 'h1', seq: 'start-www', vms: ['h3'] }, stateDir);
    expect(www.code, JSON.stringify(www.result)).to.equal(0);
    const cmds = (www.result.result as AgentExecResult).vms[0].commands;
    expect(cmds[0]).to.deep.include({ command: 'filetree conf/tutorial_ubuntu/h3/* -> /var/www/html', exitCode: 0 });
    const show = await runAgent(HOST, 'exec', { deployment: DEP, host: 'h1', seq: 'show', vms: ['h3', 'h4'] }, stateDir);
    const [h3, h4] = (show.result.result as AgentExecResult).vms;
    expect(h3.commands[0].stdout).to.equal('<h1>h3</h1>\nh3\n');
    expect(h4.commands[0].exitCode).to.equal(0); // hostname runs last
    expect(h4.commands[0].stdout).to.match(/(^|\n)h4\n$/); // h4 sees the host's page (or none), never h3's
    expect(h4.commands[0].stdout).to.not.include('<h1>h3</h1>');
    expect(hostPage()).to.equal(before);
    // start-www also started apache2 in h3 where the host has it: a netns VM shares the host's
    // files, so stop it the tutorial's way (its pid file and logs are the host's).
    const stop = await runAgent(HOST, 'exec', { deployment: DEP, host: 'h1', seq: 'stop-www', vms: ['h3'] }, stateDir);
    expect(stop.code, JSON.stringify(stop.result)).to.equal(0);
  }, 'vnx');

  itWithThirdParty('apply twice changes nothing the second time', async () => {
    const journal = fs.readFileSync(path.join(stateDir, 'deployments', DEP, 'journal.jsonl'), 'utf8');
    const inode = fs.statSync(`/run/netns/${ns('h1')}`).ino;
    const r = await apply();
    expect(r.code).to.equal(0);
    const plan = r.lines.find((l) => l.type === 'progress' && l.step === 'plan');
    expect(plan).to.deep.include({ total: 0 });
    expect(r.lines.some((l) => l.type === 'progress' && l.step === 'host')).to.equal(false);
    expect(fs.readFileSync(path.join(stateDir, 'deployments', DEP, 'journal.jsonl'), 'utf8')).to.equal(journal);
    expect(fs.statSync(`/run/netns/${ns('h1')}`).ino).to.equal(inode);
  }, 'vnx');

  itWithThirdParty('an edited fragment re-applied: unchanged VMs keep running, a removed VM and a removed net go, a changed VM is remade', async () => {
    // Without h4, Net3 (r1's third interface and the <host> section's net) and the <host> section.
    const edited = fragment
      .replace(/<vm name="h4"[\s\S]*?<\/vm>/, '')
      .replace(/<host>[\s\S]*?<\/host>/, '')
      .replace('<net name="Net3" mode="virtual_bridge" />', '')
      .replace(/<if id="3" net="Net3">[\s\S]*?<\/if>/, '');
    expect(edited.replace(/<!--[\s\S]*?-->/g, '')).to.not.contain('Net3');
    const journal = () => Journal.open(path.join(stateDir, 'deployments', DEP));
    const net3Bridge = journal().get('bridge:Net3')!.name;
    const h4 = ns('h4');
    const macOf = (vm: string) => sh('ip', ['-n', ns(vm)!, '-brief', 'link', 'show', 'dev', 'eth1']).trim().split(/\s+/)[2];
    const r1Mac = macOf('r1');
    const inodes = Object.fromEntries(['h1', 'h2', 'r2', 'h3'].map((vm) => [vm, fs.statSync(`/run/netns/${ns(vm)}`).ino]));
    const r = await runAgent(HOST, 'apply', { deployment: DEP, host: 'h1', fragmentXml: edited, files, backplane: [] }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    const res = r.result.result as ApplyResult;
    expect(res.made).to.deep.equal(['r1']);
    expect(res.vms.map((v) => v.name)).to.deep.equal(['h1', 'h2', 'r1', 'r2', 'h3']);
    for (const [vm, ino] of Object.entries(inodes)) expect(fs.statSync(`/run/netns/${ns(vm)}`).ino, vm).to.equal(ino);
    expect(namespacesWith(`${DEP}.h4.`)).to.deep.equal([]);
    expect(fs.existsSync(`/run/netns/${h4}`)).to.equal(false);
    expect(linksIn(HOST)).to.not.include(net3Bridge);
    expect(journal().get('bridge:Net3')).to.equal(undefined);
    expect(sh('ip', ['-n', ns('r1')!, '-brief', 'link']).split('\n').map((l) => l.split(/[\s@]/)[0])).to.not.include('eth3');
    // The original again: r1 and h4 are made, Net3 and the <host> section come back.
    const back = await apply();
    expect(back.code).to.equal(0);
    expect((back.result.result as ApplyResult).made).to.deep.equal(['r1', 'h4']);
    expect(journal().get('bridge:Net3')).to.not.equal(undefined);
    // Remade twice, r1 kept its MAC (derived, not random): h1's ARP entry for its gateway is still right.
    expect(macOf('r1')).to.match(/^02:/).and.equal(r1Mac);
    const ping = (await runAgent(HOST, 'exec', { deployment: DEP, host: 'h1', seq: 'ping', vms: ['h1'] }, stateDir)).result.result as AgentExecResult;
    expect(ping.vms[0].commands[0].exitCode, JSON.stringify(ping.vms[0].commands[0])).to.equal(0);
  }, 'vnx');

  itWithThirdParty('status reports the VMs as running', async () => {
    const r = await runAgent(HOST, 'status', { host: 'h1' }, stateDir);
    const s = r.result.result as StatusResult;
    expect(s.deployments.map((d) => d.name)).to.deep.equal([DEP]);
    expect(s.deployments[0].vms.every((v) => v.state === 'running')).to.equal(true);
  }, 'vnx');

  itWithThirdParty('VM life cycle (the agent’s vm op): suspend freezes the VM’s processes and unplugs its cables; resume, stop, start', async () => {
    const { listVms, vmAction: localAction } = await import('../../../src/host-agent/inventory.ts');
    // Through the agent, in the host's namespace (where the VMs' cables are).
    const vmAction = async (_stateDir: string, deployment: string, vm: string, action: string) => {
      if (action === 'status') return localAction(stateDir, deployment, vm, 'status');
      const r = await runAgent(HOST, 'vm', { deployment, host: 'h1', action, vms: [vm] }, stateDir);
      expect(r.code, JSON.stringify(r.result)).to.equal(0);
      const [v] = (r.result.result as VmActionResult).vms;
      expect(v!.error).to.equal(undefined);
      return v!;
    };
    const procState = (pid: string) => fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
    // The VM's own end stays up (its addresses and routes stay); its cable carries no signal.
    // Carrier changes reach the flags with a delay: wait up to 3 s for the one expected.
    const carrier = (vm: string) => {
      const flags = JSON.parse(sh('ip', ['-n', ns(vm), '-j', 'link', 'show', 'dev', 'eth1']))[0].flags as string[];
      expect(flags).to.include('UP');
      return !flags.includes('NO-CARRIER');
    };
    const linkUp = async (vm: string, expected: boolean) => {
      for (let i = 0; i < 30 && carrier(vm) !== expected; i++) await new Promise((r) => setTimeout(r, 100));
      return carrier(vm);
    };
    const holder = sh('ip', ['netns', 'pids', ns('h3')]).trim();
    expect((await vmAction(stateDir, DEP, 'h3', 'suspend')).state).to.equal('suspended');
    expect(procState(holder)).to.equal('T');
    expect(await linkUp('h3', false)).to.equal(false);
    expect((await listVms(stateDir)).find((v) => v.vm === 'h3')).to.deep.include({ deployment: DEP, host: 'h1', state: 'suspended' });
    expect((await vmAction(stateDir, DEP, 'h3', 'resume')).state).to.equal('running');
    expect(procState(holder)).to.equal('S');
    expect(await linkUp('h3', true)).to.equal(true);
    expect((await vmAction(stateDir, DEP, 'h1', 'stop')).state).to.equal('stopped');
    expect(await linkUp('h1', false)).to.equal(false);
    expect((await vmAction(stateDir, DEP, 'h1', 'status')).state).to.equal('stopped');
    expect((await vmAction(stateDir, DEP, 'h1', 'start')).state).to.equal('running');
    expect(await linkUp('h1', true)).to.equal(true);
  }, 'vnx');

  itWithThirdParty('destroy leaves nothing: no namespace, link, process or journal; destroy again succeeds', async () => {
    const holders = namespacesWith(`${DEP}.`).flatMap((n) => sh('ip', ['netns', 'pids', n]).split(/\s+/).filter(Boolean));
    expect(holders.length).to.equal(2); // h3 and h4 hold private file-system views
    const r = await runAgent(HOST, 'destroy', { deployment: DEP, host: 'h1' }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect(namespacesWith(`${DEP}.`)).to.deep.equal([]);
    expect(linksIn(HOST)).to.deep.equal([]);
    for (const pid of holders) expect(fs.existsSync(`/proc/${pid}/stat`) && !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))).to.equal(false);
    expect(fs.existsSync(path.join(stateDir, 'deployments', DEP))).to.equal(false);
    const again = await runAgent(HOST, 'destroy', { deployment: DEP, host: 'h1' }, stateDir);
    expect(again.code).to.equal(0);
  }, 'vnx');

  it('destroy after the agent is killed (SIGKILL) in the middle of a big apply leaves nothing', async () => {
    const fragmentXml = bigFragment(BIG, 400);
    const agent = startAgent(HOST, 'apply', { deployment: BIG, host: 'h1', fragmentXml, backplane: [] }, stateDir);
    // Kill it once it has journaled and started making things.
    const journalFile = path.join(stateDir, 'deployments', BIG, 'journal.jsonl');
    for (let i = 0; i < 2000 && !(fs.existsSync(journalFile) && namespacesWith(`${BIG}.`).length > 0); i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    process.kill(agent.child.pid!, 'SIGKILL');
    const killed = await agent.done;
    expect(killed.code).to.equal(-1);
    expect(killed.lines.some((l) => l.type === 'result')).to.equal(false);
    expect(Journal.open(path.dirname(journalFile)).resources().length).to.be.greaterThan(0);
    const r = await runAgent(HOST, 'destroy', { deployment: BIG, host: 'h1' }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect(namespacesWith(`${BIG}.`)).to.deep.equal([]);
    expect(linksIn(HOST)).to.deep.equal([]);
    expect(fs.existsSync(path.dirname(journalFile))).to.equal(false);
  });
});
