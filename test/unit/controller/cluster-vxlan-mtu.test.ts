// The cluster file's VXLAN port (`vxlan.port`) and trunk MTU (`trunkMTU`): the schema, the
// semantic checks (file:line:column, exit 2), cluster.conf's `vxlan_port` / `trunk_mtu`, and the
// backplane links the plan gives each host.
import { expect } from 'chai';
import { parseClusterText } from '../../../src/controller/cluster.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';
import { expectInputError } from './expect-input-error.ts';

const HOSTS = `hosts:
  - {name: h1, address: 198.18.0.11, trunk: eth1}
  - {name: h2, address: 198.18.0.12, trunk: eth1}
`;

/** Two VMs on one net, one per host (round-robin): the net spans both. */
const LAB = `<?xml version="1.0" encoding="UTF-8"?>
<vnx>
  <global><version>2.0</version><scenario_name>lab</scenario_name></global>
  <net name="N" mode="virtual_bridge"/>
  <vm name="a" type="lxc"><if id="1" net="N"><ipv4>10.0.0.1/24</ipv4></if></vm>
  <vm name="b" type="lxc"><if id="1" net="N"><ipv4>10.0.0.2/24</ipv4></if></vm>
</vnx>
`;

async function linksOf(clusterText: string, file = 'c.yaml') {
  const cluster = parseClusterText(clusterText, file);
  const plan = await makePlan({ scenario: parseScenarioText(LAB, 'lab.xml'), cluster, segmentator: 'round-robin' });
  return Object.values(plan.hosts).flatMap((hp) => hp.backplane);
}

