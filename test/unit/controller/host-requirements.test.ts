// What a host needs to take its part (src/controller/host-requirements.ts), judged from facts:
// every item is reported, required ones fail a deploy, advice does not; FRR only for labs that
// run it; the clock's skew from a facts round trip.
import { expect } from 'chai';
import { parseClusterText } from '../../../src/controller/cluster.ts';
import { clockSkew, hostRequirements, labNeeds, unmet } from '../../../src/controller/host-requirements.ts';
import { freeIds } from '../../../src/controller/health-check.ts';
import type { FactsResult, HostTools } from '../../../src/protocol/agent.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';

const TOOLS: HostTools = {
  iproute2: 'iproute2-6.1.0', tc: '/usr/sbin/tc', python3: '/usr/bin/python3', nsenter: '/usr/bin/nsenter',
  tcpdump: '/usr/bin/tcpdump', frr: '/usr/lib/frr/zebra', overlayfs: true, cgroups: 'v1 (cpu, memory)',
};
const facts = (over: Partial<FactsResult> = {}, tools: Partial<HostTools> = {}): FactsResult => ({
  version: '1.0.0', hostname: 'h', cpus: 2, memMB: 1024, loadAvg: [0, 0, 0], root: true,
  capabilities: { netns: true, bridge: true, veth: true, vxlan: true, vlan8021q: false },
  drivers: ['netns', 'container'], node: 'v20.20.2', tools: { ...TOOLS, ...tools }, ...over,
});
const vxlan = parseClusterText('backplane: vxlan\nhosts:\n  - {name: h1, trunk: eth0}\n', 'c.yaml');
const vlan = parseClusterText('backplane: vlan\nhosts:\n  - {name: h1, trunk: eth0}\n', 'c.yaml');
const netnsOnly = parseClusterText('backplane: vxlan\ndriver: netns\nhosts:\n  - {name: h1, trunk: eth0}\n', 'c.yaml');
const check = (c = vxlan, f = facts(), o: Parameters<typeof hostRequirements>[3] = { controllerVersion: '1.0.0' }) => hostRequirements(c, c.hosts[0]!, f, o);

describe('host requirements (what deploy and cluster check ask of a host)', () => {
  it('a ready host: every item listed and met', () => {
    const r = check();
    expect(unmet(r)).to.deep.equal([]);
    expect(r.map((x) => x.check)).to.include.members(['agent', 'node', 'root', 'kernel: netns', 'kernel: vxlan', 'driver: container', 'iproute2', 'python3', 'overlayfs', 'cgroups', 'frr']);
    expect(r.find((x) => x.check === 'agent')!.found).to.equal('ediv 1.0.0 (brought by the controller)');
  });

  it('each missing required item is a problem naming what to do', () => {
    expect(unmet(check(vlan))).to.deep.equal(['kernel: vlan8021q: the kernel lacks 802.1q VLANs (backplane vlan; use backplane: vxlan where the kernel lacks 8021q)']);
    expect(unmet(check(vxlan, facts({ version: '0.9.0', root: false })))).to.deep.equal([
      "agent: the controller's version, 1.0.0: update the host's ediv, or leave out agentCommand so the controller brings its own",
      'root: the agent must run as root (it makes namespaces and links): log in as root, or set ssh.sudo',
    ]);
    expect(unmet(check(vxlan, facts({}, { overlayfs: false, python3: null, cgroups: null, iproute2: null })))).to.deep.equal([
      'iproute2: ip (iproute2) must be installed: apt-get install iproute2',
      "python3: the container driver's launcher runs on python3: apt-get install python3",
      "overlayfs: the container driver's copy-on-write roots need overlayfs (modprobe overlay)",
      'cgroups: the container driver needs cgroups (v1 controllers or v2) mounted at /sys/fs/cgroup',
    ]);
  });

  it("the container driver's needs only where the host may use it; tc, tcpdump and the clock are advice", () => {
    const bare = facts({}, { overlayfs: false, python3: null, cgroups: null, tc: null, tcpdump: null });
    expect(unmet(check(netnsOnly, bare))).to.deep.equal([]);
    const r = check(vxlan, facts({}, { tc: null, tcpdump: null }), { controllerVersion: '1.0.0', skewMs: 7300 });
    expect(unmet(r)).to.deep.equal([]);
    expect(r.filter((x) => !x.ok).map((x) => [x.check, x.required, x.found])).to.deep.equal([
      ['tc', false, 'missing'], ['tcpdump', false, 'missing'], ['clock', false, "+7.3 s from the controller's"],
    ]);
  });

  it('FRR is required only for a lab that runs it', () => {
    const noFrr = facts({}, { frr: null });
    expect(unmet(check(vxlan, noFrr))).to.deep.equal([]);
    const ospf = parseScenarioText(`<vnx><global><version>2.0</version><scenario_name>o</scenario_name></global><net name="n" mode="virtual_bridge"/>
<vm name="r1" type="lxc"><if id="1" net="n"/><exec seq="go" type="verbatim">/usr/lib/frr/zebra -d</exec></vm></vnx>`, 'o.xml');
    const plain = parseScenarioText(`<vnx><global><version>2.0</version><scenario_name>p</scenario_name></global><net name="n" mode="virtual_bridge"/>
<vm name="h1" type="lxc"><if id="1" net="n"/><exec seq="go" type="verbatim">ping -c1 10.0.0.1</exec></vm></vnx>`, 'p.xml');
    expect(labNeeds(ospf)).to.deep.equal({ frr: true });
    expect(labNeeds(plain)).to.deep.equal({ frr: false });
    expect(unmet(check(vxlan, noFrr, { controllerVersion: '1.0.0', lab: labNeeds(ospf) }))).to.deep.equal(['frr: this lab runs FRR routers: apt-get install frr']);
  });

  it('an older agent without tools is judged on what it reports', () => {
    const { tools: _t, node: _n, ...old } = facts();
    expect(unmet(check(vxlan, old as FactsResult))).to.deep.equal([]);
    expect(check(vxlan, old as FactsResult).map((x) => x.check)).to.not.include('iproute2');
  });

  it('clock skew: the host read its clock halfway through the round trip', () => {
    expect(clockSkew(facts({ clockMs: 10_500 }), 10_000, 10_200)).to.equal(400);
    expect(clockSkew(facts({ clockMs: 9_000 }), 10_000, 10_200)).to.equal(-1100);
    expect(clockSkew(facts(), 1, 2)).to.equal(undefined);
  });

  it('free ids: the range(s) minus the ids in use inside them', () => {
    const c = parseClusterText('ids: [{first: 10, last: 19}, {first: 30, last: 34}]\nhosts:\n  - {name: h1, trunk: eth0}\n', 'c.yaml');
    expect(freeIds(c, new Set([10, 11, 30, 25, 99]))).to.deep.equal({ first: 10, last: 34, total: 15, used: 3, free: 12 });
  });
});
