import { expect } from 'chai';
import path from 'node:path';
import { parseScenarioFile, parseScenarioText, writeScenario, checkScenario } from '../../../src/scenario/index.ts';
import type { Scenario } from '../../../src/scenario/model.ts';
import { parseMem } from '../../../src/scenario/vnx-parse.ts';
import { InputError } from '../../../src/common/errors.ts';
import { withoutLocations } from './corpus-helpers.ts';
import { itWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

// The real VNX/VNUML and OVF files, read in place from ../shared/third-party (those tests are skipped, saying so, without it).
const vnxDir = thirdPartyPath('vnx');
export const VNX_FILES = [
  '01-simple_lxc_ubuntu.xml',
  '02-tutorial_lxc_ubuntu.xml',
  '02b-tutorial_ubuntu.xml',
  '03-ediv_testing-tutorial_root2_all.xml',
  '04-vnuml18-s21seclabsvirtual-v02.xml',
];


function problemsOf(fn: () => unknown): { line?: number; column?: number; message: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(InputError);
    return (err as InputError).problems.map((p) => ({ line: p.loc.line, column: p.loc.column, message: p.message }));
  }
  throw new Error('expected an InputError');
}

const vnx = (body: string, global = '') =>
  `<vnx>\n<global><version>2.0</version><scenario_name>t</scenario_name>${global}</global>\n${body}\n</vnx>\n`;