describe('cluster file: vxlan.port and trunkMTU', () => {
  it('reads a port and a trunk MTU; every vxlan link of the plan carries both, next to its id', async () => {
    const text = `backplane: vxlan\nvxlan: {port: 14789}\ntrunkMTU: 9000\n${HOSTS}`;
    const c = parseClusterText(text, 'c.yaml');
    expect(c.vxlan).to.deep.equal({ port: 14789 });
    expect(c.trunkMTU).to.equal(9000);
    const links = await linksOf(text);
    expect(links).to.have.length(2);
    for (const l of links) expect(l).to.deep.include({ kind: 'vxlan', net: 'N', port: 14789, trunkMTU: 9000 });
  });

  it('the same in JSON', () => {
    const c = parseClusterText(JSON.stringify({ backplane: 'vxlan', vxlan: { port: 1 }, trunkMTU: 118, hosts: [{ name: 'h1', trunk: 'eth0' }] }), 'c.json');
    expect([c.vxlan, c.trunkMTU]).to.deep.equal([{ port: 1 }, 118]);
  });

  it('defaults: no section, port 4789 on vxlan links, no trunkMTU (the trunk interface decides); vlan links carry neither', async () => {
    const c = parseClusterText(`backplane: vxlan\n${HOSTS}`, 'c.yaml');
    expect(c).to.not.have.property('vxlan');
    expect(c).to.not.have.property('trunkMTU');
    for (const l of await linksOf(`backplane: vxlan\n${HOSTS}`)) {
      expect(l.port).to.equal(4789);
      expect(l).to.not.have.property('trunkMTU');
    }
    // An empty section takes its defaults.
    expect(parseClusterText(`backplane: vxlan\nvxlan: {}\n${HOSTS}`, 'c.yaml').vxlan).to.deep.equal({ port: 4789 });
    for (const l of await linksOf(`ids: {first: 10, last: 20}\n${HOSTS}`)) {
      expect(l.kind).to.equal('vlan');
      expect(l).to.not.have.property('port');
      expect(l).to.not.have.property('trunkMTU');
    }
  });

  it('vlan takes a trunk MTU too (no encapsulation: at least 68)', async () => {
    const text = `backplane: vlan\nids: {first: 10, last: 20}\ntrunkMTU: 1400\n${HOSTS}`;
    for (const l of await linksOf(text)) expect(l).to.deep.include({ kind: 'vlan', trunkMTU: 1400 });
    expect(parseClusterText(`trunkMTU: 68\nids: {first: 10, last: 20}\n${HOSTS}`, 'c.yaml').trunkMTU).to.equal(68);
  });

  it('refuses a bad port at its line and column', () => {
    for (const port of ['0', '65536', '-1']) {
      expectInputError(() => parseClusterText(`backplane: vxlan\nvxlan:\n  port: ${port}\n${HOSTS}`, 'c.yaml'), {
        file: 'c.yaml',
        line: 3,
        column: 9,
        message: /vxlan\.port must be (>=|<=) \d+ \(found -?\d+\)/,
      });
    }
    expectInputError(() => parseClusterText(`backplane: vxlan\nvxlan: {port: 4789.5}\n${HOSTS}`, 'c.yaml'), { line: 2, column: 15, message: /vxlan\.port must be a whole number \(found 4789\.5\)/ });
    expectInputError(() => parseClusterText(`backplane: vxlan\nvxlan: {port: vxlan}\n${HOSTS}`, 'c.yaml'), { line: 2, column: 15, message: /vxlan\.port must be a whole number \(found "vxlan"\)/ });
    expectInputError(() => parseClusterText(`{"backplane": "vxlan", "vxlan": {"port": 70000}, "hosts": [{"name": "h", "trunk": "e"}]}`, 'c.json'), {
      line: 1,
      column: 42,
      message: /vxlan\.port must be <= 65535 \(found 70000\)/,
    });
  });

  it('refuses unknown keys in the section, and the section without the vxlan backplane', () => {
    expectInputError(() => parseClusterText(`backplane: vxlan\nvxlan: {port: 4789, mtu: 1450}\n${HOSTS}`, 'c.yaml'), {
      line: 2,
      column: 21,
      message: /unknown key "mtu" in vxlan \(allowed: port\)/,
    });
    expectInputError(() => parseClusterText(`vxlan: {port: 14789}\n${HOSTS}`, 'c.yaml'), {
      line: 1,
      column: 1,
      message: /vxlan: these settings are the vxlan backplane's, but the backplane is vlan \(the default\): set backplane to vxlan/,
    });
    expectInputError(() => parseClusterText(`backplane: vlan\nids: {first: 1, last: 2}\nvxlan: {port: 14789}\n${HOSTS}`, 'c.yaml'), {
      line: 3,
      column: 1,
      message: /the backplane is vlan: set backplane/,
    });
  });

  it('refuses an impossible trunk MTU at its line and column', () => {
    const bad = (mtu: string, line = 2) => `backplane: vxlan\n${line === 2 ? '' : '# x\n'}trunkMTU: ${mtu}\n${HOSTS}`;
    expectInputError(() => parseClusterText(bad('67'), 'c.yaml'), { line: 2, column: 11, message: /trunkMTU must be >= 68 \(found 67\)/ });
    expectInputError(() => parseClusterText(bad('65536'), 'c.yaml'), { line: 2, column: 11, message: /trunkMTU must be <= 65535 \(found 65536\)/ });
    expectInputError(() => parseClusterText(bad('1500.5', 3), 'c.yaml'), { line: 3, column: 11, message: /trunkMTU must be a whole number/ });
    expectInputError(() => parseClusterText(bad('jumbo'), 'c.yaml'), { line: 2, column: 11, message: /trunkMTU must be a whole number \(found "jumbo"\)/ });
    // Schema-valid, but VXLAN's 50 bytes would leave the VMs less than an interface's minimum.
    expectInputError(() => parseClusterText(bad('117'), 'c.yaml'), {
      line: 2,
      column: 11,
      message: /trunkMTU 117 leaves 67 bytes for the VMs' frames after VXLAN's 50-byte encapsulation \(over IPv4\).*at least 118/,
    });
    expect(parseClusterText(bad('118'), 'c.yaml').trunkMTU).to.equal(118);
    // An IPv6 underlay takes 70.
    const v6 = `backplane: vxlan\ntrunkMTU: 130\nhosts:\n  - {name: h1, trunk: eth1, trunkAddress: "2001:db8::1"}\n`;
    expectInputError(() => parseClusterText(v6, 'c.yaml'), { line: 2, column: 11, message: /70-byte encapsulation \(over IPv6\).*at least 138/ });
  });

  it('cluster.conf: [cluster] vxlan_port and trunk_mtu, checked like the YAML fields at their lines', () => {
    const conf = (extra: string) => `[cluster]\nhost = h1\nbackplane = vxlan\n${extra}\n[h1]\nifname = eth0\n`;
    const c = parseClusterText(conf('vxlan_port = 14789\ntrunk_mtu = 1400'), 'cluster.conf');
    expect([c.vxlan, c.trunkMTU]).to.deep.equal([{ port: 14789 }, 1400]);
    expectInputError(() => parseClusterText(conf('vxlan_port = 0'), 'cluster.conf'), { line: 4, column: 14, message: /vxlan_port must be >= 1 \(found 0\)/ });
    expectInputError(() => parseClusterText(conf('vxlan_port = udp'), 'cluster.conf'), { line: 4, column: 14, message: /vxlan_port must be a whole number/ });
    expectInputError(() => parseClusterText(conf('trunk_mtu = 100'), 'cluster.conf'), { line: 4, column: 13, message: /trunk_mtu 100 leaves 50 bytes.*at least 118/ });
    expectInputError(() => parseClusterText(conf('trunk_mtu = 99999'), 'cluster.conf'), { line: 4, column: 13, message: /trunk_mtu must be <= 65535/ });
    const vlan = `[cluster]\nhost = h1\nvxlan_port = 14789\n[vlan]\nfirst = 1\nlast = 9\n[h1]\nifname = eth0\n`;
    expectInputError(() => parseClusterText(vlan, 'cluster.conf'), { line: 3, column: 14, message: /vxlan_port: these settings are the vxlan backplane's, but the backplane is vlan \(the default\)/ });
  });
});
