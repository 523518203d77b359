import { expect } from 'chai';
import { checkVlanSupport, vlanLines } from '../../../src/host-agent/backplanes/vlan.ts';
import { vxlanFdbLines, vxlanLines } from '../../../src/host-agent/backplanes/vxlan.ts';
import { bridgeLines, bridgeUpLines, vmHostLines, vmInnerLines, vmSysctls } from '../../../src/host-agent/drivers/netns/commands.ts';
import { desiredState, type NetSpec } from '../../../src/host-agent/drivers/netns/desired.ts';
import { NameAllocator, stableMac } from '../../../src/host-agent/naming.ts';
import { vmSteps } from '../../../src/host-agent/drivers/netns/exec.ts';
import { overlayAnchors } from '../../../src/host-agent/drivers/netns/vm-holder.ts';
import type { Scenario, Vm } from '../../../src/scenario/model.ts';

const extra = () => ({ attrs: {}, children: [] });

function vm(name: string, ifaces: Vm['ifaces'], more: Partial<Vm> = {}): Vm {
  return { name, ifaces, routes: [], execs: [], filetrees: [], extra: extra(), ...more };
}

function scenario(): Scenario {
  return {
    name: 'lab',
    global: { version: '2.0', extra: extra() },
    nets: [
      { name: 'A', mode: 'virtual_bridge', extra: extra() },
      { name: 'B', mode: 'virtual_bridge', extra: extra() },
    ],
    vms: [
      vm('r1', [
        { id: 1, net: 'A', mac: '02:00:00:00:00:01', ipv4: [{ address: '10.0.0.1', prefix: 24 }], ipv6: [{ address: '2001:db8::1', prefix: 64 }], extra: extra() },
        { id: 2, net: 'B', ipv4: [{ address: '10.0.1.1', prefix: 24 }], ipv6: [], extra: extra() },
      ], { forwarding: { ipv4: true, ipv6: true }, routes: [{ family: 'ipv4', destination: '10.9.0.0/16', gateway: '10.0.1.2' }] }),
      vm('h1', [{ id: 1, net: 'A', ipv4: [{ address: '10.0.0.2', prefix: 24 }], ipv6: [], extra: extra() }], {
        routes: [
          { family: 'ipv4', destination: 'default', gateway: '10.0.0.1' },
          { family: 'ipv6', destination: 'default', gateway: '2001:db8::1' },
        ],
      }),
    ],
    cmdSeqs: new Map([
      ['all', ['a', 'b']],
      ['both', ['all', 'c']],
      ['loop', ['loop2']],
      ['loop2', ['loop']],
    ]),
    source: { format: 'vnx', path: 'lab.xml', version: '2.0' },
    extra: extra(),
  };
}

function desired(backplane = [] as Parameters<typeof desiredState>[0]['backplane']) {
  return desiredState({
    scenario: scenario(),
    deployment: 'lab',
    tag: 'tag1',
    backplane,
    names: new NameAllocator('tag1', [], []),
    trunkMtu: () => 1500,
  });
}

