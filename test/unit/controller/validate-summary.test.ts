// The summary `ediv validate` prints: built from the parsed scenario (and cluster, restrictions).
import { expect } from 'chai';
import { parseScenarioText } from '../../../src/scenario/index.ts';
import { summarize } from '../../../src/controller/validate-summary.ts';
import { renderSummary } from '../../../src/cli/render/validate.ts';

const XML = `<vnx><global><version>2.0</version><scenario_name>lab</scenario_name><cmd-seq seq="all">start,stop</cmd-seq></global>
  <net name="Net0" mode="virtual_bridge"/>
  <vm name="a" type="lxc"><if id="1" net="Net0"><ipv4>10.0.0.1/24</ipv4></if><exec seq="start" type="verbatim">true</exec></vm>
  <vm name="b" type="libvirt" subtype="kvm"><if id="1" net="Net0"/><exec seq="start" type="verbatim">true</exec><exec seq="stop" type="verbatim">true</exec></vm>
</vnx>`;

describe('validate summary', () => {
  const s = summarize('lab.xml', parseScenarioText(XML, 'lab.xml'));

  it('lists VMs with interfaces and sequences, nets with their VMs, exec sequences and cmd-seqs', () => {
    expect(s).to.include({ ok: true, file: 'lab.xml', dialect: 'vnx', version: '2.0', scenario: 'lab', host: null });
    expect(s.vms.map((v) => [v.name, v.type, v.sequences])).to.deep.equal([['a', 'lxc', ['start']], ['b', 'libvirt', ['start', 'stop']]]);
    expect(s.vms[0]!.ifaces).to.deep.equal([{ id: 1, net: 'Net0', ipv4: ['10.0.0.1/24'], ipv6: [] }]);
    expect(s.nets).to.deep.equal([{ name: 'Net0', mode: 'virtual_bridge', external: undefined, vlan: undefined, vms: ['a', 'b'] }]);
    expect(s.sequences).to.deep.equal([
      { name: 'start', kind: 'exec', vms: ['a', 'b'], host: false },
      { name: 'stop', kind: 'exec', vms: ['b'], host: false },
      { name: 'all', kind: 'cmd-seq', vms: [], host: false, steps: ['start', 'stop'] },
    ]);
    expect(s.cluster).to.equal(undefined);
    expect(s.restrictions).to.equal(undefined);
  });

  it('renders as text in the CLI', () => {
    const text = renderSummary(s);
    expect(text).to.include('lab.xml: valid VNX 2.0 scenario "lab"');
    expect(text).to.match(/exec sequences \(2\):\n {4}start: a, b\n {4}stop: b/);
    expect(text).to.match(/cmd-seqs \(1\):\n {4}all = start, stop/);
    expect(text).to.include('host section: none');
  });
});
