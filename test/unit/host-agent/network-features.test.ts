// The network layer's scenario features, their pure parts: <vm_mgmt> addressing (VNX's
// get_admin_address) and the split's per-fragment offsets, link shaping (units, tc lines, what a
// host without netem leaves out), the <host> section's spec and iproute2 lines, and what the
// layer refuses before anything is made. The real files of ../shared are read in place (skipped,
// saying so, when that folder is absent).
import { expect } from 'chai';
import { InputError } from '../../../src/common/errors.ts';
import { emulatedCluster } from '../../../src/emulated/layout.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import { parseScenarioFile, parseScenarioText } from '../../../src/scenario/index.ts';
import type { Scenario } from '../../../src/scenario/model.ts';
import { mgmtDisabled, privateMgmtAddresses, vmMgmtOf, vmMgmtProblem } from '../../../src/scenario/vm-mgmt.ts';
import { desiredState, networkProblems } from '../../../src/host-agent/drivers/netns/desired.ts';
import { vmHostLines, vmInnerLines, vmShapingLines } from '../../../src/host-agent/drivers/netns/commands.ts';
import { hostConfigLines, hostLinkLines, hostLinkResources, hostSysctls } from '../../../src/host-agent/drivers/netns/host-section.ts';
import { ifaceShaping, netShaping, parseDelay, parseLoss, parseRate, shapingLines, supportedShaping, tbfBurst } from '../../../src/host-agent/drivers/netns/shaping.ts';
import { NameAllocator } from '../../../src/host-agent/naming.ts';
import { itWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

const FILE = 'lab.xml';
const vnx = (body: string, global = '') =>
  `<vnx>\n<global><version>2.0</version><scenario_name>lab</scenario_name>${global}</global>\n${body}\n</vnx>\n`;
const parse = (text: string) => parseScenarioText(text, FILE);

function desired(s: Scenario, opts: { vms?: string[]; support?: { tbf: boolean; netem: boolean } } = {}) {
  return desiredState({
    scenario: s,
    deployment: 'lab',
    tag: 'tag1',
    backplane: [],
    names: new NameAllocator('tag1', [], []),
    trunkMtu: () => 1500,
    vms: opts.vms,
    shapingSupport: opts.support,
    host: 'h1',
  });
}

const messages = (s: Scenario) => networkProblems(s).map((p) => `${p.loc.line}: ${p.message}`);

describe('network layer: <vm_mgmt type="private">', () => {
  const MGMT = '<vm_mgmt type="private" network="10.250.0.0" mask="24" offset="12"><host_mapping/></vm_mgmt>';

  it('reads the element with VNX defaults (192.168.0.0, 24, 0)', () => {
    expect(vmMgmtOf(parse(vnx('', MGMT)))).to.deep.include({ type: 'private', network: '10.250.0.0', mask: 24, offset: 12, hostMapping: true });
    expect(vmMgmtOf(parse(vnx('', '<vm_mgmt type="private"/>')))).to.deep.include({ network: '192.168.0.0', mask: 24, offset: 0, hostMapping: false });
    expect(vmMgmtOf(parse(vnx('')))).to.equal(undefined);
  });

  it('VM n gets the /30 at network + offset + 4n: the host its first address, the VM the second', () => {
    const m = vmMgmtOf(parse(vnx('', MGMT)))!;
    expect(privateMgmtAddresses(m, 0)).to.deep.equal({ host: '10.250.0.13/30', vm: '10.250.0.14/30' });
    expect(privateMgmtAddresses(m, 1)).to.deep.equal({ host: '10.250.0.17/30', vm: '10.250.0.18/30' });
    const wide = vmMgmtOf(parse(vnx('', '<vm_mgmt type="private" network="10.255.0.0" mask="16"/>')))!;
    expect(privateMgmtAddresses(wide, 100)).to.deep.equal({ host: '10.255.1.145/30', vm: '10.255.1.146/30' });
  });

  it("VNX's checks: mask 8..30, the network address of its mask, an offset a multiple of 4, room for every VM", () => {
    const check = (attrs: string, vms: number) => vmMgmtProblem(vmMgmtOf(parse(vnx('', `<vm_mgmt type="private" ${attrs}/>`)))!, vms);
    expect(check('network="10.250.0.0" mask="24" offset="200"', 14)).to.equal(undefined);
    expect(check('network="10.250.0.0" mask="24" offset="200"', 15)).to.match(/room for 14 VM\(s\), not 15/);
    expect(check('mask="31"', 1)).to.match(/mask="31" must be a prefix length from 8 to 30/);
    expect(check('network="10.250.0.5"', 1)).to.match(/not the network address of a \/24/);
    expect(check('network="10.250.0"', 1)).to.match(/not an IPv4 address/);
    expect(check('offset="6"', 1)).to.match(/multiple of 4/);
    expect(check('offset="x"', 1)).to.match(/whole number/);
  });

  it('the spec: eth0 in the VM, an em… link on the host; <mng_if>no</mng_if> gives none but still counts', () => {
    const s = parse(vnx('<vm name="a" type="lxc"/>\n<vm name="b" type="lxc"><mng_if>no</mng_if></vm>\n<vm name="c" type="lxc"/>', MGMT));
    expect(mgmtDisabled(s.vms[1]!, s)).to.equal(true);
    const d = desired(s);
    const [a, b, c] = d.vms;
    expect(a!.mgmt).to.deep.include({ inner: 'eth0', host: '10.250.0.13/30', vm: '10.250.0.14/30' });
    expect(a!.mgmt!.outer).to.equal('lab-a-m');
    expect(b!.mgmt).to.equal(undefined);
    expect(c!.mgmt).to.deep.include({ host: '10.250.0.21/30', vm: '10.250.0.22/30' });
    expect(vmHostLines(a!)).to.deep.equal([
      'netns add lab.a.tag1',
      `link add name ${a!.mgmt!.outer} type veth peer name eth0 netns lab.a.tag1`,
      `addr add 10.250.0.13/30 dev ${a!.mgmt!.outer}`,
      `link set dev ${a!.mgmt!.outer} up`,
    ]);
    expect(vmInnerLines(a!)).to.deep.equal(['link set dev lo up', 'addr add 10.250.0.14/30 dev eth0', 'link set dev eth0 up']);
    // The counter is the VM's place in the fragment, also when only some VMs are applied.
    expect(desired(s, { vms: ['c'] }).vms[0]!.mgmt).to.deep.include({ vm: '10.250.0.22/30' });
    // <vm_defaults><mng_if>no</mng_if>: no VM gets one unless it says so.
    const off = parse(vnx('<vm name="a" type="lxc"/>\n<vm name="b" type="lxc"><mng_if>yes</mng_if></vm>', `${MGMT}<vm_defaults><mng_if>no</mng_if></vm_defaults>`));
    expect(desired(off).vms.map((v) => v.mgmt?.vm)).to.deep.equal([undefined, '10.250.0.18/30']);
  });

  it('the hash of a VM without management is what it was before (deployed VMs are not remade)', () => {
    const without = desired(parse(vnx('<vm name="a" type="lxc"/>'))).vms[0]!;
    const none = desired(parse(vnx('<vm name="a" type="lxc"/>', '<vm_mgmt type="none"/>'))).vms[0]!;
    expect(none.hash).to.equal(without.hash);
    expect(desired(parse(vnx('<vm name="a" type="lxc"/>', MGMT))).vms[0]!.hash).to.not.equal(without.hash);
  });

  it('refused at the element, before anything is made: type="net", bad values, an interface already named eth0', () => {
    expect(messages(parse(vnx('<vm name="a" type="lxc"/>', '<vm_mgmt type="net"><mgmt_net net="m"/></vm_mgmt>')))).to.deep.equal([
      '2: <vm_mgmt type="net"> (one management bridge shared by the host and the VMs) is not built by ediv: use type="private" (a point-to-point management link per VM) or type="none"',
    ]);
    expect(messages(parse(vnx('<vm name="a" type="lxc"/>', '<vm_mgmt type="private" mask="7"/>')))).to.deep.equal(['2: <vm_mgmt> mask="7" must be a prefix length from 8 to 30']);
    const clash = parse(vnx('<net name="n" mode="virtual_bridge"/>\n<vm name="a" type="lxc">\n<if id="0" net="n"/></vm>', MGMT));
    expect(messages(clash)).to.deep.equal([
      '5: vm a: interface 0 is eth0, the name of its management interface (<vm_mgmt type="private">): give it another id or name, or add <mng_if>no</mng_if> to the VM',
    ]);
    expect(() => desired(clash)).to.throw(InputError, /eth0/);
  });

  it('the split gives each fragment its own offset (4 × the VMs of the fragments before it), as EDIV did', async () => {
    const s = parse(vnx(['a', 'b', 'c', 'd', 'e'].map((v) => `<vm name="${v}" type="lxc"/>`).join('\n'), MGMT));
    const plan = await makePlan({ scenario: s, cluster: emulatedCluster(2, '/nonexistent/cluster'), segmentator: 'round-robin' });
    const frags = Object.values(plan.hosts).map((h) => parse(h.fragmentXml));
    const addresses = frags.flatMap((f) => desired(f).vms.map((v) => [v.vm, v.mgmt!.vm]));
    expect(frags.map((f) => vmMgmtOf(f)!.offset)).to.deep.equal([12, 12 + 4 * frags[0]!.vms.length]);
    // Every VM its own /30 across the cluster.
    expect(new Set(addresses.map(([, a]) => a)).size).to.equal(5);
  });
});

describe('network layer: link shaping', () => {
  it('bw in bits per second (tc units accepted), delay in ms when bare, loss in percent', () => {
    expect(parseRate('1000000')).to.equal(1_000_000);
    expect(parseRate('10mbit')).to.equal(10_000_000);
    expect(parseRate('1.5Mbit')).to.equal(1_500_000);
    expect(parseRate('64kibit')).to.equal(65_536);
    expect(parseRate('1mbps')).to.equal(8_000_000); // tc: bytes per second
    for (const bad of ['fast', '0', '-1', '10 furlongs', '']) expect(parseRate(bad), bad).to.equal(undefined);
    expect(parseDelay('20')).to.equal(20_000);
    expect(parseDelay('20ms')).to.equal(20_000);
    expect(parseDelay('250us')).to.equal(250);
    expect(parseDelay('1.5s')).to.equal(1_500_000);
    expect(parseDelay('soon')).to.equal(undefined);
    expect(parseLoss('1%')).to.equal(1);
    expect(parseLoss('0.5')).to.equal(0.5);
    expect(parseLoss('150%')).to.equal(undefined);
  });

  it("a net's values (attributes or <bw>) apply to its interfaces; an <if>'s own win", () => {
    const s = parse(vnx('<net name="n" mode="virtual_bridge" delay="10"><bw>2000000</bw></net>\n<vm name="a" type="lxc"><if id="1" net="n" bw="1mbit"/><if id="2" net="n"/></vm>'));
    const net = netShaping(s.nets[0]!);
    expect(net).to.deep.equal({ rate: 2_000_000, delayUs: 10_000 });
    expect(ifaceShaping(net, s.vms[0]!.ifaces[0]!)).to.deep.equal({ rate: 1_000_000, delayUs: 10_000 });
    expect(ifaceShaping(net, s.vms[0]!.ifaces[1]!)).to.deep.equal({ rate: 2_000_000, delayUs: 10_000 });
    expect(ifaceShaping(undefined, s.vms[0]!.ifaces[1]!)).to.equal(undefined);
  });

  it('tc lines: towards the VM tbf (under netem with delay or loss), from the VM tbf only', () => {
    expect(tbfBurst(8_000_000)).to.equal(10_000);
    expect(tbfBurst(64_000)).to.equal(3092);
    expect(shapingLines('evx', { rate: 8_000_000 }, 'host')).to.deep.equal(['qdisc replace dev evx root handle 1: tbf rate 8000000bit burst 10000 latency 50ms']);
    expect(shapingLines('evx', { rate: 8_000_000, delayUs: 20_000, lossPct: 1 }, 'host')).to.deep.equal([
      'qdisc replace dev evx root handle 1: netem delay 20000us loss 1%',
      'qdisc replace dev evx parent 1:1 handle 10: tbf rate 8000000bit burst 10000 latency 50ms',
    ]);
    expect(shapingLines('eth1', { rate: 8_000_000, delayUs: 20_000 }, 'vm')).to.deep.equal(['qdisc replace dev eth1 root handle 1: tbf rate 8000000bit burst 10000 latency 50ms']);
    expect(shapingLines('eth1', { delayUs: 20_000 }, 'vm')).to.deep.equal([]);
  });

  it('without netem, delay and loss are left out (a warning says so); without tbf, the rate', () => {
    expect(supportedShaping({ rate: 1, delayUs: 2, lossPct: 3 }, { tbf: true, netem: false })).to.deep.equal({ applied: { rate: 1 }, dropped: ['netem'] });
    expect(supportedShaping({ delayUs: 2 }, { tbf: true, netem: false })).to.deep.equal({ applied: undefined, dropped: ['netem'] });
    expect(supportedShaping({ rate: 1 }, { tbf: false, netem: true })).to.deep.equal({ applied: undefined, dropped: ['tbf'] });
    const s = parse(vnx('<net name="n" mode="virtual_bridge" bw="8mbit" delay="5" loss="1"/>\n<vm name="a" type="lxc"><if id="1" net="n"/></vm>\n<vm name="b" type="lxc"><if id="1" net="n"/></vm>'));
    const d = desired(s, { support: { tbf: true, netem: false } });
    expect(d.warnings).to.deep.equal(['net n: delay and loss (bw 8000000 bit/s, delay 5 ms, loss 1%) not applied (no netem on host h1)']);
    const a = d.vms[0]!;
    expect(a.ifaces[0]!.shaping).to.deep.equal({ rate: 8_000_000 });
    const lines = vmShapingLines(a);
    expect(lines.host).to.deep.equal([`qdisc replace dev ${a.ifaces[0]!.outer} root handle 1: tbf rate 8000000bit burst 10000 latency 50ms`]);
    expect(lines.inner).to.deep.equal(['qdisc replace dev eth1 root handle 1: tbf rate 8000000bit burst 10000 latency 50ms']);
    const full = desired(s, { support: { tbf: true, netem: true } });
    expect(full.warnings).to.deep.equal([]);
    expect(vmShapingLines(full.vms[0]!).host[0]).to.match(/netem delay 5000us loss 1%$/);
    // The shaping is part of the VM's spec: a change remakes it.
    expect(full.vms[0]!.hash).to.not.equal(d.vms[0]!.hash);
  });

  it('values that do not parse are refused at their line', () => {
    const s = parse(vnx('<net name="n" mode="virtual_bridge" bw="fast"/>\n<net name="m" mode="virtual_bridge">\n<bw>lots</bw></net>\n<vm name="a" type="lxc"><if id="1" net="n" loss="200"/></vm>'));
    expect(messages(s)).to.deep.equal([
      '3: net n: bw "fast" is not a rate (bits per second, e.g. 1000000 or 10mbit)',
      '5: net m: bw "lots" is not a rate (bits per second, e.g. 1000000 or 10mbit)',
      '6: vm a, interface 1: loss "200" is not a percentage from 0 to 100 (e.g. 1 or 1%)',
    ]);
  });
});

describe('network layer: the <host> section', () => {
  const SECTION =
    '<net name="n" mode="virtual_bridge"/>\n<net name="lone" mode="virtual_bridge"/>\n<vm name="a" type="lxc"><if id="1" net="n"/></vm>\n' +
    '<host>\n<hostif net="n"><ipv4>10.0.0.9/24</ipv4><ipv6>2001:db8::9/64</ipv6></hostif>\n<hostif net="lone"><ipv4>10.5.0.1/24</ipv4></hostif>\n' +
    '<route type="ipv4" gw="10.0.0.1">10.1.0.0/16</route>\n<route type="ipv6" gw="2001:db8::1">2001:db8:1::/48</route>\n<forwarding type="ipv4"/>\n' +
    '<exec seq="s" type="verbatim">true</exec>\n</host>';

  it('the spec: a veth per hostif (eh… with the addresses, ep… on the bridge), the routes, forwarding; a net only the host is on gets its bridge', () => {
    const d = desired(parse(vnx(SECTION)));
    expect(d.nets.map((n) => n.net)).to.deep.equal(['n', 'lone']);
    const h = d.host!;
    const [n, lone] = h.ifaces;
    expect(n).to.deep.include({ net: 'n', bridge: d.nets[0]!.bridge, ipv4: ['10.0.0.9/24'], ipv6: ['2001:db8::9/64'] });
    expect(n!.outer).to.equal('lab-n-h');
    expect(n!.port).to.equal('lab-n-p');
    expect(lone!.bridge).to.equal(d.nets[1]!.bridge);
    expect(hostLinkLines(h)).to.deep.equal([
      `link add name ${n!.outer} type veth peer name ${n!.port}`,
      `link set dev ${n!.port} master ${n!.bridge} up`,
      `link add name ${lone!.outer} type veth peer name ${lone!.port}`,
      `link set dev ${lone!.port} master ${lone!.bridge} up`,
    ]);
    expect(hostConfigLines(h)).to.deep.equal([
      `addr add 10.0.0.9/24 dev ${n!.outer}`,
      `addr add 2001:db8::9/64 dev ${n!.outer} nodad`,
      `link set dev ${n!.outer} up`,
      `addr add 10.5.0.1/24 dev ${lone!.outer}`,
      `link set dev ${lone!.outer} up`,
      'route add 10.1.0.0/16 via 10.0.0.1',
      'route add 2001:db8:1::/48 via 2001:db8::1',
    ]);
    expect(hostSysctls(h)).to.deep.equal([['net.ipv4.ip_forward', '1']]);
    // Journaled pending, then with the section's hash once configured.
    expect(hostLinkResources(h).map((r) => [r.key, r.kind, r.params])).to.deep.equal([
      ['hostif:n', 'hostif', 'pending'],
      ['hostif:n:port', 'hostif', undefined],
      ['hostif:lone', 'hostif', 'pending'],
      ['hostif:lone:port', 'hostif', undefined],
    ]);
    expect(hostLinkResources(h, h.hash)[0]!.params).to.equal(h.hash);
    // Its hash follows what it makes.
    expect(desired(parse(vnx(SECTION.replace('10.0.0.9/24', '10.0.0.8/24')))).host!.hash).to.not.equal(h.hash);
    expect(desired(parse(vnx(SECTION))).host!.hash).to.equal(h.hash);
  });

  it('a fragment without the section has none; the backplane MTU is the veth’s too', () => {
    expect(desired(parse(vnx('<net name="n" mode="virtual_bridge"/>\n<vm name="a" type="lxc"><if id="1" net="n"/></vm>'))).host).to.equal(undefined);
    const s = parse(vnx(SECTION));
    const d = desiredState({
      scenario: s, deployment: 'lab', tag: 'tag1', names: new NameAllocator('tag1', [], []), trunkMtu: () => 1500,
      backplane: [{ kind: 'vxlan', net: 'n', id: 7, trunk: 'eth0', localAddress: '198.18.0.1', remotes: ['198.18.0.2'] }],
    });
    expect(hostLinkLines(d.host!)[0]).to.equal('link add name lab-n-h mtu 1450 type veth peer name lab-n-p mtu 1450');
  });

  it('refused before anything is made: a second hostif on a net, a default route, a net the fragment lacks', () => {
    const twice = parse(vnx('<net name="n" mode="virtual_bridge"/>\n<host>\n<hostif net="n"/>\n<hostif net="n"/>\n<route type="ipv4" gw="10.0.0.1">default</route>\n</host>'));
    expect(messages(twice)).to.deep.equal([
      '6: <hostif net="n">: a second host interface on net n: give the host one interface per net',
      "7: the <host> section's default route (via 10.0.0.1) is refused: it would replace the route the cluster reaches this host by; route the lab's prefixes instead",
    ]);
    expect(() => desired(twice)).to.throw(InputError);
    // A fragment that lacks the net (the scenario checks refuse it already, with the declared nets).
    const s = parse(vnx('<net name="n" mode="virtual_bridge"/>\n<host><hostif net="n"/></host>'));
    s.host!.ifaces[0]!.net = 'gone';
    expect(messages(s)).to.deep.equal(['4: <hostif net="gone">: the fragment has no net gone, so the host cannot be connected to it']);
    expect(() => parse(vnx('<net name="n" mode="virtual_bridge"/>\n<host><hostif net="gone"/></host>'))).to.throw(InputError, /"gone", which is not declared/);
  });

  const tutorial = thirdPartyPath('vnx', '02-tutorial_lxc_ubuntu.xml');
  itWithThirdParty("the VNX tutorial's section: the host on Net3, routes via r1", async () => {
    const d = desired(await parseScenarioFile(tutorial));
    expect(d.host!.ifaces.map((i) => [i.net, i.ipv4, i.ipv6])).to.deep.equal([['Net3', ['10.1.3.2/24'], ['2001:db8:3::2/64']]]);
    expect(hostConfigLines(d.host!).slice(-2)).to.deep.equal(['route add 10.1.0.0/16 via 10.1.3.1', 'route add 2001:db8::/32 via 2001:db8:3::1']);
    expect(hostSysctls(d.host!)).to.deep.equal([]);
  }, 'vnx/02-tutorial_lxc_ubuntu.xml');
});
