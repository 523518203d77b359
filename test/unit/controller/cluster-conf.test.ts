import { expect } from 'chai';
import { loadCluster, parseClusterText } from '../../../src/controller/cluster.ts';
import { expectInputError } from './expect-input-error.ts';
import { itWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

// EDIV's own cluster.conf files, read in place from ../shared/third-party/vnx (those tests are skipped, saying so, without it).
const vnx = (f: string) => thirdPartyPath('vnx', f);

describe('EDIV cluster.conf', () => {
  itWithThirdParty('reads the VNX-era file (host ids, host_name, mem, cpu, max_vms, if_name)', async () => {
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
    expect(c.hosts[0]!.agentNode, 'the controller brings the agent').to.equal('node');
    expect(c.hosts[0]!.transport).to.equal('ssh');
    expect(c.hosts[0]!.driver).to.equal('auto'); // cluster.conf has no driver: each VM's type decides (controller/drivers.ts)
  }, 'vnx');

  itWithThirdParty('reads the EDIV 0.9.4 file (sections named by host, max_vhost, ifname) and ignores the unlisted cuco', async () => {
    const c = await loadCluster(vnx('03c-ediv-0.9.4-cluster.conf'));
    expect(c.hosts.map((h) => [h.name, h.address, h.memMB, h.cpu, h.maxVMs, h.trunk])).to.deep.equal([
      ['zermat', 'zermat', 2048, 100, 0, 'eth1'],
      ['kofy', 'kofy', 1024, 85, 0, 'eth1'],
    ]);
    expect(c.ids).to.deep.equal({ first: 100, last: 199 });
    expect(c.segmentator).to.equal('RoundRobin');
    expect(c.management.network).to.equal('10.250.0.0/16');
  }, 'vnx');

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

  it('keys and sections named like Object.prototype members are plain unknown keys, located', () => {
    for (const key of ['constructor', '__proto__', 'tostring', 'hasownproperty', 'valueof', '__definegetter__']) {
      expectInputError(() => parseClusterText(conf('', `[a]\nifname = eth0\n${key} = 1\n`), 'c.conf'), {
        file: 'c.conf',
        line: 9,
        column: 1,
        message: new RegExp(`^unknown key "${key}" in \\[a\\] \\(known: host_name, mem, cpu, max_vms, max_vhost, max_vhosts, if_name, ifname\\)$`),
      });
      expectInputError(() => parseClusterText(conf(`${key} = 1`), 'c.conf'), { line: 6, column: 1, message: new RegExp(`^unknown key "${key}" in \\[cluster\\]`) });
      expectInputError(() => parseClusterText(`[vlan]\n${key} = 1\n[cluster]\nhost = a\n[a]\nifname = eth0\n`, 'c.conf'), { line: 2, message: new RegExp(`^unknown key "${key}" in \\[vlan\\]`) });
    }
    // A host named constructor is a host like any other; __proto__ is not a safe host name.
    const c = parseClusterText('[cluster]\nhost = constructor\n[constructor]\nifname = eth0\n[__proto__]\nmem = 1\n', 'c.conf');
    expect(c.hosts.map((h) => [h.name, h.trunk])).to.deep.equal([['constructor', 'eth0']]);
    expectInputError(() => parseClusterText('[cluster]\nhost = __proto__\n[__proto__]\nifname = eth0\n', 'c.conf'), {
      line: 2,
      column: 8,
      message: /host name "__proto__" is not allowed/,
    });
  });

  it('default_segmentation names a built-in only: a module is refused at the value', () => {
    for (const spec of ['data:text/javascript,process.exit(7)', './evil.mjs', 'left-pad']) {
      expectInputError(() => parseClusterText(conf(`default_segmentation = ${spec}`), 'c.conf'), {
        line: 6,
        column: 24,
        message: /^default_segmentation: .* is not a built-in segmentator .* loaded only from --segmentator on the command line$/,
      });
    }
  });

  it('control characters: a tab inside a value, a lone carriage return, a NUL byte, each located', () => {
    expectInputError(() => parseClusterText(conf('', '[a]\nifname = eth\t0\n'), 'c.conf'), { line: 8, column: 10, message: /ifname in \[a\] contains the control character U\+0009 \(tab\)/ });
    expectInputError(() => parseClusterText(conf('', '[a]\nifname = eth0\rfake\n'), 'c.conf'), { line: 8, column: 14, message: /a carriage return inside a line/ });
    expectInputError(() => parseClusterText(conf('', '[a]\nifname = eth0\u0000\n'), 'c.conf'), { line: 8, column: 14, message: /binary file \(a NUL byte here\)/ });
  });

  it('numbers too large, and the cpu bounds, at the value', () => {
    expectInputError(() => parseClusterText(conf('', `[a]\nifname = eth0\ncpu = 1${'0'.repeat(400)}\n`), 'c.conf'), {
      line: 9,
      column: 7,
      message: /cpu in \[a\] must be a number \(found a number too large to represent\)/,
    });
    expectInputError(() => parseClusterText(conf('', '[a]\nifname = eth0\ncpu = 0.0000001\n'), 'c.conf'), { line: 9, column: 7, message: /cpu in \[a\] must be >= 0\.001/ });
  });

  it('two hosts at one address are one agent', () => {
    expectInputError(() => parseClusterText('[cluster]\nhost = a\nhost = b\n[a]\nhost_name = 192.0.2.1\nifname = eth0\n[b]\nhost_name = 192.0.2.1\nifname = eth0\n', 'c.conf'), {
      line: 8,
      column: 13,
      message: /host "b" is the same agent as host a: 192\.0\.2\.1, SSH port 22/,
    });
  });

  it('more than 1024 hosts, refused at the first one too many', () => {
    const hosts = Array.from({ length: 1100 }, (_, i) => `host = h${i}`).join('\n');
    expectInputError(() => parseClusterText(`[cluster]\n${hosts}\n`, 'c.conf'), { line: 1026, column: 8, message: /\[cluster\] lists more than 1024 hosts/ });
  });

  it('a large file of sections is read in linear time, with at most 50 problems listed', () => {
    // 1 000 hosts and 200 000 other sections (3.6 MB): one lookup per host, not one scan of the sections.
    const n = 1000;
    const text = `[cluster]\n${Array.from({ length: n }, (_, i) => `host = h${i}`).join('\n')}\n${Array.from({ length: 200_000 }, (_, i) => `[s${i}]\nmem = 1`).join('\n')}\n`;
    const t0 = performance.now();
    const problems = expectInputError(() => parseClusterText(text, 'c.conf'), { line: 2, message: /host "h0" has no \[h0\] section/ }, { message: /and 950 more problem\(s\) from here on/ });
    expect(problems).to.have.length(51);
    expect(performance.now() - t0).to.be.below(1000);
  });

  it('reports a VLAN range beyond 4094 at [vlan]', () => {
    expectInputError(() => parseClusterText('[vlan]\nfirst = 4000\nlast = 5000\n[cluster]\nhost = a\n[a]\nifname = eth0\n', 'c.conf'), {
      line: 1,
      message: /outside 1-4094/,
    });
  });
});
