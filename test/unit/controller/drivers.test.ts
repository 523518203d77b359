// Which driver runs a VM: the type table, the cluster file's driver settings over it, one driver
// per host's fragment (a host needing two is bad input), the notices about VM types, and the
// plan's drivers and warnings.
import { expect } from 'chai';
import {
  VM_TYPE_TABLE,
  autoDriver,
  candidateDrivers,
  fragmentDrivers,
  hostDrivers,
  recordedDriver,
  scenarioWarnings,
  vmDriver,
  vmTypeNotices,
} from '../../../src/controller/drivers.ts';
import { parseClusterText } from '../../../src/controller/cluster.ts';
import { hostRequirements, unmet } from '../../../src/controller/host-requirements.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import type { FactsResult } from '../../../src/protocol/agent.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';
import type { Scenario } from '../../../src/scenario/model.ts';
import { expectInputErrorAsync } from './expect-input-error.ts';

const LAB = `<vnx><global><version>2.0</version><scenario_name>lab</scenario_name></global>
<net name="n" mode="virtual_bridge"/>
<vm name="c1" type="lxc"><if id="1" net="n"/></vm>
<vm name="k1" type="libvirt" subtype="kvm" os="linux"><if id="1" net="n"/></vm>
<vm name="u1" type="uml"><if id="1" net="n"/></vm>
<vm name="d1" type="dynamips" subtype="3600"><if id="1" net="n"/></vm>
<vm name="x1" type="qemu"><if id="1" net="n"/></vm>
</vnx>`;
const lab = (): Scenario => parseScenarioText(LAB, 'lab.xml');
const vm = (s: Scenario, name: string) => s.vms.find((v) => v.name === name)!;
const cluster = (yaml: string) => parseClusterText(yaml, 'cluster.yaml');
const HOSTS = 'hosts:\n  - {name: h1, trunk: eth0}\n  - {name: h2, trunk: eth0}\n';
/** What `auto` gives a type without a `drivers:` entry. */
const AUTO = 'container';
/** A map that puts lxc and every other type of LAB on different drivers. */
const MIXED = 'drivers: {lxc: container, libvirt: netns, uml: netns, dynamips: netns, qemu: netns}\n';

