// Shapes real VNX files have that ediv used to refuse (issue 11): each reproduced in a small
// scenario of our own, parsed, checked, written as a fragment and parsed again.
import { expect } from 'chai';
import { parseScenarioText, writeScenario } from '../../../src/scenario/index.ts';
import { InputError } from '../../../src/common/errors.ts';
import { vmsWithSeq } from '../../../src/controller/exec.ts';
import { fragmentCmdSeqs, splitScenario } from '../../../src/controller/split.ts';
import { netCarriers } from '../../../src/controller/quality.ts';
import { dhcpClientOf, dhcpCommands } from '../../../src/host-agent/drivers/container/dhcp.ts';

const lab = (body: string, global = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>
<vnx><global><version>2.0</version><scenario_name>shapes</scenario_name>${global}</global>
  <net name="N0" mode="virtual_bridge"/>
${body}
</vnx>`;

const parse = (text: string) => parseScenarioText(text, 'shapes.xml');
const reparse = (text: string) => parse(writeScenario(parse(text)));
const problems = (text: string): string[] => {
  try {
    parse(text);
    return [];
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return e.problems.map((p) => `${p.loc.line}: ${p.message}`);
  }
};

describe('real scenario shapes (issue 11)', () => {
  it('<ipv4>dhcp</ipv4>, <ipv6>dhcp</ipv6> and VNX’s dhcp,ADDRESS are accepted and survive the split', () => {
    const text = lab(`  <vm name="a" type="lxc"><if id="1" net="N0"><ipv4>dhcp</ipv4><ipv6>dhcp,2001:db8::7</ipv6></if></vm>`);
    for (const s of [parse(text), reparse(text)]) {
      const i = s.vms[0]!.ifaces[0]!;
      expect(i.dhcp).to.deep.equal({ ipv4: 'dhcp', ipv6: 'dhcp,2001:db8::7' });
      expect(i.ipv4).to.deep.equal([]);
    }
    expect(problems(lab(`  <vm name="a" type="lxc"><if id="1" net="N0"><ipv4>dhcp,not-an-address</ipv4></if></vm>`))).to.deep.equal([
      '4: <ipv4>dhcp,not-an-address</ipv4>: after "dhcp," VNX expects an IPv4 address',
    ]);
  });

  it('a comma list in an exec’s seq puts it in each sequence; a cmd-seq may name one of them', () => {
    const s = parse(
      lab(
        `  <vm name="a" type="lxc"><if id="1" net="N0"/>
    <exec seq="step44,discover-hosts" type="verbatim">nova-manage cell_v2 discover_hosts</exec>
    <filetree seq="conf,start" root="/etc/x">x</filetree>
  </vm>
  <vm name="b" type="lxc"><if id="1" net="N0"/><exec seq="other" type="verbatim">true</exec></vm>`,
        '<cmd-seq seq="step4">step41,step44</cmd-seq><cmd-seq seq="discover-hosts">step44</cmd-seq><cmd-seq seq="step41">conf</cmd-seq>',
      ),
    );
    expect(vmsWithSeq(s, 'step44', s.cmdSeqs)).to.deep.equal(['a']);
    expect(vmsWithSeq(s, 'discover-hosts', s.cmdSeqs)).to.deep.equal(['a']);
    expect(vmsWithSeq(s, 'start', s.cmdSeqs)).to.deep.equal(['a']);
    // b's fragment has none of them: the cmd-seqs that need them are not in it
    expect([...fragmentCmdSeqs(s.cmdSeqs, [s.vms[0]!], undefined).keys()].sort()).to.deep.equal(['discover-hosts', 'step4', 'step41']);
    expect([...fragmentCmdSeqs(s.cmdSeqs, [s.vms[1]!], undefined).keys()]).to.deep.equal([]);
  });

  it('a cmd-seq with the name of an exec it does not run is still refused', () => {
    const text = lab(`  <vm name="a" type="lxc"><if id="1" net="N0"/><exec seq="go" type="verbatim">true</exec><exec seq="x" type="verbatim">true</exec></vm>`, '<cmd-seq seq="go">x</cmd-seq>');
    expect(problems(text).join('\n')).to.match(/cmd-seq "go" has the same name as an exec\/filetree sequence \(line 4\) that it does not run/);
  });

  it('an empty <cmd-seq> is a sequence that does nothing (VNX has no rule against it)', () => {
    const s = parse(lab(`  <vm name="a" type="lxc"><if id="1" net="N0"/></vm>`, '<cmd-seq seq="step1-6"></cmd-seq>'));
    expect(s.cmdSeqs.get('step1-6')).to.deep.equal([]);
  });

  it('several <forwarding> in a VM add up', () => {
    const s = reparse(lab(`  <vm name="a" type="lxc"><if id="1" net="N0"/><forwarding type="ipv4"/><forwarding type="ipv6"/></vm>`));
    expect(s.vms[0]!.forwarding).to.deep.equal({ ipv4: true, ipv6: true });
  });

  it('interfaces on the reserved nets lo, unconnected and vm_mgmt validate, span no host and declare no net', () => {
    const s = reparse(
      lab(`  <vm name="a" type="lxc"><if id="0" net="vm_mgmt"/><if id="1" net="N0"/><if id="2" net="unconnected"/><if id="3" net="lo"><ipv4>10.255.0.1/32</ipv4></if></vm>
  <vm name="b" type="lxc"><if id="2" net="unconnected"/><if id="3" net="lo"><ipv4>10.255.0.2/32</ipv4></if></vm>`),
    );
    expect(s.nets.map((n) => n.name)).to.deep.equal(['N0']);
    const carriers = netCarriers(s, { a: 'h1', b: 'h2' });
    expect([...carriers.keys()]).to.deep.equal(['N0']);
    expect(problems(lab(`  <vm name="a" type="lxc"><if id="1" net="N0"/></vm>`).replace('<net name="N0"', '<net name="unconnected" mode="virtual_bridge"/><net name="N0"'))).to.have.length(1);
  });

  it('a VNX <vm> needs a type (the XSD requires it, so a fragment without one is not VNX); a VNUML one has none', () => {
    expect(problems(lab(`  <vm name="a"><if id="1" net="N0"/></vm>`))).to.deep.equal([
      '4: vm a needs a type="..." attribute, as VNX requires: e.g. type="lxc", or type="libvirt" subtype="kvm"',
    ]);
    expect(parse('<vnuml><global><version>1.8</version><simulation_name>s</simulation_name></global><vm name="a"/></vnuml>').vms[0]!.type).to.equal(undefined);
  });

  it('a Windows filetree root (c:\\temp) validates, as in VNX', () => {
    const s = parse(lab(`  <vm name="w" type="libvirt" subtype="kvm" os="windows"><if id="1" net="N0"/><filetree seq="f" root="c:\\temp">x</filetree></vm>`));
    expect(s.vms[0]!.filetrees[0]!.root).to.equal('c:\\temp');
    expect(problems(lab(`  <vm name="w" type="lxc"><if id="1" net="N0"/><filetree seq="f" root="temp">x</filetree></vm>`)).join()).to.match(/must be an absolute path/);
  });
});

describe('DHCP clients of container VMs', () => {
  const iface = (inner: string, dhcp?: ('ipv4' | 'ipv6')[]) => ({ id: 1, inner, outer: 'x', net: 'N0', ipv4: [], ipv6: [], ...(dhcp ? { dhcp } : {}) });

  it('uses the client the VM’s root has: dhclient, else dhcpcd, else none', () => {
    expect(dhcpClientOf('/srv/root', (p) => p === '/srv/root/sbin/dhclient')!.name).to.equal('dhclient');
    expect(dhcpClientOf('/', (p) => p === '/usr/sbin/dhcpcd')!.name).to.equal('dhcpcd');
    expect(dhcpClientOf('/', () => false)).to.equal(undefined);
  });

  it('starts one background client per interface and family that asks, with its files in the VM’s /run', () => {
    const client = dhcpClientOf('/', (p) => p === '/sbin/dhclient')!;
    const cmds = dhcpCommands({ ifaces: [iface('eth1', ['ipv4', 'ipv6']), iface('eth2')] }, client);
    expect(cmds).to.deep.equal([
      ['dhclient', '-4', '-nw', '-pf', '/run/dhclient4.eth1.pid', '-lf', '/run/dhclient4.eth1.leases', 'eth1'],
      ['dhclient', '-6', '-nw', '-pf', '/run/dhclient6.eth1.pid', '-lf', '/run/dhclient6.eth1.leases', 'eth1'],
    ]);
  });
});

describe('Open vSwitch <connection> between nets', () => {
  const connected = lab(`  <vm name="a" type="lxc"><if id="1" net="N0"/></vm>
  <vm name="b" type="lxc"><if id="1" net="M"/></vm>`).replace(
    '<net name="N0" mode="virtual_bridge"/>',
    '<net name="N0" mode="openvswitch"><connection name="c1" net="M"/></net>\n  <net name="M" mode="openvswitch"/>\n  <net name="Alone" mode="virtual_bridge"/>',
  );

  it('a connection to a net that does not exist is refused at its line', () => {
    expect(problems(connected.replace('net="M"/></net>', 'net="Nope"/></net>'))).to.deep.equal(['3: net N0: <connection name="c1"> is to net "Nope", which is not declared']);
  });

  it('connected nets are carried together: each fragment with one has the other, and both span the same hosts', () => {
    const s = parse(connected);
    const carriers = netCarriers(s, { a: 'h1', b: 'h2' });
    expect([...carriers.get('N0')!].sort()).to.deep.equal(['h1', 'h2']);
    expect([...carriers.get('M')!].sort()).to.deep.equal(['h1', 'h2']);
    expect(carriers.has('Alone')).to.equal(false);
  });
});

describe('the split keeps what real scenarios mean', () => {
  // Three hosts, round-robin: a on host1, b on host2.
  const cluster = {
    backplane: 'vxlan' as const,
    ids: { from: 1000, to: 1100 },
    hosts: ['host1', 'host2'].map((name, i) => ({ name, address: `127.0.0.${i + 2}`, trunk: 'eth0' })),
  };
  const split = (text: string) => splitScenario(parse(text), { a: 'host1', b: 'host2' }, cluster as never);

  it('a net no VM is on still exists, in one fragment', () => {
    const r = split(lab(`  <vm name="a" type="lxc"><if id="1" net="N0"/></vm>\n  <vm name="b" type="lxc"><if id="1" net="N0"/></vm>`).replace('<net name="N0"', '<net name="Spare" mode="virtual_bridge"/>\n  <net name="N0"'));
    expect(r.fragments.map((f) => f.fragment.nets.map((n) => n.name))).to.deep.equal([['Spare', 'N0'], ['N0']]);
  });

  it('a spanning net keeps the uplink the scenario gives it; one without gets the backplane binding', () => {
    const text = lab(`  <vm name="a" type="lxc"><if id="1" net="N0"/><if id="2" net="Up"/></vm>\n  <vm name="b" type="lxc"><if id="1" net="N0"/><if id="2" net="Up"/></vm>`).replace(
      '<net name="N0" mode="virtual_bridge"/>',
      '<net name="N0" mode="virtual_bridge"/>\n  <net name="Up" mode="virtual_bridge" external="eth1" vlan="100"/>',
    );
    const r = split(text);
    const up = r.fragments.map((f) => f.fragment.nets.find((n) => n.name === 'Up')!);
    expect(up.map((n) => [n.external, n.vlan])).to.deep.equal([['eth1', 100], ['eth1', 100]]);
    expect(r.spanning.map((s) => s.net).sort()).to.deep.equal(['N0', 'Up']);
    expect(r.fragments[0]!.fragment.nets.find((n) => n.name === 'N0')!.external).to.not.equal(undefined);
  });

  it('a <connection> is kept in the fragment of the first host that carries its nets only', () => {
    const text = lab(`  <vm name="a" type="lxc"><if id="1" net="N0"/></vm>\n  <vm name="b" type="lxc"><if id="1" net="M"/></vm>`).replace(
      '<net name="N0" mode="virtual_bridge"/>',
      '<net name="N0" mode="openvswitch"><connection name="c1" net="M"/></net>\n  <net name="M" mode="openvswitch"/>',
    );
    const r = split(text);
    const conns = r.fragments.map((f) => f.fragment.nets.find((n) => n.name === 'N0')!.extra.children.filter((c) => c.node.tag === 'connection').length);
    expect(conns).to.deep.equal([1, 0]);
    expect(r.fragments.map((f) => f.fragment.nets.map((n) => n.name).sort())).to.deep.equal([['M', 'N0'], ['M', 'N0']]);
  });

  it('a managed="no" net (each host’s own virbr0) never spans hosts', () => {
    const text = lab(`  <vm name="a" type="lxc"><if id="1" net="virbr0"><ipv4>dhcp</ipv4></if></vm>\n  <vm name="b" type="lxc"><if id="1" net="virbr0"><ipv4>dhcp</ipv4></if></vm>`).replace(
      '<net name="N0" mode="virtual_bridge"/>',
      '<net name="virbr0" mode="virtual_bridge" managed="no"/>',
    );
    const r = split(text);
    expect(r.spanning).to.deep.equal([]);
    expect(r.fragments.map((f) => f.fragment.nets.map((n) => [n.name, n.external]))).to.deep.equal([[['virbr0', undefined]], [['virbr0', undefined]]]);
    expect(r.fragments.map((f) => f.backplane)).to.deep.equal([[], []]);
  });
});
