import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Scenario } from '../../../src/scenario/model.ts';
import { parseOvfText } from '../../../src/scenario/ovf.ts';
import { expectInputError } from '../controller/expect-input-error.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ovfDir = path.resolve(repoRoot, '../shared/third-party/ovf');
const parseFile = (f: string) => parseOvfText(readFileSync(path.join(ovfDir, f), 'utf8'), path.join(ovfDir, f));

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
  describe('the third-party envelopes', () => {
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
  });

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
});