describe('drivers: which driver runs a VM', () => {
  it('the table maps every type to container (lxc natively)', () => {
    const s = lab();
    expect(s.vms.map((v) => autoDriver(v, s))).to.deep.equal(['container', 'container', 'container', 'container', 'container']);
    expect(VM_TYPE_TABLE.map((r) => r.type)).to.deep.equal(['lxc', 'libvirt', 'uml', 'ovf', 'dynamips', '*']);
    expect(VM_TYPE_TABLE.filter((r) => r.native).map((r) => r.type)).to.deep.equal(['lxc']);
  });

  it('OVF virtual systems are "ovf", VNUML VMs without a type are uml', () => {
    const ovf = parseScenarioText(
      '<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><VirtualSystem ovf:id="v"/></Envelope>',
      'x.ovf',
    );
    expect(autoDriver(ovf.vms[0]!, ovf, { ovf: 'qemu' })).to.equal('qemu');
    const vnuml = parseScenarioText('<vnuml><global><version>1.8</version><simulation_name>s</simulation_name></global><vm name="a"/></vnuml>', 'x.xml');
    expect(autoDriver(vnuml.vms[0]!, vnuml, { uml: 'umlish' })).to.equal('umlish');
  });

  it('the cluster file: drivers map (type/subtype before type), top-level driver, per-host driver over it', () => {
    const s = lab();
    const c = cluster(`drivers: {libvirt: qemu, libvirt/kvm: kvmish, lxc: container}\n${HOSTS}`);
    expect(c.driver).to.equal('auto');
    expect(c.hosts.map((h) => h.driver)).to.deep.equal(['auto', 'auto']);
    expect(['c1', 'k1', 'u1'].map((n) => vmDriver(vm(s, n), s, c, c.hosts[0]))).to.deep.equal(['container', 'kvmish', AUTO]);
    const top = cluster(`driver: netns\ndrivers: {lxc: container}\nhosts:\n  - {name: h1, trunk: eth0}\n  - {name: h2, trunk: eth0, driver: auto}\n`);
    expect(top.hosts.map((h) => h.driver)).to.deep.equal(['netns', 'auto']);
    expect(vmDriver(vm(s, 'c1'), s, top, top.hosts[0])).to.equal('netns');
    expect(vmDriver(vm(s, 'c1'), s, top, top.hosts[1])).to.equal('container');
    expect(candidateDrivers(vm(s, 'c1'), s, top)).to.deep.equal(['netns', 'container']);
    expect(candidateDrivers(vm(s, 'c1'), s)).to.deep.equal([AUTO]);
  });

  it('one driver per host: a host whose VMs need two is bad input naming the VMs and their types', () => {
    const s = lab();
    const c = cluster(`${MIXED}${HOSTS}`);
    const all = Object.fromEntries(s.vms.map((v) => [v.name, 'h1']));
    let err: unknown;
    try {
      fragmentDrivers(s, all, c);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.equal(
      'cluster.yaml: host h1 would run VMs that need different drivers: container for c1 (lxc); netns for k1 (libvirt/kvm), ' +
        'u1 (uml), d1 (dynamips/3600), x1 (qemu). One driver per host is supported for now: map these types to one driver ' +
        '(the cluster file\'s "drivers:"), set the host\'s "driver:", or keep these VMs on different hosts (a restriction file)',
    );
    const split = { ...all, c1: 'h2' };
    expect([...fragmentDrivers(s, split, c)]).to.deep.equal([['h2', 'container'], ['h1', 'netns']]);
  });

  it('makePlan records each host\'s driver and the warnings for it; refuses a host with two', async () => {
    const s = lab();
    const plan = await makePlan({ scenario: s, cluster: cluster(HOSTS), segmentator: 'round-robin' });
    expect(Object.values(plan.hosts).map((hp) => [hp.host, hp.driver])).to.deep.equal([['h1', AUTO], ['h2', AUTO]]);
    const noticed = ['k1', 'u1', 'd1', 'x1'];
    expect(plan.warnings!.filter((w) => w.feature === 'vm-type').map((w) => w.vm)).to.deep.equal(noticed);
    const mixed = cluster(`${MIXED}hosts:\n  - {name: h1, trunk: eth0}\n`);
    await expectInputErrorAsync(() => makePlan({ scenario: s, cluster: mixed }), {
      file: 'cluster.yaml',
      message: /^host h1 would run VMs that need different drivers: container for c1 \(lxc\); netns for k1 \(libvirt\/kvm\)/,
    });
  });

  it('notices: a VM that does not run as what its type names', () => {
    const s = lab();
    const notices = (driver: string) => vmTypeNotices(s, () => [driver]).map((w) => w.message);
    expect(notices('container')).to.deep.equal([
      'vm k1 (libvirt/kvm) runs as a Linux container (container driver), not as a libvirt/kvm virtual machine: its disk image and operating system are not booted',
      'vm u1 (uml) runs as a Linux container (container driver), not as a User-Mode Linux virtual machine: its kernel is not booted',
      'vm d1 (dynamips/3600) runs as a Linux container (container driver), not as the Dynamips 3600 router it names: the router image it names does not run (no router OS, no router configuration)',
      'vm x1 (qemu) runs as a Linux container (container driver), not as the "qemu" machine it names: ediv does not know this type',
    ]);
    expect(notices('netns')[0]).to.equal('vm c1 (lxc) runs in a bare network namespace (netns driver), not as a Linux container');
    const some = vmTypeNotices(s, (v) => (v.name === 'c1' ? ['container', 'netns'] : []));
    expect(some.map((w) => w.message)).to.deep.equal(['vm c1 (lxc) runs in a bare network namespace (netns driver) on some hosts, not as a Linux container']);
    expect(some[0]).to.deep.include({ vm: 'c1', feature: 'vm-type', loc: { file: 'lab.xml', line: 3, column: 1 } });
  });

  it('warnings join the notices and the feature warnings, in document order', () => {
    const s = parseScenarioText(LAB.replace('<vm name="c1" type="lxc">', '<vm name="c1" type="lxc"><mem>64M</mem>'), 'lab.xml');
    const ws = scenarioWarnings(s, () => ['netns']);
    expect(ws.slice(0, 2).map((w) => w.feature)).to.deep.equal(['vm-type', 'mem']);
    expect(ws.map((w) => w.loc.line)).to.deep.equal([...ws.map((w) => w.loc.line!)].sort((a, b) => a - b));
  });

  it('a plan recorded before plans named a driver: the host\'s setting, netns for auto', () => {
    const c = cluster(`driver: container\n${HOSTS}`);
    expect(recordedDriver({ driver: 'qemu' }, c.hosts[0]!)).to.equal('qemu');
    expect(recordedDriver({}, c.hosts[0]!)).to.equal('container');
    expect(recordedDriver({}, cluster(HOSTS).hosts[0]!)).to.equal('netns');
  });

  it('cluster check: a host on auto needs the drivers auto can give it; a named driver must be there', () => {
    const facts = (drivers: string[]): FactsResult => ({
      version: '1', hostname: 'h', cpus: 1, memMB: 1, loadAvg: [0, 0, 0], root: true,
      capabilities: { netns: true, bridge: true, veth: true, vxlan: true, vlan8021q: true }, drivers,
    });
    const auto = cluster(HOSTS);
    expect(hostDrivers(auto, auto.hosts[0]!)).to.deep.equal([AUTO]);
    expect(unmet(hostRequirements(auto, auto.hosts[0]!, facts([AUTO]), { controllerVersion: '1' }))).to.deep.equal([]);
    const mapped = cluster(`drivers: {lxc: container}\n${HOSTS}`);
    expect(unmet(hostRequirements(mapped, mapped.hosts[0]!, facts(['netns']), { controllerVersion: '1' }))).to.deep.equal(['driver: container: the agent has no driver container (it has: netns)']);
    const named = cluster(`driver: qemu\n${HOSTS}`);
    expect(hostDrivers(named, named.hosts[1]!)).to.deep.equal(['qemu']);
  });
});