describe('VNUML/VNX scenarios', () => {
  itWithThirdParty('reads the VNX 2.0 tutorial into the model', async () => {
    const s = await parseScenarioFile(path.join(vnxDir, '02-tutorial_lxc_ubuntu.xml'));
    expect([s.name, s.source.format, s.source.version, s.global.version, s.global.automac]).to.deep.equal([
      'tutorial_lxc_ubuntu', 'vnx', '2.0', '2.0', true,
    ]);
    expect(s.nets.map((n) => `${n.name}:${n.mode}`)).to.deep.equal([
      'Net0:virtual_bridge', 'Net1:virtual_bridge', 'Net2:virtual_bridge', 'Net3:virtual_bridge',
    ]);
    expect(s.vms.map((v) => v.name)).to.deep.equal(['h1', 'h2', 'r1', 'r2', 'h3', 'h4']);
    const r1 = s.vms[2];
    expect(r1.type).to.equal('lxc');
    expect(r1.ifaces[2]).to.deep.include({ id: 3, net: 'Net3', ipv4: [{ address: '10.1.3.1', prefix: 24 }], ipv6: [{ address: '2001:db8:3::1', prefix: 64 }] });
    expect(r1.routes[1]).to.deep.include({ family: 'ipv6', destination: '2001:db8:2::/64', gateway: '2001:db8:1::2' });
    expect(r1.forwarding).to.deep.equal({ ipv4: true, ipv6: true });
    expect(r1.loc).to.deep.equal({ file: path.join(vnxDir, '02-tutorial_lxc_ubuntu.xml'), line: 80, column: 3 });
    expect(Object.fromEntries(s.cmdSeqs)).to.deep.equal({ ls12: ['ls1', 'ls2'], ls123: ['ls12', 'ls3'], ls1234: ['ls123', 'ls4'] });
    const h3 = s.vms[4];
    expect(h3.execs[0]).to.deep.include({ seq: 'start-www', type: 'verbatim', ostype: 'system' });
    expect(h3.execs[0].text).to.equal('chmod 644 /var/www/html/*\n        service apache2 start');
    expect(h3.filetrees[0]).to.deep.include({ seq: 'start-www', root: '/var/www/html', source: 'conf/tutorial_ubuntu/h3/*' });
    expect(s.host!.ifaces[0]).to.deep.include({ net: 'Net3', ipv4: [{ address: '10.1.3.2', prefix: 24 }] });
    expect(s.host!.routes).to.have.length(2);
    // What the model does not name is kept, in order, with the named element it followed.
    expect(s.global.extra.children.map((c) => `${c.after}>${c.node.tag}`)).to.deep.equal([
      'automac>vm_mgmt', 'automac>vm_defaults', 'cmd-seq>vnx_cfg', 'cmd-seq>help',
    ]);
    expect(s.vms[0].extra.children[0].node).to.deep.equal({
      tag: 'filesystem', attrs: { type: 'cow' }, children: [{ text: '/usr/share/vnx/filesystems/rootfs_lxc' }],
    });
    expect(s.extra.attrs['xsi:noNamespaceSchemaLocation']).to.equal('/usr/share/xml/vnx/vnx-2.00.xsd');
  }, 'vnx');

  itWithThirdParty('reads VNUML 1.8 with entities, netmasks and memory', async () => {
    const s = await parseScenarioFile(path.join(vnxDir, '04-vnuml18-s21seclabsvirtual-v02.xml'));
    expect([s.name, s.source.format, s.source.version, s.global.automacOffset]).to.deep.equal(['s21seclabsvirtual', 'vnuml', '1.8', 0]);
    expect(s.vms).to.have.length(37);
    const fw = s.vms[0];
    expect([fw.name, fw.type, fw.memMB]).to.deep.equal(['fw', undefined, 64]);
    expect(fw.ifaces[0].ipv4).to.deep.equal([{ address: '192.168.0.1', prefix: 24 }]);
    expect(fw.extra.attrs).to.deep.equal({ order: '' });
    expect(s.nets[0]).to.deep.include({ name: 'br0', mode: 'virtual_bridge', type: 'lan' });
    expect(s.nets[0].external).to.equal(undefined);
    expect(s.nets[0].extra.attrs).to.deep.equal({ sock: '', hub: 'no' });
    const www = s.vms.find((v) => v.name === 'www')!;
    expect(www.execs[1].text).to.equal('/etc/init.d/apache2 restart </dev/null >/dev/null 2>&1 &');
    const defaults = s.global.extra.children.find((c) => c.node.tag === 'vm_defaults')!.node;
    expect(JSON.stringify(defaults)).to.include('/usr/share/vnuml/kernels/linux');
  }, 'vnx');

  itWithThirdParty('reads VNX 1.92 with vm type, subtype, mem and exec mode', async () => {
    const s = await parseScenarioFile(path.join(vnxDir, '03-ediv_testing-tutorial_root2_all.xml'));
    expect(s.source.version).to.equal('1.92');
    const ub = s.vms.find((v) => v.name === 'Ubuntu')!;
    expect([ub.type, ub.subtype, ub.os, ub.memMB]).to.deep.equal(['libvirt', 'kvm', 'linux', 256]);
    expect(ub.ifaces[0].ipv4).to.deep.equal([{ address: '10.0.0.3', prefix: 24 }]);
    expect(ub.execs[0]).to.deep.include({ seq: 'comando', mode: 'exec', text: 'gnome-calculator' });
  }, 'vnx');

  for (const f of VNX_FILES) {
    itWithThirdParty(`round-trips ${f}: parse → write → parse gives the same model`, async () => {
      const s = await parseScenarioFile(path.join(vnxDir, f));
      const text = writeScenario(s);
      const again = parseScenarioText(text, path.join(vnxDir, f));
      expect(withoutLocations(again)).to.deep.equal(withoutLocations(s));
      expect(text.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).to.equal(true);
    }, 'vnx');
  }

  it('writes kept elements back in place and escapes text', () => {
    const s = parseScenarioText(
      vnx(
        '<net name="n" mode="virtual_bridge" sock="/x"/>\n' +
          '<vm name="a" type="lxc" exec_mode="cmd"><filesystem type="cow">/fs</filesystem><mem>1G</mem><kernel>k</kernel>' +
          '<if id="1" net="n" bw="100"><mac>02:fd:00:00:00:01</mac><ipv4 mask="255.255.0.0">10.0.0.1</ipv4></if>' +
          '<exec seq="s" type="verbatim" gui="no">a &amp;&amp; b &lt; "c"</exec></vm>',
        '<automac offset="4"/><ssh_key>~/.ssh/id.pub</ssh_key><cmd-seq seq="all">s</cmd-seq>',
      ),
      't.xml',
    );
    const out = writeScenario(s);
    expect(out).to.include('<automac offset="4"/>\n    <ssh_key>~/.ssh/id.pub</ssh_key>\n    <cmd-seq seq="all">s</cmd-seq>');
    expect(out).to.include('<vm name="a" type="lxc" exec_mode="cmd">\n    <filesystem type="cow">/fs</filesystem>\n    <mem>1024M</mem>\n    <kernel>k</kernel>');
    expect(out).to.include('<if id="1" net="n" bw="100">\n      <mac>02:fd:00:00:00:01</mac>\n      <ipv4>10.0.0.1/16</ipv4>');
    expect(out).to.include('<exec seq="s" type="verbatim" gui="no">a &amp;&amp; b &lt; "c"</exec>');
    expect(out).to.include('<net name="n" mode="virtual_bridge" sock="/x"/>');
    expect(s.vms[0].execs[0].text).to.equal('a && b < "c"');
  });

  itWithThirdParty('writes a VNUML scenario as VNUML and an OVF-sourced one as VNX 2.0', async () => {
    const s = await parseScenarioFile(path.join(vnxDir, '04-vnuml18-s21seclabsvirtual-v02.xml'));
    const out = writeScenario(s);
    expect(out).to.match(/<vnuml>\n  <global>\n    <version>1\.8<\/version>\n    <simulation_name>s21seclabsvirtual<\/simulation_name>/);
    // As an OVF source gives it: every VM typed (VNX requires a type; VNUML has none).
    const ovf: Scenario = { ...s, source: { format: 'ovf', path: 'x.ovf', version: '1.0' }, extra: { attrs: {}, children: [] }, vms: s.vms.map((v) => ({ ...v, type: 'libvirt', subtype: 'kvm' })) };
    const v = writeScenario(ovf);
    expect(v).to.match(/<vnx xmlns:xsi="[^"]+" xsi:noNamespaceSchemaLocation="\/usr\/share\/xml\/vnx\/vnx-2.00.xsd">\n  <global>\n    <version>2\.0<\/version>\n    <scenario_name>s21seclabsvirtual<\/scenario_name>/);
    expect(parseScenarioText(v, 'w.xml').vms).to.have.length(37);
  }, 'vnx');

  for (const f of ['cot_ubuntu.2.0.ovf', 'govmomi_vCD_vApp_OVF.ovf', 'govmomi_virtualsystemcollection_dsp0243_2.1.1_example3.ovf']) {
    itWithThirdParty(`dispatches the OVF envelope ${f} and writes it as VNX 2.0 that reads back the same`, async () => {
      const s = await parseScenarioFile(path.resolve(vnxDir, '../ovf', f));
      expect(s.source.format).to.equal('ovf');
      expect(s.vms.length).to.be.above(0);
      const text = writeScenario(s);
      expect(text).to.match(/<vnx [^>]*>\n  <global>\n    <version>2\.0<\/version>/);
      const again = parseScenarioText(text, 'written.xml');
      expect(again.source.format).to.equal('vnx');
      const shape = (x: Scenario) => withoutLocations({ name: x.name, nets: x.nets, vms: x.vms });
      expect(shape(again)).to.deep.equal(shape(s));
    }, 'ovf');
  }

  it('reads memory sizes with VNX units', () => {
    expect(parseMem('256M')).to.equal(256);
    expect(parseMem(' 1G ')).to.equal(1024);
    expect(parseMem('65536')).to.equal(64); // a plain number is kilobytes, as VNX passes it on
    expect(parseMem('512MB')).to.equal(512);
    expect(parseMem('2GiB')).to.equal(2048);
    expect(parseMem('lots')).to.match(/not a memory size/);
    expect(parseMem('0M')).to.match(/more than zero/);
  });

  it('reads both address forms and keeps IPv6 canonical', () => {
    const s = parseScenarioText(
      vnx('<net name="n" mode="virtual_bridge"/><vm type="lxc" name="a"><if id="1" net="n"><ipv4 mask="24">10.0.0.1</ipv4><ipv4>10.0.1.1/30</ipv4>' +
        '<ipv6>2001:DB8:0:0::1</ipv6><ipv6 mask="48">2001:db8:1::1</ipv6></if></vm>'),
      't.xml',
    );
    const i = s.vms[0].ifaces[0];
    expect(i.ipv4).to.deep.equal([{ address: '10.0.0.1', prefix: 24 }, { address: '10.0.1.1', prefix: 30 }]);
    expect(i.ipv6).to.deep.equal([{ address: '2001:db8::1', prefix: 64 }, { address: '2001:db8:1::1', prefix: 48 }]);
  });

  it('accepts interfaces on the loopback pseudo-net "lo"', () => {
    const s = parseScenarioText(vnx('<vm type="lxc" name="a"><if id="1" net="lo"><ipv4 mask="255.255.255.255">10.9.9.9</ipv4></if></vm>'), 't');
    expect(s.vms[0].ifaces[0]).to.deep.include({ net: 'lo', ipv4: [{ address: '10.9.9.9', prefix: 32 }] });
  });

  it('reports every semantic problem with its line and column', () => {
    const text = vnx(
      [
        '<net name="n" mode="virtual_bridge"/>',
        '<net name="n" mode="virtual_bridge"/>',
        '<vm type="lxc" name="a">',
        '  <if id="1" net="nope"><ipv4>10.0.0.300/24</ipv4></if>',
        '  <if id="1" net="n"><ipv4 mask="255.0.255.0">10.0.0.1</ipv4><ipv6>2001:db8::1/129</ipv6></if>',
        '  <route type="ipv4" gw="2001:db8::1">default</route>',
        '  <route type="ipv4" gw="10.0.0.254">10.1.0.0/33</route>',
        '  <exec seq="s1" type="verbatim">true</exec>',
        '</vm>',
        '<vm type="lxc" name="a"/>',
        '<vm type="lxc" name="b;rm -rf /"><mem>much</mem></vm>',
      ].join('\n'),
      '<cmd-seq seq="c1">s1,missing</cmd-seq><cmd-seq seq="c2">c3</cmd-seq><cmd-seq seq="c3">c2</cmd-seq>',
    );
    const ps = problemsOf(() => parseScenarioText(text, 'bad.xml'));
    const want: [number, RegExp][] = [
      [2, /cmd-seq "c1" refers to sequence "missing"/],
      [2, /cmd-seq loop: c2 → c3 → c2/],
      [4, /net name "n" is used twice \(first at line 3\)/],
      [6, /interface 1 is on net "nope", which is not declared/],
      [6, /"10\.0\.0\.300\/24" is not a valid IPv4 address/],
      [7, /interface id 1 is used twice/],
      [7, /netmask 255\.0\.255\.0 is not contiguous/],
      [7, /prefix length \/129 is out of range 0-128/],
      [8, /route gateway "2001:db8::1" is not a valid IPv4 address/],
      [9, /invalid prefix length/],
      [12, /VM name "a" is used twice \(first at line 5\)/],
      [13, /VM name "b;rm -rf \/" is not allowed/],
      [13, /<mem>much<\/mem> is not a memory size/],
    ];
    for (const [line, re] of want) {
      expect(ps.some((p) => p.line === line && re.test(p.message)), `line ${line}: ${re}\n${JSON.stringify(ps, null, 1)}`).to.equal(true);
    }
    expect(ps).to.have.length(want.length);
    expect(ps.every((p) => typeof p.column === 'number')).to.equal(true);
  });

  it('checks scenarios built by other parsers too', () => {
    const s: Scenario = {
      name: 'x',
      global: { version: '2.0', extra: { attrs: {}, children: [] } },
      nets: [{ name: 'n', mode: 'virtual_bridge', extra: { attrs: {}, children: [] } }],
      vms: [{
        name: 'v', cpus: 0, ifaces: [{ id: 1, net: 'n', mac: 'zz', ipv4: [{ address: '10.0.0.1', prefix: 33 }], ipv6: [], extra: { attrs: {}, children: [] } }],
        routes: [], execs: [], filetrees: [], extra: { attrs: {}, children: [] },
      }],
      cmdSeqs: new Map(),
      source: { format: 'ovf', path: 'x.ovf', version: '1.0' },
      extra: { attrs: {}, children: [] },
    };
    const msgs = checkScenario(s).map((p) => `${p.loc.file}: ${p.message}`);
    expect(msgs).to.deep.equal([
      'x.ovf: vm v: vcpu must be a positive whole number',
      'x.ovf: vm v: MAC address "zz" is not of the form 02:fd:00:00:01:01',
      'x.ovf: vm v: 10.0.0.1/33: prefix length must be 0-32',
    ]);
  });

  it('keeps MACs in the one form ip reads: "-" and upper case normalized, multicast refused', () => {
    const s = parseScenarioText(vnx('<net name="n" mode="virtual_bridge"/><vm type="lxc" name="a"><if id="1" net="n"><mac>02-AB-cd-00-00-01</mac></if></vm>'), 't');
    expect(s.vms[0]!.ifaces[0]!.mac).to.equal('02:ab:cd:00:00:01');
    expect(writeScenario(s)).to.include('<mac>02:ab:cd:00:00:01</mac>');
    const [p] = problemsOf(() => parseScenarioText(vnx('<net name="n" mode="virtual_bridge"/><vm type="lxc" name="a"><if id="1" net="n">\n<mac>03:00:00:00:00:01</mac></if></vm>'), 't'));
    expect(p).to.deep.include({ line: 4, column: 1 });
    expect(p!.message).to.match(/multicast/);
  });

  it('refuses interface names Linux does not take, and accepts router port names (warned apart)', () => {
    const ok = parseScenarioText(vnx('<net name="n" mode="virtual_bridge"/><vm type="dynamips" name="r"><if id="1" net="n" name="s1/0"/><if id="2" net="n" name="fa0/1"/></vm>'), 't');
    expect(ok.vms[0]!.ifaces.map((i) => i.name)).to.deep.equal(['s1/0', 'fa0/1']);
    for (const name of ['a/b', 'e0/0/0/0/0', 'a:b', '-x', 'x y', 'é']) {
      const ps = problemsOf(() => parseScenarioText(vnx(`<net name="n" mode="virtual_bridge"/><vm type="lxc" name="a"><if id="1" net="n" name="${name}"/></vm>`), 't'));
      expect(ps.map((x) => x.message).join(), name).to.match(/is not a Linux interface name/);
    }
    // An interface on lo or vm_mgmt is not made under its name: a shared name is no clash.
    parseScenarioText(vnx('<net name="n" mode="virtual_bridge"/><vm type="lxc" name="a"><if id="1" net="lo" name="x"/><if id="2" net="n" name="x"/></vm>'), 't');
  });

  it('routes: a network address, a decimal prefix, no zone id; the gateway no zone id', () => {
    const route = (dest: string, gw = '10.0.0.1', type = 'ipv4') =>
      problemsOf(() => parseScenarioText(vnx(`<net name="n" mode="virtual_bridge"/><vm type="lxc" name="a"><if id="1" net="n"/><route type="${type}" gw="${gw}">${dest}</route></vm>`), 't'))
        .map((p) => p.message)
        .join('\n');
    expect(route('10.1.2.3/24')).to.match(/is not a network address: write 10\.1\.2\.0\/24/);
    expect(route('10.1.0.0/016')).to.match(/no leading zeros/);
    expect(route('2001:db8::1/64', '2001:db8::ff', 'ipv6')).to.match(/write 2001:db8::\/64/);
    expect(route('2001:db8::/64', 'fe80::1%eth0', 'ipv6')).to.match(/route gateway "fe80::1%eth0" has a zone id/);
    expect(() => parseScenarioText(vnx('<net name="n" mode="virtual_bridge"/><vm type="lxc" name="a"><if id="1" net="n"/><route type="ipv6" gw="2001:db8::1">2001:db8:0:1::/64</route><route type="ipv4" gw="10.0.0.1">0.0.0.0/0</route></vm>'), 't')).to.not.throw();
  });

  it('deploy checks run for a user\'s file, not when a host agent re-reads the fragment it applied', () => {
    const text = vnx('<net name="n" mode="virtual_bridge" bw="fast"/><vm type="lxc" name="a"><if id="1" net="n"/><exec seq="my seq" type="verbatim">x</exec></vm>');
    expect(parseScenarioText(text, 'fragment of lab').vms).to.have.length(1);
    const ps = problemsOf(() => parseScenarioText(text, 't', { deployable: true })).map((p) => p.message);
    expect(ps).to.have.length(2);
    expect(ps[0]).to.match(/net n: bw "fast" is not a rate/);
    expect(ps[1]).to.match(/sequence name "my seq" is not allowed/);
  });

  it('refuses a document that is not a scenario', () => {
    const [p] = problemsOf(() => parseScenarioText('<?xml version="1.0"?>\n<deployment_restrictions/>', 'r.xml'));
    expect(p).to.deep.include({ line: 2, column: 1 });
    expect(p.message).to.match(/not a scenario/);
  });

  it('parses a 10 000-VM scenario quickly', () => {
    const parts = ['<net name="core" mode="virtual_bridge"/>'];
    for (let i = 0; i < 10000; i++) {
      parts.push(
        `<vm name="vm${i}" type="lxc"><filesystem type="cow">/fs</filesystem><mem>256M</mem>` +
          `<if id="1" net="core"><ipv4>10.${i >> 8}.${i & 255}.1/16</ipv4></if>` +
          `<route type="ipv4" gw="10.0.0.254">default</route><exec seq="start" type="verbatim">echo ${i}</exec></vm>`,
      );
    }
    const text = vnx(parts.join('\n'));
    const t0 = performance.now();
    const s = parseScenarioText(text, 'big.xml');
    const ms = performance.now() - t0;
    expect(s.vms).to.have.length(10000);
    expect(s.vms[9999].loc!.line).to.equal(10003);
    expect(ms).to.be.below(3000); // a generous bound; bench figures are well under a second
  });
});
