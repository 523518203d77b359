// End to end: working inside running labs on a 3-host emulated cluster (instance 25). Two copies
// of scenarios/tutorial.xml side by side (`deploy --name`, as for two students), one-off commands
// (`exec LAB -- …`, quoting-hostile text and argv), and VM life cycle over SSH (`ediv vm`): a
// stopped router cuts the path between its peers and `status` says it is stopped; started again,
// the path is back. Everything is removed by `ediv undeploy`, the cluster by the fixture.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { edivBin } from '../../src/common/paths.ts';
import { emulatedHostNamespace } from '../../src/emulated/layout.ts';
import { useEmulatedCluster } from '../helpers/emulated.ts';
import { ediv, recordedIds, repoRoot, useLabState, vmNamespaces } from './helpers.ts';

const INSTANCE = 25;
const TUTORIAL = path.join(repoRoot, 'scenarios', 'tutorial.xml');
const LABS = ['course-a', 'course-b'];

describe('e2e: working inside running labs (deploy --name, exec --, vm start/stop)', function () {
  this.timeout(300_000);
  const ec = useEmulatedCluster({ instance: INSTANCE, hosts: 3, timeoutMs: 120_000 });
  const labState = useLabState(ec, 'labwork');
  let state = '';
  before(() => (state = labState.state()));
  const common = () => ['--cluster', ec.clusterFile, '--state', state];

  const oneOff = (lab: string, vm: string, ...command: string[]) => ediv(['exec', lab, '--vm', vm, '--state', state, '--json', '--', ...command]);

  it('deploys one scenario twice side by side under two lab names, with distinct ids', async () => {
    const runs = await Promise.all(LABS.map((name) => ediv(['deploy', TUTORIAL, '--name', name, ...common(), '--json'])));
    for (const r of runs) expect(r.code, (r.stdout + r.stderr).slice(-3000)).to.equal(0);
    expect(runs.map((r) => r.json.scenario)).to.deep.equal(LABS);
    const ids = runs.map((r) => (r.json.spanning as { id: number }[]).map((s) => s.id));
    expect(ids[0]!.filter((id) => ids[1]!.includes(id))).to.deep.equal([]);
    for (const lab of LABS) expect(await vmNamespaces(lab)).to.have.length(6);
    const bad = await ediv(['deploy', TUTORIAL, '--name', 'no good', ...common()]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('--name');
  });

  it('a one-off command runs in each copy: h1 reaches h3 across hosts', async () => {
    for (const lab of LABS) {
      const r = await oneOff(lab, 'h1', 'ping', '-c1', '-W2', '10.1.2.2');
      expect(r.code, r.stdout).to.equal(0);
      expect(r.json.vms[0].commands[0].stdout).to.match(/1 received/);
    }
  });

  it('one word is shell text for the VM; several words are argv, never interpreted by a shell', async () => {
    const shell = await oneOff(LABS[0]!, 'h1', `printf '%s|' "$HOME" 'a b' "$(hostname)"; echo; exit 3`);
    expect(shell.code).to.equal(1);
    expect(shell.json.vms[0].commands[0]).to.include({ stdout: '/root|a b|h1|\n', exitCode: 3 });
    const argv = await oneOff(LABS[0]!, 'h1', 'printf', '%s\\n', 'a;b', '$(hostname)', '"quoted"');
    expect(argv.code, argv.stdout).to.equal(0);
    expect(argv.json.vms[0].commands[0].stdout).to.equal('a;b\n$(hostname)\n"quoted"\n');
    const none = await ediv(['exec', LABS[0]!, '--state', state, '--']);
    expect(none.code).to.equal(2);
  });

  it('status LAB shows each interface (addresses, MAC, host-side link) and each net’s bridge and backplane per host', async () => {
    const r = await ediv(['status', LABS[0]!, '--state', state, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const lab = r.json.scenarios[0];
    const h1 = (lab.vms as { vm: string; host: string; links: { name: string; net: string; hostSide: string; mac?: string; addresses: string[] }[] }[]).find((v) => v.vm === 'h1')!;
    const eth1 = h1.links.find((l) => l.name === 'eth1')!;
    expect(eth1).to.include({ net: 'Net0' });
    expect(eth1.addresses).to.include.members(['10.1.0.2/24', '2001:db8::2/64']);
    expect(eth1.mac).to.match(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    // The host-side name is a real link on that host (what tcpdump -i takes there).
    const hostNs = emulatedHostNamespace(Number(h1.host.replace('host', '')), INSTANCE);
    expect((await execa('ip', ['-n', hostNs, 'link', 'show', 'dev', eth1.hostSide], { reject: false })).exitCode).to.equal(0);
    const net0 = (lab.nets as { net: string; id?: number; hosts: { host: string; bridge?: string; backplane?: string }[] }[]).find((n) => n.net === 'Net0')!;
    expect(net0.id).to.equal((lab.ids as { net: string; id: number }[]).find((i) => i.net === 'Net0')!.id);
    expect(net0.hosts.length).to.be.greaterThan(1);
    for (const h of net0.hosts) expect(h.bridge && h.backplane, JSON.stringify(h)).to.be.a('string');
    const text = await ediv(['status', LABS[0]!, '--state', state]);
    expect(text.stdout).to.contain('HOST-SIDE LINK').and.contain(`${h1.host}:${eth1.hostSide}`).and.contain('BACKPLANE');
  });

  it('capture: a net’s packets from a host, as pcap — an ICMP echo between two VMs on different hosts', async () => {
    const lab = LABS[0]!;
    const st = await ediv(['status', lab, '--state', state, '--json']);
    const where = new Map((st.json.scenarios[0].vms as { vm: string; host: string }[]).map((v) => [v.vm, v.host]));
    expect(where.get('h1')).to.not.equal(where.get('r1')); // Net0 spans: h1 and r1 are on different hosts
    const file = path.join(labState.work(), 'net0.pcap');
    // 20 echo requests and their replies cross Net0 there: more than the 30 packets asked for,
    // whatever IPv6 neighbour traffic comes with them.
    const cap = ediv(['capture', lab, 'Net0', '--host', where.get('h1')!, '-c', '30', '-w', file, '--state', state]);
    await new Promise((r) => setTimeout(r, 2500)); // tcpdump is listening
    const ping = await oneOff(lab, 'h1', 'ping', '-c', '20', '-i', '0.2', '10.1.0.1');
    expect(ping.code, ping.stdout).to.equal(0);
    const done = await cap;
    expect(done.code, done.stderr).to.equal(0);
    const read = await execa('tcpdump', ['-n', '-r', file], { reject: false });
    expect(String(read.stdout)).to.match(/10\.1\.0\.2 > 10\.1\.0\.1: ICMP echo request/);
    expect((await ediv(['capture', lab, 'NoSuchNet', '--state', state])).code).to.equal(2);
  });

  it('vm stop cuts the path through the router (status says stopped); vm start restores it; the other copy is untouched', async () => {
    const [lab, other] = LABS as [string, string];
    const stop = await ediv(['vm', 'stop', lab, 'r1', '--state', state, '--json']);
    expect(stop.code, stop.stdout + stop.stderr).to.equal(0);
    expect(stop.json.vms).to.deep.include({ vm: 'r1', host: stop.json.vms[0].host, state: 'stopped' });
    const st = await ediv(['status', lab, '--state', state, '--json']);
    const live = (st.json.scenarios[0].vms as { vm: string; live: string }[]).find((v) => v.vm === 'r1')?.live;
    expect(live, JSON.stringify(st.json).slice(0, 2000)).to.equal('stopped');
    expect((await oneOff(lab, 'h1', 'ping', '-c1', '-W2', '10.1.2.2')).code).to.equal(1);
    expect((await oneOff(other, 'h1', 'ping', '-c1', '-W2', '10.1.2.2')).code).to.equal(0);
    const start = await ediv(['vm', 'start', lab, 'r1', '--state', state, '--json']);
    expect(start.code, start.stdout + start.stderr).to.equal(0);
    expect(start.json.vms[0]).to.include({ vm: 'r1', state: 'running' });
    expect((await oneOff(lab, 'h1', 'ping', '-c2', '-W2', '10.1.2.2')).code).to.equal(0);
    const unknown = await ediv(['vm', 'stop', lab, 'nope', '--state', state]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain('no such VM');
  });

  it('connect: one command without a terminal; a shell on a pty, typed into, its exit status passed through', async () => {
    const lab = LABS[0]!;
    const plain = await ediv(['connect', lab, 'h1', '--state', state, '--', 'hostname']);
    expect(plain.code, plain.stderr).to.equal(0);
    expect(plain.stdout).to.equal('h1'); // (execa strips the last newline)
    expect((await ediv(['connect', lab, 'r2', '--state', state, '--', 'sh', '-c', 'exit 7'])).code).to.equal(7);
    // `script` gives ediv a terminal; what is typed reaches the VM's shell through the pty.
    const line = [process.execPath, edivBin, 'connect', lab, 'h1', '--state', state].map((w) => `'${w}'`).join(' ');
    const tty = await execa('script', ['-qec', line, '/dev/null'], { input: '[ -t 0 ] && echo on-a-$((6*7))-terminal; hostname; exit 5\n', reject: false, timeout: 60_000 });
    expect(tty.exitCode, String(tty.stdout)).to.equal(5);
    // (the echo of the typed line shows the expression; only the shell prints its value)
    expect(String(tty.stdout)).to.match(/on-a-42-terminal/).and.match(/\bh1\b/);
    const bad = await ediv(['connect', lab, 'nope', '--state', state]);
    expect(bad.code).to.equal(2);
  });

  it('redeploy after adding a VM and changing an address: untouched VMs keep their processes, the others are (re)made; back again with deploy --reconfigure', async () => {
    const lab = LABS[1]!;
    // h4's address changes; h5 joins Net2.
    const edited = path.join(labState.work(), 'tutorial-edited.xml');
    const h5 =
      '  <vm name="h5" type="lxc">\n    <if id="1" net="Net2"><ipv4>10.1.2.4/24</ipv4></if>\n' +
      '    <route type="ipv4" gw="10.1.2.1">default</route>\n  </vm>\n</vnx>';
    const text = fs.readFileSync(TUTORIAL, 'utf8').replace('<ipv4>10.1.2.3/24</ipv4>', '<ipv4>10.1.2.13/24</ipv4>').replace('</vnx>', h5);
    fs.writeFileSync(edited, text);
    const kept = ['h1', 'h2', 'r1', 'r2', 'h3'];
    // Who each VM's PID 1 is (its start time), and a process started in h1 before the redeploy.
    const pid1Start = async (vm: string) => (await oneOff(lab, vm, 'cut -d" " -f22 /proc/1/stat')).json.vms[0].commands[0].stdout.trim();
    const boots = Object.fromEntries(await Promise.all(kept.map(async (vm) => [vm, await pid1Start(vm)])));
    const bg = await oneOff(lab, 'h1', 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!');
    const sleeper = bg.json.vms[0].commands[0].stdout.trim();
    expect(sleeper).to.match(/^\d+$/);

    const dry = await ediv(['redeploy', lab, edited, '--dry-run', '--state', state, '--json']);
    expect(dry.code, dry.stdout + dry.stderr).to.equal(0);
    expect(dry.json.changes.vms).to.deep.include({ kept, changed: ['h4'], removed: [] });
    expect(dry.json.changes.vms.added.map((a: { vm: string }) => a.vm)).to.deep.equal(['h5']);
    expect(await vmNamespaces(lab)).to.have.length(6); // nothing touched
    const dryText = await ediv(['redeploy', lab, edited, '--dry-run', '--state', state]);
    expect(dryText.stdout).to.contain('dry run').and.match(/VMs added\s+1\s+h5 → host\d/);

    const r = await ediv(['redeploy', lab, edited, '--state', state, '--json']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const made = (r.json.hosts as { made?: string[] }[]).flatMap((h) => h.made ?? []).sort();
    expect(made).to.deep.equal(['h4', 'h5']);
    for (const vm of kept) expect(await pid1Start(vm), vm).to.equal(boots[vm]);
    const alive = await oneOff(lab, 'h1', `tr '\\0' ' ' < /proc/${sleeper}/cmdline`);
    expect(alive.json.vms[0].commands[0].stdout).to.contain('sleep 1000');
    expect((await oneOff(lab, 'h5', 'ping', '-c1', '-W3', '10.1.0.2')).code).to.equal(0); // across both routers and hosts
    expect((await oneOff(lab, 'h4', 'ip -brief -4 addr show dev eth1')).json.vms[0].commands[0].stdout).to.contain('10.1.2.13/24');
    expect((await oneOff(lab, 'h1', 'ping', '-c1', '-W3', '10.1.2.13')).code).to.equal(0);
    expect(await vmNamespaces(lab)).to.have.length(7);

    const back = await ediv(['deploy', TUTORIAL, '--name', lab, '--reconfigure', '-v', ...common()]);
    expect(back.code, back.stdout + back.stderr).to.equal(0);
    // -v: what ran on each host, as lines on stderr: the agent ops, and the commands with their batches' lines.
    expect(back.stderr).to.match(/^host\d: ediv agent apply \(request /m).and.match(/^host\d: \$ ip -batch - <<$/m).and.match(/^ {4}netns del /m);
    expect(back.stdout).to.match(/VMs removed\s+1\s+h5 \(host\d\)/);
    const after = await ediv(['status', lab, '--state', state, '--json']);
    expect((after.json.scenarios[0].vms as { vm: string }[]).map((v) => v.vm).sort()).to.deep.equal(['h1', 'h2', 'h3', 'h4', 'r1', 'r2']);
    expect(await vmNamespaces(lab)).to.have.length(6);
    expect((await oneOff(lab, 'h1', 'ping', '-c1', '-W3', '10.1.2.3')).code).to.equal(0);
    await oneOff(lab, 'h1', `kill ${sleeper}`);
  });

  it('both copies undeploy cleanly', async () => {
    for (const lab of LABS) {
      const r = await ediv(['undeploy', lab, '--state', state]);
      expect(r.code, r.stderr).to.equal(0);
      expect(await vmNamespaces(lab)).to.deep.equal([]);
    }
    expect((await recordedIds(state))).to.deep.equal({});
  });
});