describe('host-agent generated iproute2 commands', () => {
  it('vlan: <trunk>.<id> subinterface enslaved to the net bridge', () => {
    const d = desired([{ kind: 'vlan', net: 'B', id: 1234, trunk: 'eth0', remotes: [] }]);
    const net = d.nets.find((n) => n.net === 'B')!;
    expect(vlanLines(net, net.backplane!)).to.deep.equal([
      'link add link eth0 name eth0.1234 type vlan id 1234',
      `link set dev eth0.1234 master ${net.bridge} up`,
    ]);
    expect(net.mtu).to.equal(undefined);
  });

  it('vlan: refuses early without 8021q, suggesting vxlan', () => {
    expect(() => checkVlanSupport(false, ['B'])).to.throw(/no 802\.1q.*nothing was changed.*backplane: vxlan/s);
    expect(() => checkVlanSupport(true, ['B'])).not.to.throw();
  });

  it('vxlan: VNI, local address, port 4789, MTU = trunk - 50 on the device and the VM interfaces, one FDB entry per remote', () => {
    const d = desired([{ kind: 'vxlan', net: 'A', id: 1001, trunk: 'eth0', localAddress: '198.18.0.11', remotes: ['198.18.0.13', '198.18.0.12'] }]);
    const net: NetSpec = d.nets.find((n) => n.net === 'A')!;
    const b = net.backplane!;
    expect(b.dev).to.equal('vxlan1001'); // as the fragment's external says
    expect(vxlanLines(net, b)).to.deep.equal([
      `link add name ${b.dev} mtu 1450 type vxlan id 1001 local 198.18.0.11 dstport 4789 dev eth0`,
      `link set dev ${b.dev} master ${net.bridge} up`,
    ]);
    expect(vxlanFdbLines(b)).to.deep.equal([
      `fdb append 00:00:00:00:00:00 dev ${b.dev} dst 198.18.0.12`,
      `fdb append 00:00:00:00:00:00 dev ${b.dev} dst 198.18.0.13`,
    ]);
    // Made down; apply brings it up once its VMs are configured (no flooding of their start-up traffic).
    expect(bridgeLines(net)).to.deep.equal([`link add name ${net.bridge} mtu 1450 type bridge`]);
    expect(bridgeUpLines(net)).to.deep.equal([`link set dev ${net.bridge} up`]);
    const h1 = d.vms.find((v) => v.vm === 'h1')!;
    expect(vmHostLines(h1)[1]).to.match(/^link add name lab-h1-1 mtu 1450 type veth peer name eth1 mtu 1450 address 02(:[0-9a-f]{2}){5} netns lab\.h1\.tag1$/);
  });

  it('netns: namespace, veth with MAC into the bridge, addresses without DAD, routes, forwarding', () => {
    const d = desired();
    const r1 = d.vms.find((v) => v.vm === 'r1')!;
    const [a, b] = r1.ifaces;
    expect(vmHostLines(r1)).to.deep.equal([
      'netns add lab.r1.tag1',
      `link add name ${a.outer} type veth peer name eth1 address 02:00:00:00:00:01 netns lab.r1.tag1`,
      `link set dev ${a.outer} master ${a.bridge} up`,
      // No MAC in the scenario: the one derived from lab, VM and interface (kept when the VM is remade).
      `link add name ${b.outer} type veth peer name eth2 address ${stableMac('lab', 'r1', 2)} netns lab.r1.tag1`,
      `link set dev ${b.outer} master ${b.bridge} up`,
    ]);
    expect(vmInnerLines(r1)).to.deep.equal([
      'link set dev lo up',
      'addr add 10.0.0.1/24 dev eth1',
      'addr add 2001:db8::1/64 dev eth1 nodad',
      'link set dev eth1 up',
      'addr add 10.0.1.1/24 dev eth2',
      'link set dev eth2 up',
      'route replace 10.9.0.0/16 via 10.0.1.2',
    ]);
    expect(vmSysctls(r1)).to.deep.equal([
      ['net.ipv4.ip_forward', '1'],
      ['net.ipv6.conf.all.forwarding', '1'],
    ]);
    const h1 = d.vms.find((v) => v.vm === 'h1')!;
    expect(vmInnerLines(h1).slice(-2)).to.deep.equal(['route replace 0.0.0.0/0 via 10.0.0.1', 'route replace ::/0 via 2001:db8::1']);
    expect(vmSysctls(h1)).to.deep.equal([]);
  });

  it('the VM spec hash changes with what is configured', () => {
    const a = desired().vms[1];
    const s = scenario();
    s.vms[1].ifaces[0].ipv4[0].address = '10.0.0.3';
    const b = desiredState({ scenario: s, deployment: 'lab', tag: 'tag1', backplane: [], names: new NameAllocator('tag1', [], []), trunkMtu: () => 1500 }).vms[1];
    expect(a.hash).not.to.equal(b.hash);
    expect(desired().vms[1].hash).to.equal(a.hash);
  });

  it('readable link names from the lab\'s display name; namespaces, MACs and hashed names from the deployment key', () => {
    const known: [string, string][] = [];
    const apply = (deployment: string) => {
      const names = new NameAllocator('tag1', known, []);
      const d = desiredState({ scenario: scenario(), deployment, lab: 'tutorial', tag: 'tag1', backplane: [], names, trunkMtu: () => 1500 });
      const links = [...d.nets.map((n) => [`${deployment}|bridge:${n.net}`, n.bridge]), ...d.vms.flatMap((v) => v.ifaces.map((i) => [`${deployment}|veth:${v.vm}:${i.id}`, i.outer]))];
      for (const [key, name] of links) known.push([key!, name!]); // as the journals would hold them
      return d;
    };
    const a = apply('tutorial.aaaaaa');
    expect(a.nets.map((n) => n.bridge)).to.deep.equal(['tutorial-A', 'tutorial-B']);
    const r1 = a.vms.find((v) => v.vm === 'r1')!;
    expect(r1.netns).to.equal('tutorial.aaaaaa.r1.tag1');
    expect(r1.ifaces.map((i) => i.outer)).to.deep.equal(['tutorial-r1-1', 'tutorial-r1-2']);
    expect(r1.ifaces[1]!.mac).to.equal(stableMac('tutorial.aaaaaa', 'r1', 2));
    // A second lab of the same name here: its readable names are taken, it gets hashed ones of its own key.
    const b = apply('tutorial.bbbbbb');
    expect(b.nets.every((n) => /^eb[a-z2-7]{13}$/.test(n.bridge))).to.equal(true);
    const r1b = b.vms.find((v) => v.vm === 'r1')!;
    expect(r1b.ifaces.every((i) => /^ev[a-z2-7]{13}$/.test(i.outer))).to.equal(true);
    expect(r1b.ifaces[1]!.mac).to.not.equal(r1.ifaces[1]!.mac);
    // Without a lab name, the deployment's (a key `<lab>.<uid>` is too long for most readable names).
    expect(desiredState({ scenario: scenario(), deployment: 'lab', tag: 'tag1', backplane: [], names: new NameAllocator('tag1', [], []), trunkMtu: () => 1500 }).nets[0]!.bridge).to.equal('lab-A');
  });
});

describe('host-agent exec sequences and filetree views', () => {
  it('runs a sequence’s filetrees before its execs, sequence by sequence', () => {
    const v = vm('x', [], {
      execs: [
        { seq: 'b', type: 'verbatim', text: 'echo b' },
        { seq: 'a', type: 'verbatim', text: 'echo a' },
      ],
      filetrees: [{ seq: 'a', root: '/etc/x', source: 'conf' }],
    });
    const steps = vmSteps(v, 'all', new Map([['all', ['a', 'b']]]));
    expect(steps.map((s) => (s.kind === 'exec' ? s.exec.text : `ft ${s.filetree.root}`))).to.deep.equal(['ft /etc/x', 'echo a', 'echo b']);
  });

  it('overlays the nearest existing directory, never the host root', () => {
    const exists = (p: string) => ['/var', '/etc', '/etc/ssh'].includes(p);
    expect(overlayAnchors(['/var/www/html', '/etc/ssh/x', '/etc'], exists)).to.deep.equal(['/etc', '/var']);
    expect(() => overlayAnchors(['/nonexistent/dir'], exists)).to.throw(/top-level directory/);
  });
});
