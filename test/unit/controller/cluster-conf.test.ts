import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCluster, parseClusterText } from '../../../src/controller/cluster.ts';
import { expectInputError } from './expect-input-error.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const vnx = (f: string) => path.resolve(repoRoot, '../shared/third-party/vnx', f);

describe('EDIV cluster.conf', () => {
  it('reads the VNX-era file (host ids, host_name, mem, cpu, max_vms, if_name)', async () => {
    const c = await loadCluster(vnx('03b-ediv-vnx-cluster.conf'));
    expect(c.source.format).to.equal('cluster.conf');
    expect(c.hosts.map((h) => [h.name, h.address, h.memMB, h.cpu, h.maxVMs, h.trunk])).to.deep.equal([
      ['host1', 'host1.domain.org', 8192, 200, 0, 'eth1'],
      ['host2', 'host2.domain.org', 4096, 100, 0, 'eth1'],
      ['host3', 'host3.domain.org', 4096, 100, 0, 'eth1'],
    ]);
    expect(c.ids).to.deep.equal({ first: 1000, last: 1039 });
    expect(c.segmentator).to.equal('RoundRobin');
    expect(c.management).to.deep.equal({ network: '10.250.0.0/16' });
    expect(c.backplane).to.equal('vlan');
    expect(c.hosts[0]!.ssh).to.deep.equal({ user: 'root', port: 22 });
    expect(c.hosts[0]!.agentCommand).to.deep.equal(['ediv']);
    expect(c.hosts[0]!.transport).to.equal('ssh');
    expect(c.hosts[0]!.driver).to.equal('auto'); // cluster.conf has no driver: each VM's type decides (controller/drivers.ts)
  });

  it('reads the EDIV 0.9.4 file (sections named by host, max_vhost, ifname) and ignores the unlisted cuco', async () => {
    const c = await loadCluster(vnx('03c-ediv-0.9.4-cluster.conf'));
    expect(c.hosts.map((h) => [h.name, h.address, h.memMB, h.cpu, h.maxVMs, h.trunk])).to.deep.equal([
      ['zermat', 'zermat', 2048, 100, 0, 'eth1'],
      ['kofy', 'kofy', 1024, 85, 0, 'eth1'],
    ]);
    expect(c.ids).to.deep.equal({ first: 100, last: 199 });
    expect(c.segmentator).to.equal('RoundRobin');
    expect(c.management.network).to.equal('10.250.0.0/16');
  });

  const conf = (extra: string, hostSection = '[a]\nifname = eth0\n') =>
    `[vlan]\nfirst = 10\nlast = 20\n[cluster]\nhost = a\n${extra}\n${hostSection}`;

  it('passes EDIV segmentator names through and accepts a dotted netmask and inline comments', () => {
    for (const name of ['WeightedRoundRobin', 'DynamicWeightedRoundRobin']) {
      const c = parseClusterText(conf(`default_segmentation = ${name}\nmgmt_network = 10.1.0.0\nmgmt_network_mask = 255.255.255.0`), 'c.conf');
      expect(c.segmentator).to.equal(name);
      expect(c.management.network).to.equal('10.1.0.0/24');
    }
    const c = parseClusterText(conf('', '[a]\nifname = eth0   # the trunk\nmem = 512\n'), 'c.conf');
    expect(c.hosts[0]!.trunk).to.equal('eth0');
    expect(c.hosts[0]!.memMB).to.equal(512);
  });

  it('accepts backplane = vxlan in [cluster] (ediv extension)', () => {
    const c = parseClusterText(conf('backplane = vxlan'), 'c.conf');
    expect(c.backplane).to.equal('vxlan');
  });

  it('reports a value of the wrong type at its line', () => {
    expectInputError(() => parseClusterText(conf('', '[a]\nifname = eth0\nmem = lots\n'), 'c.conf'), {
      file: 'c.conf',
      line: 9,
      message: /mem in \[a\] must be a whole number \(found "lots"\)/,
    });
  });

  it('reports an unknown key with the keys it knows', () => {
    expectInputError(() => parseClusterText(conf('', '[a]\nifname = eth0\nmax_vm = 3\n'), 'c.conf'), {
      line: 9,
      message: /unknown key "max_vm" in \[a\].*max_vms/,
    });
  });

  it('reports a bad host_name address at its line and column', () => {
    expectInputError(() => parseClusterText(conf('', '[a]\nhost_name = 999.1.1.1\nifname = eth0\n'), 'c.conf'), {
      line: 8,
      column: 13,
      message: /host_name in \[a\]: address "999\.1\.1\.1" is neither an IP address nor a DNS host name/,
    });
  });

  it('reports a host listed twice, a host without its section, and first > last', () => {
    expectInputError(
      () => parseClusterText('[vlan]\nfirst = 30\nlast = 20\n[cluster]\nhost = a\nhost = a\n[a]\nifname = eth0\n', 'c.conf'),
      { line: 6, message: /host name "a" is used twice/ },
      { line: 1, message: /id range 30-20: first is greater than last/ },
    );
    expectInputError(() => parseClusterText('[cluster]\nhost = a\nhost = b\n[a]\nifname = eth0\n', 'c.conf'), {
      line: 3,
      message: /host "b" has no \[b\] section/,
    });
  });

  it('reports lines that are not INI and a missing [cluster] section', () => {
    expectInputError(() => parseClusterText('[cluster]\nhost = a\nthis is not ini\n[a]\nifname = eth0\n', 'c.conf'), {
      line: 3,
      message: /expected "key = value"/,
    });
    expectInputError(() => parseClusterText('[vlan]\nfirst = 1\nlast = 2\n', 'c.conf'), { message: /no \[cluster\] section/ });
  });

  it('reports a VLAN range beyond 4094 at [vlan]', () => {
    expectInputError(() => parseClusterText('[vlan]\nfirst = 4000\nlast = 5000\n[cluster]\nhost = a\n[a]\nifname = eth0\n', 'c.conf'), {
      line: 1,
      message: /outside 1-4094/,
    });
  });
});
