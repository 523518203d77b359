import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseScenarioFile, parseScenarioText, writeScenario } from '../../../src/scenario/index.ts';
import type { Scenario } from '../../../src/scenario/model.ts';
import { MAX_INSTANCES, parseOvfText } from '../../../src/scenario/ovf.ts';
import { expectInputError } from '../controller/expect-input-error.ts';
import { describeWithThirdParty, requireThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

// Real envelopes, read in place from ../shared/third-party/ovf and ovf-more (those suites are skipped, saying so, without them).
const ovfDir = thirdPartyPath('ovf');
const moreDir = thirdPartyPath('ovf-more');
const parseIn = (dir: string, f: string) => parseOvfText(readFileSync(path.join(dir, f), 'utf8'), path.join(dir, f));
const parseFile = (f: string) => parseIn(ovfDir, f);

/** The parts of a scenario the OVF mapping decides, for compact assertions. */
function summary(s: Scenario) {
  return {
    name: s.name,
    version: s.source.version,
    nets: s.nets.map((n) => `${n.name}:${n.mode}`),
    vms: s.vms.map((v) => ({
      name: v.name,
      cpus: v.cpus,
      memMB: v.memMB,
      ifaces: v.ifaces.map((i) => (i.mac ? `${i.id}:${i.net}:${i.mac}` : `${i.id}:${i.net}`)),
    })),
  };
}

const NS1 = 'xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"';
const item = (type: number, body: string, attrs = '') => `<Item${attrs}><rasd:ResourceType>${type}</rasd:ResourceType>${body}</Item>`;
const envelope = (inner: string, head = '') => `<?xml version="1.0"?>\n<Envelope ${NS1}>\n${head}${inner}\n</Envelope>\n`;
const system = (id: string, items: string) => `<VirtualSystem ovf:id="${id}"><Info>x</Info><VirtualHardwareSection><Info>hw</Info>${items}</VirtualHardwareSection></VirtualSystem>`;

describe('OVF envelopes', () => {
  describeWithThirdParty('the third-party envelopes', () => {
    it('cot_ubuntu.2.0.ovf: a VirtualBox 2.0 export (MegaBytes, EthernetPortItem, StorageItem, /disk/ without ovf:)', () => {
      const s = parseFile('cot_ubuntu.2.0.ovf');
      expect(summary(s)).to.deep.equal({
        name: 'ubuntu',
        version: '2.x',
        nets: ['NAT:virtual_bridge'],
        vms: [{ name: 'ubuntu', cpus: 1, memMB: 512, ifaces: ['1:NAT'] }],
      });
      expect(s.source.format).to.equal('ovf');
      expect(s.vms[0]!.extra.children).to.deep.equal([
        { node: { tag: 'filesystem', attrs: { type: 'cow' }, children: [{ text: 'ubuntu.2.0-disk1.vmdk' }] } },
      ]);
      expect(s.vms[0]!.loc).to.deep.equal({ file: path.join(ovfDir, 'cot_ubuntu.2.0.ovf'), line: 16, column: 3 });
      expect(s.vms[0]!.ifaces[0]!.loc?.line).to.equal(104);
    });

    it('govmomi_vCD_vApp_OVF.ovf: a 1.x collection of 2 VMs, one with two NICs (byte * 2^20)', () => {
      const s = parseFile('govmomi_vCD_vApp_OVF.ovf');
      expect(summary(s)).to.deep.equal({
        name: 'vCD_vApp',
        version: '1.x',
        nets: ['test:virtual_bridge', 'vc1-direct:virtual_bridge'],
        vms: [
          { name: 's-xp', cpus: 2, memMB: 512, ifaces: ['1:vc1-direct', '2:test'] },
          { name: 'vCD_scratch_vm', cpus: 1, memMB: 64, ifaces: ['1:vc1-direct'] },
        ],
      });
      expect(s.vms.map((v) => (v.extra.children[0]!.node.children[0] as { text: string }).text)).to.deep.equal([
        'vm-2066209010-disk-0.vmdk',
        'vm-2130172404-disk-0.vmdk',
      ]);
    });

    it('the DSP0243 2.1.1 example 3: a 2.x collection (byte*2^30, broken epasd URI, names with spaces)', () => {
      const s = parseFile('govmomi_virtualsystemcollection_dsp0243_2.1.1_example3.ovf');
      expect(summary(s)).to.deep.equal({
        name: 'vsc1',
        version: '2.x',
        nets: ['VS_Network:virtual_bridge'],
        vms: [
          { name: 'storage_server', cpus: 1, memMB: 1024, ifaces: ['1:VS_Network:00:16:8b:db:00:5e'] },
          { name: 'web-server', cpus: 1, memMB: 1024, ifaces: ['1:VS_Network:00:16:8b:db:00:5f'] },
        ],
      });
    });
  }, 'ovf');

  it('takes the default deployment configuration (repeated InstanceIDs, bounds)', () => {
    const text = envelope(
      system(
        'db',
        item(3, '<rasd:InstanceID>1</rasd:InstanceID><rasd:VirtualQuantity>1</rasd:VirtualQuantity>', ' ovf:configuration="small"') +
          item(3, '<rasd:InstanceID>1</rasd:InstanceID><rasd:VirtualQuantity>4</rasd:VirtualQuantity>', ' ovf:configuration="medium large"') +
          item(4, '<rasd:InstanceID>2</rasd:InstanceID><rasd:VirtualQuantity>512</rasd:VirtualQuantity>') +
          item(4, '<rasd:InstanceID>2</rasd:InstanceID><rasd:VirtualQuantity>2</rasd:VirtualQuantity><rasd:AllocationUnits>GigaBytes</rasd:AllocationUnits>', ' ovf:configuration="large"') +
          item(4, '<rasd:InstanceID>2</rasd:InstanceID><rasd:VirtualQuantity>9</rasd:VirtualQuantity><rasd:AllocationUnits>GB</rasd:AllocationUnits>', ' ovf:bound="max"') +
          item(10, '<rasd:InstanceID>3</rasd:InstanceID><rasd:Connection>lan</rasd:Connection>') +
          item(10, '<rasd:InstanceID>4</rasd:InstanceID><rasd:Connection>wan</rasd:Connection>', ' ovf:configuration="small"'),
      ),
      '<NetworkSection><Info>n</Info><Network ovf:name="lan"/><Network ovf:name="wan"/></NetworkSection>' +
        '<DeploymentOptionSection><Info>d</Info><Configuration ovf:id="small"/><Configuration ovf:id="large" ovf:default="true"/><Configuration ovf:id="medium"/></DeploymentOptionSection>',
    );
    const s = parseOvfText(text, 'conf.ovf');
    expect(summary(s).vms).to.deep.equal([{ name: 'db', cpus: 4, memMB: 2048, ifaces: ['1:lan'] }]);
    // Without a default flag the first configuration is the default.
    const s2 = parseOvfText(text.replace(' ovf:default="true"', ''), 'conf.ovf');
    expect(summary(s2).vms).to.deep.equal([{ name: 'db', cpus: 1, memMB: 512, ifaces: ['1:lan', '2:wan'] }]);
  });

  it('recurses nested collections and maps names to safe, unique names', () => {
    const text = envelope(
      `<VirtualSystemCollection ovf:id="outer app"><Info>c</Info>
        ${system('web 1', item(10, '<rasd:Connection>Front End</rasd:Connection>'))}
        <VirtualSystemCollection ovf:id="inner"><Info>c</Info>
          ${system('web_1', item(10, '<rasd:Connection>Front End</rasd:Connection>') + item(10, '<rasd:Connection>back/end</rasd:Connection>'))}
          ${system('WEB_1', '')}
          <VirtualSystem><Info>no id</Info><Name>*</Name></VirtualSystem>
        </VirtualSystemCollection>
      </VirtualSystemCollection>`,
      '<NetworkSection><Info>n</Info><Network ovf:name="Front End"/></NetworkSection>',
    );
    const s = parseOvfText(text, 'n.ovf');
    expect(summary(s)).to.deep.equal({
      name: 'outer_app',
      version: '1.x',
      // "back/end" is not declared in NetworkSection: the NIC still gets its net.
      nets: ['Front_End:virtual_bridge', 'back_end:virtual_bridge'],
      vms: [
        { name: 'web_1', cpus: undefined, memMB: undefined, ifaces: ['1:Front_End'] },
        { name: 'web_1-2', cpus: undefined, memMB: undefined, ifaces: ['1:Front_End', '2:back_end'] },
        { name: 'WEB_1-3', cpus: undefined, memMB: undefined, ifaces: [] },
        { name: 'vm4', cpus: undefined, memMB: undefined, ifaces: [] },
      ],
    });
  });

  it('accepts memory units as real files spell them, prefixed or not', () => {
    const mem = (units: string | undefined, q: number) =>
      parseOvfText(
        envelope(system('m', item(4, `<rasd:VirtualQuantity>${q}</rasd:VirtualQuantity>${units === undefined ? '' : `<rasd:AllocationUnits>${units}</rasd:AllocationUnits>`}`))),
        'm.ovf',
      ).vms[0]!.memMB;
    expect(mem('byte * 2^20', 256)).to.equal(256);
    expect(mem('byte*2^30', 2)).to.equal(2048);
    expect(mem('MegaBytes', 128)).to.equal(128);
    expect(mem('MB', 128)).to.equal(128);
    expect(mem('GigaBytes', 1)).to.equal(1024);
    expect(mem('  byte  *  2^10 ', 4096)).to.equal(4);
    expect(mem('byte', 1)).to.equal(1);
    expect(mem(undefined, 300)).to.equal(300);
    // A 0.9-era envelope with un-prefixed rasd children.
    const legacy = '<Envelope xmlns="http://www.vmware.com/schema/ovf/1/envelope"><VirtualSystem id="old"><VirtualHardwareSection><Item><ResourceType>4</ResourceType><VirtualQuantity>96</VirtualQuantity></Item></VirtualHardwareSection></VirtualSystem></Envelope>';
    const s = parseOvfText(legacy, 'l.ovf');
    expect([s.source.version, s.vms[0]!.name, s.vms[0]!.memMB]).to.deep.equal(['0.9', 'old', 96]);
  });

  describe('bad input: file, line, column and what is wrong (InputError, exit 2)', () => {
    it('an envelope with no VirtualSystem', () => {
      expectInputError(() => parseOvfText(envelope('<NetworkSection><Info>n</Info><Network ovf:name="a"/></NetworkSection>'), 'empty.ovf'), {
        file: 'empty.ovf',
        line: 2,
        column: 1,
        message: /this OVF envelope has no VirtualSystem/,
      });
    });

    it('memory in units that are not bytes, a quantity that is not a number', () => {
      expectInputError(
        () => parseOvfText(envelope(system('m', item(4, '<rasd:VirtualQuantity>1</rasd:VirtualQuantity>\n<rasd:AllocationUnits>Hertz*10^9</rasd:AllocationUnits>'))), 'u.ovf'),
        { line: 4, column: 1, message: /memory AllocationUnits "Hertz\*10\^9" is not a byte unit/ },
      );
      expectInputError(
        () => parseOvfText(envelope(system('m', item(3, '\n<rasd:VirtualQuantity>two</rasd:VirtualQuantity>'))), 'q.ovf'),
        { line: 4, column: 1, message: /VirtualQuantity must be a whole number >= 1, found "two"/ },
      );
    });

    it('not an Envelope, not XML, a network without a name', () => {
      expectInputError(() => parseOvfText('<vnx/>', 'x.ovf'), { line: 1, message: /the root element is <vnx>: an OVF descriptor is an <Envelope>/ });
      expectInputError(() => parseOvfText('<Envelope><VirtualSystem>', 'x.ovf'), { file: 'x.ovf', message: /./ });
      expectInputError(() => parseOvfText(envelope(system('a', ''), '<NetworkSection><Info>n</Info>\n<Network/></NetworkSection>'), 'x.ovf'), {
        line: 4,
        message: /<Network> needs an ovf:name/,
      });
    });
  });

  describe('OVF 0.9 envelopes (<Content xsi:type>, <Section xsi:type>, InstanceId)', () => {
    const NS09 =
      'xmlns="http://www.vmware.com/schema/ovf/1/envelope" xmlns:ovf="http://www.vmware.com/schema/ovf/1/envelope" ' +
      'xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
    const item09 = (id: number, type: number, body: string) =>
      `<Item><rasd:InstanceId>${id}</rasd:InstanceId><rasd:ResourceType>${type}</rasd:ResourceType>${body}</Item>`;

    it('a single VirtualSystem_Type Content, as VirtualBox writes it: NICs, networks, memory, disk', () => {
      const text = `<?xml version="1.0"?>
<Envelope ovf:version="0.9" ${NS09}>
  <References><File ovf:href="root.vmdk" ovf:id="f1"/></References>
  <Section xsi:type="ovf:DiskSection_Type"><Info>d</Info><Disk ovf:diskId="d1" ovf:fileRef="f1"/></Section>
  <Section xsi:type="ovf:NetworkSection_Type"><Info>n</Info><Network ovf:name="Bridged"/><Network ovf:name="Host Only"/></Section>
  <Content xsi:type="ovf:VirtualSystem_Type" ovf:id="vbox 10">
    <Info>A virtual machine</Info>
    <Section xsi:type="ovf:OperatingSystemSection_Type" ovf:id="67"><Info>os</Info></Section>
    <Section xsi:type="ovf:VirtualHardwareSection_Type"><Info>hw</Info>
      ${item09(1, 3, '<rasd:VirtualQuantity>2</rasd:VirtualQuantity>')}
      ${item09(2, 4, '<rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits><rasd:VirtualQuantity>192</rasd:VirtualQuantity>')}
      ${item09(3, 10, '<rasd:Connection>Host Only</rasd:Connection>')}
      ${item09(4, 10, '<rasd:Connection>Bridged</rasd:Connection>')}
      ${item09(5, 17, '<rasd:HostResource>/disk/d1</rasd:HostResource>')}
    </Section>
  </Content>
</Envelope>`;
      const s = parseOvfText(text, 'vbox.ovf');
      expect(summary(s)).to.deep.equal({
        name: 'vbox_10',
        version: '0.9',
        nets: ['Bridged:virtual_bridge', 'Host_Only:virtual_bridge'],
        vms: [{ name: 'vbox_10', cpus: 2, memMB: 192, ifaces: ['1:Host_Only', '2:Bridged'] }],
      });
      expect(s.vms[0]!.loc).to.deep.equal({ file: 'vbox.ovf', line: 6, column: 3 });
      expect(s.vms[0]!.extra.children[0]!.node).to.deep.equal({ tag: 'filesystem', attrs: { type: 'cow' }, children: [{ text: 'root.vmdk' }] });
    });

    it('a VirtualSystemCollection_Type Content with a StartupSection_Type; ovf:version="0.9" under the DMTF namespace', () => {
      const text = `<ovf:Envelope xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" ovf:version="0.9" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <ovf:Content xsi:type="ovf:VirtualSystemCollection_Type" ovf:id="pair">
    <ovf:Section xsi:type="ovf:StartupSection_Type"><ovf:Info>s</ovf:Info><ovf:Item ovf:id="a" ovf:order="1"/></ovf:Section>
    <ovf:Content xsi:type="ovf:VirtualSystem_Type" ovf:id="a"><ovf:Info>a</ovf:Info></ovf:Content>
    <ovf:Content xsi:type="ovf:VirtualSystemCollection_Type" ovf:id="inner">
      <ovf:Content xsi:type="ovf:VirtualSystem_Type" ovf:id="b"><ovf:Info>b</ovf:Info></ovf:Content>
    </ovf:Content>
  </ovf:Content>
</ovf:Envelope>`;
      const s = parseOvfText(text, 'pair.ovf');
      expect([s.name, s.source.version, s.vms.map((v) => v.name)]).to.deep.equal(['pair', '0.9', ['a', 'b']]);
      expect(s.unapplied).to.deep.equal([{ feature: 'order', what: 'StartupSection (1 items)', loc: { file: 'pair.ovf', line: 3, column: 5 } }]);
    });

    it('a <Content> whose xsi:type names no virtual system is still "no VirtualSystem", with the 0.9 form named', () => {
      const text = `<Envelope ${NS09}>\n<Content ovf:id="x"><Info>untyped</Info></Content>\n</Envelope>`;
      expectInputError(() => parseOvfText(text, 'c.ovf'), {
        file: 'c.ovf',
        line: 1,
        column: 1,
        message: /has no VirtualSystem \(nor, as in OVF 0\.9, a <Content xsi:type="ovf:VirtualSystem_Type">\)/,
      });
    });
  });

  describe('hardware items sharing an InstanceID', () => {
    const nic = (id: number, net: string, attrs = '') => item(10, `<rasd:InstanceID>${id}</rasd:InstanceID><rasd:Connection>${net}</rasd:Connection>`, attrs);
    const ifacesOf = (items: string, head = '') => summary(parseOvfText(envelope(system('r', items), head), 'twins.ovf')).vms[0]!.ifaces;
    const options = (def: string) =>
      `<DeploymentOptionSection><Info>d</Info><Configuration ovf:id="small"/><Configuration ovf:id="${def}" ovf:default="true"/></DeploymentOptionSection>`;

    it('two NICs with one InstanceID and no ovf:configuration are two interfaces, ids in document order', () => {
      expect(ifacesOf(nic(3, 'lan') + nic(3, 'wan') + nic(4, 'dmz'))).to.deep.equal(['1:lan', '2:wan', '3:dmz']);
    });

    it('NICs with one InstanceID and the same ovf:configuration are kept too', () => {
      expect(ifacesOf(nic(3, 'lan', ' ovf:configuration="big"') + nic(3, 'wan', ' ovf:configuration="big"'), options('big'))).to.deep.equal(['1:lan', '2:wan']);
    });

    it('a variant for the default configuration replaces the generic items of its InstanceID, at their place', () => {
      expect(ifacesOf(nic(3, 'lan') + nic(3, 'wan') + nic(4, 'dmz') + nic(3, 'big-lan', ' ovf:configuration="big"'), options('big'))).to.deep.equal([
        '1:big-lan',
        '2:dmz',
      ]);
    });

    it('without a DeploymentOptionSection, the generic item wins over a variant', () => {
      expect(ifacesOf(nic(3, 'big-lan', ' ovf:configuration="big"') + nic(3, 'lan'))).to.deep.equal(['1:lan']);
    });
  });

  describe('ScaleOutSection: the default number of instances', () => {
    const NS2 = 'xmlns:ovf2="http://schemas.dmtf.org/ovf/envelope/2"';
    const scaled = (count: string, id = 'web') =>
      `<ovf2:ScaleOutSection ovf2:id="${id}"><Info>s</Info>\n<ovf2:InstanceCount ovf2:minimum="1" ${count} ovf2:maximum="4"/></ovf2:ScaleOutSection>`;
    const farm = (sections: string, systems = '') =>
      envelope(
        `<VirtualSystemCollection ovf:id="farm" ${NS2}><Info>c</Info>\n${sections}\n` +
          system('web', item(3, '<rasd:VirtualQuantity>2</rasd:VirtualQuantity>') + item(10, '<rasd:Connection>lan</rasd:Connection><rasd:Address>00:16:8B:DB:00:5E</rasd:Address>')) +
          system('db', item(10, '<rasd:Connection>lan</rasd:Connection><rasd:Address>00:16:8B:DB:00:5F</rasd:Address>')) +
          `${systems}</VirtualSystemCollection>`,
      );

    it('deploys <name>-1 … <name>-N, same hardware and nets, without the one MAC of the file', () => {
      const s = parseOvfText(farm(scaled('ovf2:default="3"')), 'farm.ovf');
      expect(summary(s).vms).to.deep.equal([
        { name: 'web-1', cpus: 2, memMB: undefined, ifaces: ['1:lan'] },
        { name: 'web-2', cpus: 2, memMB: undefined, ifaces: ['1:lan'] },
        { name: 'web-3', cpus: 2, memMB: undefined, ifaces: ['1:lan'] },
        { name: 'db', cpus: undefined, memMB: undefined, ifaces: ['1:lan:00:16:8b:db:00:5f'] },
      ]);
      expect(s.vms.map((v) => v.loc?.line)).to.deep.equal([6, 6, 6, 6]);
      expect(s.unapplied).to.equal(undefined);
    });

    it('one instance (default 1, or no default) keeps the plain name and the MAC', () => {
      for (const count of ['ovf2:default="1"', '']) {
        const vms = summary(parseOvfText(farm(scaled(count)), 'farm.ovf')).vms;
        expect(vms.map((v) => v.name), count).to.deep.equal(['web', 'db']);
        expect(vms[0]!.ifaces).to.deep.equal(['1:lan:00:16:8b:db:00:5e']);
      }
    });

    it('instance names are unique against the other VMs', () => {
      const s = parseOvfText(farm(scaled('ovf2:default="2"'), system('web-2', '') + system('web', '')), 'farm.ovf');
      expect(s.vms.map((v) => v.name)).to.deep.equal(['web-1', 'web-2', 'db', 'web-2-2', 'web-3']);
    });

    it('refuses a bad count, a section naming no VirtualSystem, a second section for one system', () => {
      for (const bad of ['0', 'two', String(MAX_INSTANCES + 1)]) {
        expectInputError(() => parseOvfText(farm(scaled(`ovf2:default="${bad}"`)), 'farm.ovf'), {
          file: 'farm.ovf',
          line: 5,
          column: 1,
          message: new RegExp(`InstanceCount ovf:default must be a whole number from 1 to ${MAX_INSTANCES}, found "${bad}"`),
        });
      }
      expectInputError(() => parseOvfText(farm(scaled('ovf2:default="2"', 'web server')), 'farm.ovf'), {
        line: 4,
        column: 1,
        message: /ScaleOutSection ovf:id="web server" names no VirtualSystem of this collection/,
      });
      expectInputError(() => parseOvfText(farm(`${scaled('')}\n${scaled('')}`), 'farm.ovf'), {
        line: 6,
        message: /a second ScaleOutSection for "web" \(the first is at line 4\)/,
      });
    });
  });

  describe('VNX fragments of OVF scenarios', () => {
    it('every OVF VM is a VNX libvirt/kvm VM, so the written <vm> has the type VNX 2.0 requires', () => {
      const s = parseScenarioText(envelope(system('a', item(10, '<rasd:Connection>lan</rasd:Connection>')) + system('b', '')), 'types.ovf');
      expect(s.vms.map((v) => [v.type, v.subtype, v.os])).to.deep.equal([
        ['libvirt', 'kvm', 'linux'],
        ['libvirt', 'kvm', 'linux'],
      ]);
      const xml = writeScenario(s);
      expect(xml.match(/<vm [^>]*>/g)).to.deep.equal(['<vm name="a" type="libvirt" subtype="kvm" os="linux">', '<vm name="b" type="libvirt" subtype="kvm" os="linux"/>']);
      const back = parseScenarioText(xml, 'fragment.xml');
      expect([back.source.format, back.vms.map((v) => `${v.name}:${v.type}/${v.subtype}`)]).to.deep.equal(['vnx', ['a:libvirt/kvm', 'b:libvirt/kvm']]);
    });
  });

  describeWithThirdParty('the second corpus (../shared/third-party/ovf-more)', () => {
    const more = (f: string) => parseIn(moreDir, f);

    it('govmomi-vbox10_0.9.ovf: OVF 0.9 by VirtualBox, 4 NICs on 4 networks', () => {
      expect(summary(more('govmomi-vbox10_0.9.ovf'))).to.deep.equal({
        name: 'vbox10',
        version: '0.9',
        nets: ['Bridged:virtual_bridge', 'HostOnly:virtual_bridge', 'Internal:virtual_bridge', 'NAT:virtual_bridge'],
        vms: [{ name: 'vbox10', cpus: 1, memMB: 192, ifaces: ['1:NAT', '2:Bridged', '3:Internal', '4:HostOnly'] }],
      });
    });

    it('govmomi-VMwareStudio-VM_OVF09.ovf: OVF 0.9 by VMware Studio (ovf:-prefixed root), 1 NIC, the first disk', () => {
      const s = more('govmomi-VMwareStudio-VM_OVF09.ovf');
      expect(summary(s)).to.deep.equal({
        name: 'ubuntu-name',
        version: '0.9',
        nets: ['Network_1:virtual_bridge'],
        vms: [{ name: 'ubuntu-name', cpus: 1, memMB: 256, ifaces: ['1:Network_1'] }],
      });
      expect(s.vms[0]!.extra.children[0]!.node.children).to.deep.equal([{ text: 'system.vmdk' }]);
    });

    it('govmomi-scaleout.ovf: the ScaleOutSection default of 2 gives vs1-1 and vs1-2', () => {
      const s = more('govmomi-scaleout.ovf');
      expect([s.name, s.vms.map((v) => v.name), s.vms.map((v) => v.loc?.line), s.unapplied]).to.deep.equal(['vsc', ['vs1-1', 'vs1-2'], [20, 20], undefined]);
    });

    it('every envelope of both folders is a valid scenario whose VNX fragment is valid and has the same VMs', async function () {
      requireThirdParty(this, 'ovf');
      const files = [ovfDir, moreDir].flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.ovf')).map((f) => path.join(d, f)));
      expect(files).to.have.length(13);
      for (const file of files) {
        const s = await parseScenarioFile(file);
        const back = parseScenarioText(writeScenario(s), `${file}.vnx.xml`);
        const vms = (x: Scenario) => x.vms.map((v) => `${v.name}:${v.type}/${v.subtype}:${v.ifaces.map((i) => i.net).join(',')}`);
        expect(vms(back), file).to.deep.equal(vms(s));
        expect(s.vms.length, file).to.be.greaterThan(0);
      }
    });
  }, 'ovf-more');
});

describe('OVF lookups by name', () => {
  it('an Envelope namespace named like a prototype member is just an unknown one', () => {
    const s = parseOvfText(
      '<Envelope xmlns="toString" xmlns:ovf="constructor"><VirtualSystem ovf:id="v"><Info>x</Info></VirtualSystem></Envelope>',
      'p.ovf',
    );
    expect(s.source.version).to.equal('1.x');
  });

  it('refuses a NIC MAC that is not a unicast one, at its element; reads the form without separators', () => {
    const nic = (mac: string) =>
      envelope(
        '<NetworkSection><Info>n</Info><Network ovf:name="lan"/></NetworkSection>' +
          system('v', item(10, `<rasd:Connection>lan</rasd:Connection>\n<rasd:Address>${mac}</rasd:Address>`)),
      );
    expect(parseOvfText(nic('00505600AABB'), 'm.ovf').vms[0]!.ifaces[0]!.mac).to.equal('00:50:56:00:aa:bb');
    expectInputError(() => parseOvfText(nic('01:00:5e:00:00:01'), 'm.ovf'), { file: 'm.ovf', line: 4, column: 1, message: /multicast/ });
  });
});
