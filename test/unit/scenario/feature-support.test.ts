// What a scenario asks that ediv does not apply: each warning from a small scenario, its JSON
// shape and location, the driver dependence of the FEATURES table, and the real files of
// ../shared/third-party (read in place; skipped, saying so, when that folder is absent).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { edivRoot } from '../../../src/common/paths.ts';
import { parseScenarioFile, parseScenarioText } from '../../../src/scenario/index.ts';
import { FEATURES, featureWarnings, type ScenarioWarning } from '../../../src/scenario/feature-support.ts';
import { describeWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

const FILE = 'lab.xml';
const vnx = (body: string, global = '') =>
  `<vnx>\n<global><version>2.0</version><scenario_name>t</scenario_name>${global}</global>\n${body}\n</vnx>\n`;
const NET = '<net name="n" mode="virtual_bridge"/>';
const onDriver = (driver: string) => () => [driver];

/** The warnings of a scenario text whose VMs run with `driver` (netns unless told). */
function warningsOf(text: string, driver = 'netns'): ScenarioWarning[] {
  return featureWarnings(parseScenarioText(text, FILE), onDriver(driver));
}

const seen = new Set<string>();
function only(ws: ScenarioWarning[], feature: string): ScenarioWarning[] {
  seen.add(feature);
  return ws.filter((w) => w.feature === feature);
}

describe('scenario feature support (warnings)', () => {
  it('<mem> and vcpu: cgroup limits the container driver applies, the netns driver does not', () => {
    const text = vnx(`${NET}\n<vm name="a" type="lxc" vcpu="2"><mem>256M</mem><if id="1" net="n"/></vm>`);
    const ws = warningsOf(text);
    expect(only(ws, 'mem')).to.deep.equal([
      {
        vm: 'a',
        feature: 'mem',
        message: 'vm a: <mem> 256 MB is not applied by the netns driver: the VM has no memory limit (the container driver applies it as a cgroup limit)',
        loc: { file: FILE, line: 4, column: 1 },
      },
    ]);
    expect(only(ws, 'vcpu')[0]!.message).to.equal(
      'vm a: vcpu="2" is not applied by the netns driver: the VM has no CPU limit (the container driver applies it as a cgroup limit)',
    );
    expect(warningsOf(text, 'container')).to.deep.equal([]);
  });

  it('<filesystem>: used by the container driver when it is a directory on the host, never by netns; located at the element', () => {
    const text = vnx(`${NET}\n<vm name="a" type="lxc">\n  <filesystem type="cow">/usr/share/vnx/filesystems/rootfs_lxc</filesystem>\n</vm>`);
    const [w] = only(warningsOf(text), 'filesystem');
    expect(w).to.deep.include({ vm: 'a', loc: { file: FILE, line: 5, column: 3 } });
    expect(w!.message).to.equal(
      'vm a: <filesystem type="cow"> /usr/share/vnx/filesystems/rootfs_lxc is not applied by the netns driver: ' +
        "the VM sees the host's file system (used by the container driver when it is a root-file-system directory on the host)",
    );
    expect(only(warningsOf(text, 'container'), 'filesystem')).to.deep.equal([]);
  });

  it('before placement, a VM that may get several drivers is warned for the ones that do not apply it', () => {
    const s = parseScenarioText(vnx(`${NET}\n<vm name="a" type="lxc"><mem>1G</mem></vm>`), FILE);
    const [w] = featureWarnings(s, () => ['container', 'netns']);
    expect(w!.message).to.match(/^vm a: <mem> 1024 MB is not applied by the netns driver:/);
  });

  it('bw, delay, loss on a <net>, in <net><bw> and on an <if>: link shaping the netns and container drivers apply; dscp no driver', () => {
    const text = vnx(
      '<net name="n" mode="virtual_bridge" bw="10000" delay="20ms" dscp="8"><bw>5000</bw></net>\n' +
        '<vm name="a" type="lxc"><if id="1" net="n" loss="1%" dscp="8"/></vm>',
    );
    for (const driver of ['netns', 'container']) expect(only(warningsOf(text, driver), 'net-shaping'), driver).to.deep.equal([]);
    // A driver that does not shape links is warned, saying which drivers do.
    const ws = only(warningsOf(text, 'other'), 'net-shaping');
    const how = '(the netns and container drivers apply it with tc: bw always, delay and loss where the host has netem)';
    expect(ws.map((w) => [w.vm, w.net, w.loc.line, w.message])).to.deep.equal([
      [undefined, 'n', 3, `net n: bw="10000" delay="20ms" is not applied by the other driver: the link has no bandwidth limit, delay or loss ${how}`],
      [undefined, 'n', 3, `net n: <bw> 5000 is not applied by the other driver: the link has no bandwidth limit, delay or loss ${how}`],
      ['a', 'n', 4, `vm a: <if id="1"> loss="1%" is not applied by the other driver: the link has no bandwidth limit, delay or loss ${how}`],
    ]);
    expect(only(warningsOf(text), 'net-dscp').map((w) => [w.vm, w.net, w.loc.line, w.message])).to.deep.equal([
      [undefined, 'n', 3, "net n: dscp=\"8\" is not applied: the link's packets keep the DSCP their sender gave them"],
      ['a', 'n', 4, "vm a: <if id=\"1\"> dscp=\"8\" is not applied: the link's packets keep the DSCP their sender gave them"],
    ]);
  });

  it('vm_mgmt private is built by the netns and container drivers (host_mapping is not applied); net is refused; none is fine', () => {
    const mgmt = (type: string, inner = '') => vnx(`${NET}\n<vm name="a" type="lxc"/>`, `<vm_mgmt type="${type}" network="10.250.0.0" mask="24">${inner}</vm_mgmt>`);
    expect(only(warningsOf(mgmt('private')), 'vm_mgmt')).to.deep.equal([]);
    expect(only(warningsOf(mgmt('private'), 'container'), 'vm_mgmt')).to.deep.equal([]);
    expect(only(warningsOf(mgmt('private'), 'other'), 'vm_mgmt')[0]!.message).to.equal(
      '<vm_mgmt type="private"> is not applied by the other driver: the VMs get no management interface ' +
        '(the netns and container drivers build it: a /30 link from the host to each VM)',
    );
    expect(only(warningsOf(mgmt('private', '<host_mapping/>')), 'host_mapping').map((w) => w.message)).to.deep.equal([
      "<vm_mgmt> <host_mapping> is not applied: the host's /etc/hosts does not name the VMs",
    ]);
    const [w] = only(warningsOf(mgmt('net')), 'vm_mgmt-net');
    expect(w).to.deep.include({ feature: 'vm_mgmt-net', loc: { file: FILE, line: 2, column: 63 } });
    expect(w!.message).to.equal(
      '<vm_mgmt type="net"> is refused by the host agents: the deploy fails before anything is made: use type="private" (a management link per VM) or type="none"',
    );
    expect(warningsOf(mgmt('none'))).to.deep.equal([]);
  });

  it('<console> of a VM (several as one warning) and of <vm_defaults> is not provided', () => {
    const text = vnx(
      `${NET}\n<vm name="a" type="lxc"><console id="0">xterm</console><console id="1" display="yes"/></vm>`,
      '<vm_defaults><console id="0" display="no"/></vm_defaults>',
    );
    const ws = only(warningsOf(text), 'console');
    expect(ws.map((w) => w.message)).to.deep.equal([
      '<vm_defaults> <console id="0" display="no"> is not provided: use \'ediv exec\' to run commands in the VMs',
      "vm a: 2 <console>s (ids 0, 1) are not provided: use 'ediv exec' to run commands in the VMs",
    ]);
  });

  it('the <host> section: hostifs, routes and forwarding are built by the netns and container drivers; its execs are not run', () => {
    const text = vnx(
      `${NET}\n<vm name="a" type="lxc"><if id="1" net="n"/></vm>\n` +
        '<host>\n  <hostif net="n"><ipv4>10.0.0.9/24</ipv4></hostif>\n  <route type="ipv4" gw="10.0.0.1">10.1.0.0/16</route>\n' +
        '  <exec seq="s" type="verbatim">true</exec>\n</host>',
    );
    for (const driver of ['netns', 'container']) expect(only(warningsOf(text, driver), 'host'), driver).to.deep.equal([]);
    const how = "(the netns and container drivers build it on the host that holds the section: a veth into each hostif's net, its addresses, the routes and forwarding)";
    expect(only(warningsOf(text, 'other'), 'host').map((w) => [w.net, w.loc.line, w.message])).to.deep.equal([
      [undefined, 5, `the <host> section's 1 <route> is not applied by the other driver: the physical host is not connected to the lab's nets ${how}`],
      ['n', 6, `net n: <hostif net="n"> of the <host> section is not applied by the other driver: the physical host is not connected to the lab's nets ${how}`],
    ]);
    expect(only(warningsOf(text), 'host-exec').map((w) => [w.loc.line, w.message])).to.deep.equal([
      [8, "the <host> section's 1 <exec> is not run: nothing is run on the host: run those commands yourself after the deploy"],
    ]);
  });

  it('<vm_defaults> values that would change a VM are not applied to the VMs', () => {
    const text = vnx(NET, '<vm_defaults><mem>128M</mem><forwarding type="ip"/><exec_mode type="uml">mconsole</exec_mode></vm_defaults>');
    expect(only(warningsOf(text), 'vm_defaults').map((w) => w.message)).to.deep.equal([
      '<vm_defaults> <mem> 128M is not applied to the VMs: a VM without its own value does not inherit it',
      '<vm_defaults> <forwarding type="ip"> is not applied to the VMs: a VM without its own value does not inherit it',
    ]);
  });

  it('shareddir, ssh_key, user, on_boot and order', () => {
    const text = vnx(
      `${NET}\n<vm name="a" type="lxc" order="2"><shareddir root="/shared">/tmp/x</shareddir><user username="bob"/>` +
        '<exec seq="on_boot" type="verbatim">ip a</exec><exec seq="other" type="verbatim">true</exec></vm>',
      '<ssh_key>~/.ssh/id_rsa.pub</ssh_key>',
    );
    const ws = warningsOf(text);
    expect(only(ws, 'shareddir')[0]!.message).to.equal('vm a: <shareddir root="/shared"> /tmp/x is not provided: the VM does not see that host directory');
    expect(only(ws, 'ssh_key')[0]!.message).to.equal("<ssh_key> ~/.ssh/id_rsa.pub is not installed: the key is not added to the VMs' authorized keys");
    expect(only(ws, 'user')[0]!.message).to.equal('vm a: <user username="bob"> is not created: the VM has no such account');
    expect(only(ws, 'on_boot')[0]!.message).to.equal(
      "vm a: sequence \"on_boot\" (1 exec/filetree element) is not run when the VM starts: run it with 'ediv exec <scenario> on_boot' after the deploy",
    );
    expect(only(ws, 'order')[0]!.message).to.equal('vm a: order="2" is not followed: the VMs start in parallel');
  });

  it('net external, vlan, mtu, managed="no", <connection>; <if><vlan> and <dns>', () => {
    const text = vnx(
      '<net name="n" mode="openvswitch" external="eth1" vlan="10" mtu="9000" managed="no"><connection name="c" net="m" type="veth"/></net>\n' +
        '<net name="m" mode="openvswitch"/>\n' +
        '<vm name="a" type="lxc"><if id="1" net="n"><vlan><tag id="1001"/></vlan><dns>8.8.8.8</dns></if></vm>',
    );
    const ws = warningsOf(text);
    expect(only(ws, 'net-external')[0]!.message).to.match(/^net n: external="eth1" is not attached: the net is not bridged to that host interface/);
    expect(only(ws, 'net-vlan')[0]!.message).to.match(/^net n: vlan="10" is not applied/);
    expect(only(ws, 'net-mtu')[0]!.message).to.match(/^net n: mtu="9000" is not applied: the net's interfaces keep the default MTU/);
    // managed="no" is applied by the netns and container drivers (the host's bridge of that name)
    expect(only(ws, 'net-unmanaged')).to.deep.equal([]);
    // <connection> is built by the netns and container drivers
    expect(only(ws, 'net-connection')).to.deep.equal([]);
    expect(only(ws, 'if-vlan')[0]).to.deep.include({ vm: 'a', net: 'n', loc: { file: FILE, line: 5, column: 44 } });
    expect(only(ws, 'dns')[0]!.message).to.match(/^vm a: <if id="1"> <dns> 8\.8\.8\.8 is not applied/);
  });

  it('<extension plugin> is not run', () => {
    const [w] = only(warningsOf(vnx(NET, '<extension plugin="ospf" conf="ospf.xml"/>')), 'extension');
    expect(w!.message).to.equal('<extension plugin="ospf" conf="ospf.xml"> is not run: the plugin\'s configuration is not applied');
  });

  it('OVF: a StartupSection (recorded by the parser) is warned; a ScaleOutSection is applied (3 VMs), not warned', () => {
    const ovf = `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:ovf2="http://schemas.dmtf.org/ovf/envelope/2">
  <VirtualSystemCollection ovf:id="c">
    <ovf2:ScaleOutSection ovf2:id="vs1"><Info>x</Info><ovf2:InstanceCount ovf2:default="3"/></ovf2:ScaleOutSection>
    <StartupSection><Info>x</Info><Item ovf:id="vs1" ovf:order="1"/></StartupSection>
    <VirtualSystem ovf:id="vs1"><Info>x</Info></VirtualSystem>
  </VirtualSystemCollection>
</Envelope>`;
    const s = parseScenarioText(ovf, 'x.ovf');
    expect(s.vms.map((v) => v.name)).to.deep.equal(['vs1-1', 'vs1-2', 'vs1-3']);
    const ws = featureWarnings(s, onDriver('netns'));
    expect(ws.map((w) => w.feature)).to.deep.equal(['order']);
    expect(only(ws, 'order')[0]!.message).to.equal('StartupSection (1 items) is not followed: the VMs start in parallel');
  });

  it('a scenario that asks nothing ediv leaves out has no warning; warnings come in document order', () => {
    expect(warningsOf(vnx(`${NET}\n<vm name="a" type="lxc"><if id="1" net="n"><ipv4>10.0.0.1/24</ipv4></if></vm>`))).to.deep.equal([]);
    const ws = warningsOf(vnx(`${NET}\n<vm name="a" type="lxc" vcpu="1"/>\n<vm name="b" type="lxc"><mem>1G</mem></vm>`, '<ssh_key>k</ssh_key>'));
    expect(ws.map((w) => w.loc.line)).to.deep.equal([2, 4, 5]);
  });

  it('<if name="e0/0">: a router port name validates (real scenarios have them), warned: the host agents refuse it', () => {
    const text = vnx(`${NET}\n<vm name="r" type="dynamips"><if id="0" net="vm_mgmt" name="e0/0"/>\n  <if id="1" net="n" name="s1/0"/></vm>`);
    const ws = only(warningsOf(text, 'container'), 'if-name');
    expect(ws).to.deep.equal([
      {
        vm: 'r',
        net: 'n',
        feature: 'if-name',
        message: 'vm r: <if id="1" name="s1/0"> is refused by the host agents: the deploy fails before anything is made: ' +
          "remove the name (the interface is then eth<id>) or give a Linux name (at most 15 letters, digits, '_', '-', '.')",
        loc: { file: FILE, line: 5, column: 3 },
      },
    ]);
  });

  it('warnings show the scenario\'s text escaped: no raw control or bidi characters', () => {
    const ws = warningsOf(vnx(`<net name="n" mode="virtual_bridge" dscp="a\u202Eb\u0085"/>`));
    expect(ws[0]!.message).to.include('dscp="a\\u202Eb\\u0085"');
    expect(ws[0]!.message).to.not.match(/[\u0080-\u009F\u202A-\u202E]/);
  });

  it('every warning has the JSON shape {vm?, net?, feature, message, loc: {file, line, column}}', () => {
    const ws = warningsOf(
      vnx('<net name="n" mode="virtual_bridge" dscp="1"/>\n<vm name="a" type="lxc"><mem>1G</mem><if id="1" net="n" dscp="1"/></vm>', '<ssh_key>k</ssh_key>'),
    );
    expect(ws.length).to.equal(4);
    for (const w of JSON.parse(JSON.stringify(ws)) as Record<string, unknown>[]) {
      expect(Object.keys(w).every((k) => ['vm', 'net', 'feature', 'message', 'loc'].includes(k)), Object.keys(w).join()).to.equal(true);
      expect(w.feature).to.be.a('string');
      expect(w.message).to.be.a('string');
      expect(Object.keys(w.loc as object).sort()).to.deep.equal(['column', 'file', 'line']);
    }
  });

  it('the table: every feature has a title and an effect; applied ones say how, the others how ediv treats them', () => {
    for (const [id, f] of Object.entries(FEATURES)) {
      expect(f.title, id).to.be.a('string').and.not.equal('');
      expect(f.effect, id).to.be.a('string').and.not.equal('');
      if (f.appliedBy.length) expect('howApplied' in f, id).to.equal(true);
      else expect('status' in f && /^is /.test(f.status), id).to.equal(true);
    }
    expect(FEATURES.mem.appliedBy).to.deep.equal(['container']);
    expect(FEATURES.vcpu.appliedBy).to.deep.equal(['container']);
    expect(FEATURES.filesystem.appliedBy).to.deep.equal(['container']);
  });

  it('docs/scenario.md has a row for every feature of the table', () => {
    const doc = readFileSync(path.join(edivRoot, 'docs/scenario.md'), 'utf8');
    for (const id of Object.keys(FEATURES)) expect(doc, id).to.include(`| \`${id}\` |`);
  });

  it('every feature of the table is tested above', function () {
    // Runs after the tests above (mocha keeps the order within a describe).
    expect([...seen].sort()).to.deep.equal(Object.keys(FEATURES).sort());
  });

  describeWithThirdParty('on real files in ../shared/third-party', () => {
    const featuresOf = async (rel: string, driver = 'netns') => {
      const s = await parseScenarioFile(thirdPartyPath(rel));
      return new Set(featureWarnings(s, onDriver(driver)).map((w) => w.feature));
    };

    it('the VNX LXC tutorial: consoles and root file systems (its <host> section is built); on container only what no driver applies', async () => {
      expect([...(await featuresOf('vnx/02-tutorial_lxc_ubuntu.xml'))].sort()).to.deep.equal(['console', 'filesystem']);
      expect([...(await featuresOf('vnx/02-tutorial_lxc_ubuntu.xml', 'container'))].sort()).to.deep.equal(['console']);
    });

    it('the OSPF plugin lab: extension, on_boot, ssh_key, host_mapping (its private vm_mgmt and <host> section are built)', async () => {
      const fs = await featuresOf('vnx-more/dfz-hist-simple_ubuntu-ospf.xml');
      for (const f of ['extension', 'on_boot', 'ssh_key', 'host_mapping', 'mem', 'filesystem']) expect(fs.has(f), f).to.equal(true);
      for (const f of ['vm_mgmt', 'host']) expect(fs.has(f), f).to.equal(false);
    });

    it('the SD-edge lab: nets on existing host bridges (managed="no") are followed, not warned', async () => {
      expect((await featuresOf('vnx-more/educaredes-sdedge_nfv_sedes.xml')).has('net-unmanaged')).to.equal(false);
    });

    it('the VNUML 1.8 lab: vm_defaults and ssh_key', async () => {
      const fs = await featuresOf('vnx/04-vnuml18-s21seclabsvirtual-v02.xml');
      expect(fs.has('vm_defaults') && fs.has('ssh_key') && fs.has('mem')).to.equal(true);
    });

    it('OVF: memory, CPUs and the disk; a ScaleOutSection is applied (its instances are VMs), not warned', async () => {
      expect([...(await featuresOf('ovf/cot_ubuntu.2.0.ovf'))].sort()).to.deep.equal(['filesystem', 'mem', 'vcpu']);
      expect([...(await featuresOf('ovf-more/govmomi-scaleout.ovf'))]).to.deep.equal([]);
    });
  }, ['vnx', 'vnx-more', 'ovf', 'ovf-more']);
});
