import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { emulatedCluster } from '../../../src/emulated/layout.ts';
import { detectClusterFormat, loadCluster, parseClusterText } from '../../../src/controller/cluster.ts';
import { expectInputError, expectInputErrorAsync } from './expect-input-error.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const example = (f: string) => path.join(repoRoot, 'docs/examples', f);

describe('cluster file (YAML / JSON)', () => {
  it('loads the documented YAML example with its values and defaults', async () => {
    const c = await loadCluster(example('cluster.yaml'));
    expect(c.source).to.deep.equal({ path: example('cluster.yaml'), format: 'yaml' });
    expect(c.backplane).to.equal('vxlan');
    expect(c.ids).to.deep.equal({ first: 5000, last: 5999 });
    expect([c.vxlan, c.trunkMTU]).to.deep.equal([{ port: 14789 }, 1500]);
    expect(c.management).to.deep.equal({ network: '10.250.0.0/16', interface: 'eth0' });
    expect(c.segmentator).to.equal('WeightedRoundRobin');
    expect([c.driver, c.drivers]).to.deep.equal(['auto', { dynamips: 'netns' }]);
    expect(c.hosts.map((h) => h.name)).to.deep.equal(['zermat', 'kofy', 'cuco']);
    const [zermat, kofy, cuco] = c.hosts;
    expect(zermat!.ssh).to.deep.equal({
      user: 'root',
      port: 22,
      identity: path.join(os.homedir(), '.ssh/id_ed25519'),
      knownHosts: path.join(os.homedir(), '.ssh/known_hosts'),
    });
    expect(zermat!.trunkAddress).to.equal('192.168.50.11');
    expect(zermat!.labels).to.deep.equal({ rack: 'r1' });
    expect(kofy!.ssh).to.deep.equal({ user: 'root', port: 2222 });
    expect(kofy!.maxVMs).to.equal(20);
    expect(kofy!.cpu).to.equal(85);
    expect(cuco!.agentCommand).to.deep.equal(['/usr/bin/node', '/opt/ediv/bin/ediv']);
    expect(cuco!.trunk).to.equal('enp3s0');
    expect(cuco!.maxVMs).to.equal(undefined);
  });

  it('loads the JSON example with two id ranges', async () => {
    const c = await loadCluster(example('cluster.json'));
    expect(c.source.format).to.equal('json');
    expect(c.ids).to.deep.equal({
      first: 100,
      last: 349,
      ranges: [
        { first: 100, last: 199 },
        { first: 300, last: 349 },
      ],
    });
    expect(c.hosts[1]).to.deep.include({ name: 'node2', address: '203.0.113.22', cpu: 50, memMB: 4096 });
    expect(c.hosts[0]!.ssh).to.deep.equal({ user: 'root', port: 22 });
    expect(c.hosts[1]!.ssh).to.deep.equal({ user: 'ops', port: 22, sudo: true });
  });

  it('ssh.sudo: a boolean, false by default (the model then has no sudo key), refused elsewhere at its value', () => {
    const one = (ssh: string) => parseClusterText(`hosts:\n  - {name: h1, trunk: eth0, ssh: ${ssh}}\n`, 'c.yaml').hosts[0]!.ssh;
    expect(one('{user: ops, sudo: true}')).to.deep.equal({ user: 'ops', port: 22, sudo: true });
    expect(one('{user: ops, sudo: false}')).to.deep.equal({ user: 'ops', port: 22 });
    expect(one('{user: ops}')).to.deep.equal({ user: 'ops', port: 22 });
    const text = 'hosts:\n  - name: h1\n    trunk: eth0\n    ssh: {user: ops, sudo: "yes"}\n';
    expectInputError(() => parseClusterText(text, 'c.yaml'), { file: 'c.yaml', line: 4, column: 28, message: /hosts\[0\]\.ssh\.sudo must be true or false \(found "yes"\)/ });
    const typo = 'hosts:\n  - name: h1\n    trunk: eth0\n    ssh: {user: ops, sudoo: true}\n';
    expectInputError(() => parseClusterText(typo, 'c.yaml'), { file: 'c.yaml', line: 4, message: /unknown key "sudoo" in hosts\[0\]\.ssh \(allowed: user, port, identity, knownHosts, client, sudo\)/ });
  });

  it('ssh.client: ssh2 (the default: no key in the model) or openssh; anything else refused at its value', () => {
    const one = (ssh: string) => parseClusterText(`hosts:\n  - {name: h1, trunk: eth0, ssh: ${ssh}}\n`, 'c.yaml').hosts[0]!.ssh;
    expect(one('{client: openssh}')).to.deep.equal({ user: 'root', port: 22, client: 'openssh' });
    expect(one('{client: ssh2}')).to.deep.equal({ user: 'root', port: 22 });
    const text = 'hosts:\n  - name: h1\n    trunk: eth0\n    ssh: {client: putty}\n';
    expectInputError(() => parseClusterText(text, 'c.yaml'), { file: 'c.yaml', line: 4, message: /hosts\[0\]\.ssh\.client must be one of ssh2, openssh \(found "putty"\)/ });
  });

  it('keeps label values as strings, whatever YAML scalar they were written as', () => {
    const c = parseClusterText('hosts:\n  - {name: h1, trunk: eth0, labels: {gpu: true, rack: 3, zone: eu}}\n', 'c.yaml');
    expect(c.hosts[0]!.labels).to.deep.equal({ gpu: 'true', rack: '3', zone: 'eu' });
  });

  it('fills every default for a minimal file', () => {
    const c = parseClusterText('hosts:\n  - name: h1\n    trunk: eth0\n', '/tmp/x/c.yaml');
    expect(c).to.deep.equal({
      hosts: [
        {
          name: 'h1',
          address: 'h1',
          ssh: { user: 'root', port: 22 },
          trunk: 'eth0',
          cpu: 100,
          labels: {},
          agentCommand: [],
          agentNode: 'node',
          transport: 'ssh',
          driver: 'auto',
        },
      ],
      ids: { first: 1000, last: 1999 },
      backplane: 'vlan',
      management: {},
      segmentator: 'round-robin',
      driver: 'auto',
      drivers: {},
      source: { path: '/tmp/x/c.yaml', format: 'yaml' },
    });
  });

  it('the agent: brought by the controller (agentNode, default node) unless agentCommand names an installed ediv; not both', () => {
    const host = (extra: string) => parseClusterText(`hosts:\n  - {name: h1, trunk: eth0${extra}}\n`, 'c.yaml').hosts[0]!;
    expect(host('')).to.include({ agentNode: 'node' });
    expect(host(', agentNode: /opt/node22/bin/node')).to.include({ agentNode: '/opt/node22/bin/node' });
    const installed = host(', agentCommand: [/usr/bin/node, /opt/ediv/bin/ediv]');
    expect(installed.agentCommand).to.deep.equal(['/usr/bin/node', '/opt/ediv/bin/ediv']);
    expect(installed).to.not.have.property('agentNode');
    const both = 'hosts:\n  - name: h1\n    trunk: eth0\n    agentCommand: [ediv]\n    agentNode: node\n';
    expectInputError(() => parseClusterText(both, 'c.yaml'), { file: 'c.yaml', line: 5, message: /hosts\[0\]\.agentNode: give agentCommand \(an ediv installed on the host\) or agentNode .*not both/ });
    expectInputError(() => parseClusterText('hosts:\n  - {name: h1, trunk: eth0, agentNode: ""}\n', 'c.yaml'), { file: 'c.yaml', line: 2, message: /agentNode/ });
  });

  it('joins touching id ranges and resolves relative key paths against the file', () => {
    const c = parseClusterText(
      'ids: [{first: 200, last: 299}, {first: 100, last: 199}]\nhosts:\n  - {name: h1, trunk: eth0, ssh: {identity: keys/id}}\n',
      '/srv/lab/cluster.yaml',
    );
    expect(c.ids).to.deep.equal({ first: 100, last: 299 });
    expect(c.hosts[0]!.ssh.identity).to.equal('/srv/lab/keys/id');
  });

  it('reads back a Cluster model written as YAML or JSON (as `ediv cluster up` writes it)', () => {
    const { source: _source, ...model } = emulatedCluster(3, '/srv/emulated');
    const fromYaml = parseClusterText(YAML.stringify(model), '/srv/emulated/cluster.yaml');
    const fromJson = parseClusterText(JSON.stringify(model), '/srv/emulated/cluster.json');
    expect({ ...fromYaml, source: undefined }).to.deep.equal({ ...model, source: undefined });
    expect({ ...fromJson, source: undefined }).to.deep.equal({ ...model, source: undefined });
  });

  it('detects the format from the extension, else from the content', () => {
    expect(detectClusterFormat('{}', 'c.json')).to.equal('json');
    expect(detectClusterFormat('hosts: []', 'c.yml')).to.equal('yaml');
    expect(detectClusterFormat(' {"hosts": []}', 'cluster')).to.equal('json');
    expect(detectClusterFormat('# x\n[cluster]\nhost = a\n', 'cluster.conf')).to.equal('cluster.conf');
    expect(detectClusterFormat('hosts:\n  - name: a\n', 'cluster.conf')).to.equal('yaml');
    const c = parseClusterText('{"hosts": [{"name": "a", "trunk": "eth0"}]}', 'no-extension');
    expect(c.source.format).to.equal('json');
  });

  describe('bad input: file, line, column and what is wrong (InputError, exit 2)', () => {
    const yaml = (hostLines: string, top = '') => `${top}hosts:\n  - name: a\n    trunk: eth0\n${hostLines}`;

    it('a bad address', () => {
      for (const bad of ['999.1.1.1', 'my host', 'h;rm -rf /', '$(reboot)', '-dash.example.org', '10.0.0']) {
        expectInputError(() => parseClusterText(yaml(`    address: "${bad}"\n`), 'c.yaml'), {
          file: 'c.yaml',
          line: 4,
          column: 14,
          message: /hosts\[0\]\.address: address .* is neither an IP address nor a DNS host name/,
        });
      }
      for (const good of ['10.0.0.1', 'fd00::1', 'kofy', 'kofy.dit.upm.es', 'kofy.dit.upm.es.', 'my_host_name_1.mydomain.com']) {
        expect(parseClusterText(yaml(`    address: "${good}"\n`), 'c.yaml').hosts[0]!.address).to.equal(good);
      }
      expectInputError(() => parseClusterText(yaml('    trunkAddress: kofy\n'), 'c.yaml'), {
        line: 4,
        message: /trunkAddress: "kofy" is not an IPv4 or IPv6 address/,
      });
    });

    it('overlapping id ranges', () => {
      const text = yaml('', 'ids:\n  - {first: 100, last: 200}\n  - {first: 300, last: 400}\n  - {first: 150, last: 250}\n');
      expectInputError(() => parseClusterText(text, 'c.yaml'), {
        line: 4,
        column: 5,
        message: /id range 150-250 overlaps range 100-200 \(ids\[0\]\)/,
      });
    });

    it('id ranges outside what the backplane can carry, or reversed', () => {
      expectInputError(() => parseClusterText(yaml('', 'ids: {first: 4000, last: 4095}\n'), 'c.yaml'), {
        line: 1,
        column: 6,
        message: /id range 4000-4095 is outside 1-4094, the ids a vlan backplane can use/,
      });
      const vx = parseClusterText(yaml('', 'backplane: vxlan\nids: {first: 4000, last: 16777215}\n'), 'c.yaml');
      expect(vx.ids).to.deep.equal({ first: 4000, last: 16777215 });
      expectInputError(() => parseClusterText(yaml('', 'backplane: vxlan\nids: {first: 1, last: 16777216}\n'), 'c.yaml'), {
        line: 2,
        message: /outside 1-16777215/,
      });
      expectInputError(() => parseClusterText(yaml('', 'ids: {first: 20, last: 10}\n'), 'c.yaml'), {
        message: /first is greater than last/,
      });
      expectInputError(() => parseClusterText(yaml('', 'ids: {first: 0, last: 10}\n'), 'c.yaml'), {
        line: 1,
        column: 14,
        message: /ids\.first must be >= 1 \(found 0\)/,
      });
    });

    it('an unknown key, pointing at the key', () => {
      expectInputError(() => parseClusterText(yaml('    colour: red\n'), 'c.yaml'), {
        line: 4,
        column: 5,
        message: /unknown key "colour" in hosts\[0\] \(allowed: name, address, ssh/,
      });
      expectInputError(() => parseClusterText(yaml('', 'backplain: vlan\n'), 'c.yaml'), {
        line: 1,
        column: 1,
        message: /unknown key "backplain" in the document/,
      });
    });

    it('a duplicate host name', () => {
      expectInputError(() => parseClusterText(yaml('  - name: a\n    trunk: eth1\n'), 'c.yaml'), {
        line: 4,
        column: 11,
        message: /host name "a" is used twice \(also hosts\[0\]\)/,
      });
    });

    it('a value of the wrong type, a missing field, a bad enum', () => {
      expectInputError(
        () => parseClusterText(yaml('    cpu: fast\n    maxVMs: 2.5\n    labels: {gpu: [1]}\n  - name: b\n', 'backplane: vxln\n'), 'c.yaml'),
        { line: 5, column: 10, message: /hosts\[0\]\.cpu must be a number \(found "fast"\)/ },
        { line: 6, column: 13, message: /hosts\[0\]\.maxVMs must be a whole number \(found 2\.5\)/ },
        { line: 7, column: 19, message: /hosts\[0\]\.labels\.gpu must be a string or a number or true or false \(found \[1\]\)/ },
        { line: 8, column: 5, message: /hosts\[1\] is missing "trunk"/ },
        { line: 1, column: 12, message: /backplane must be one of vlan, vxlan \(found "vxln"\)/ },
      );
      expectInputError(() => parseClusterText(yaml('', 'ids: 7\n'), 'c.yaml'), {
        line: 1,
        message: /ids has the wrong form: expected an id range \{first, last\}, or a list of such ranges/,
      });
    });

    it('unsafe host names and interface names', () => {
      expectInputError(() => parseClusterText('hosts:\n  - {name: "a b", address: 10.0.0.1, trunk: eth0}\n', 'c.yaml'), {
        line: 2,
        message: /host name "a b" is not allowed/,
      });
      expectInputError(() => parseClusterText(yaml('', 'management: {interface: "eth0;x"}\n').replace('trunk: eth0', 'trunk: eth0/1'), 'c.yaml'), {
        line: 4,
        message: /hosts\[0\]\.trunk: interface name "eth0\/1" is not valid/,
      }, { line: 1, message: /management\.interface: interface name "eth0;x" is not valid/ });
      expectInputError(() => parseClusterText(yaml('').replace('eth0', 'averylonginterface'), 'c.yaml'), {
        message: /longer than 15 characters/,
      });
      // With a vlan backplane, <trunk>.<id> must still be a valid interface name.
      expectInputError(() => parseClusterText(yaml('').replace('eth0', 'enx00e04c6801'), 'c.yaml'), {
        line: 3,
        message: /VLAN interface "enx00e04c6801\.1999" would exceed 15 characters/,
      });
      expect(parseClusterText(yaml('', 'backplane: vxlan\n').replace('eth0', 'enx00e04c6801'), 'c.yaml').hosts[0]!.trunk).to.equal('enx00e04c6801');
    });

    it('a bad management network', () => {
      expectInputError(() => parseClusterText(yaml('', 'management: {network: 10.250.0.0/33}\n'), 'c.yaml'), {
        line: 1,
        column: 23,
        message: /management\.network: "10\.250\.0\.0\/33" is not a network in CIDR form/,
      });
    });

    it('driver settings: the top-level driver, the drivers map and host drivers, each located', () => {
      const c = parseClusterText(
        'driver: netns\ndrivers: {lxc: container, libvirt/kvm: qemu}\nhosts:\n  - {name: a, trunk: eth0}\n  - {name: b, trunk: eth0, driver: auto}\n',
        'c.yaml',
      );
      expect([c.driver, c.drivers, c.hosts.map((h) => h.driver)]).to.deep.equal(['netns', { lxc: 'container', 'libvirt/kvm': 'qemu' }, ['netns', 'auto']]);
      expectInputError(() => parseClusterText(yaml('', 'driver: "no way"\n'), 'c.yaml'), {
        line: 1,
        column: 9,
        message: /driver name "no way" is not allowed/,
      });
      expectInputError(
        () => parseClusterText(yaml('', 'drivers:\n  "lxc;rm": container\n  uml: auto\n  kvm: "a b"\n'), 'c.yaml'),
        { line: 2, column: 3, message: /drivers: "lxc;rm" is not a VM type: write a type \(lxc, libvirt, uml, dynamips, ovf, …\) or type\/subtype/ },
        { line: 3, column: 8, message: /drivers\.uml: name a driver \(auto is what the map is used by\)/ },
        { line: 4, column: 8, message: /driver name "a b" is not allowed/ },
      );
      expectInputError(() => parseClusterText(yaml('', 'drivers: {lxc: 5}\n'), 'c.yaml'), { line: 1, message: /drivers\.lxc must be a string \(found 5\)/ });
      expectInputError(() => parseClusterText(yaml('', 'drivers: [lxc]\n'), 'c.yaml'), { line: 1, column: 10, message: /drivers must be a mapping/ });
    });

    it('YAML and JSON syntax errors, with line and column', () => {
      expectInputError(() => parseClusterText('hosts:\n  - name: a\n   trunk: [eth0\n', 'c.yaml'), { line: 3, message: /invalid YAML/ });
      expectInputError(() => parseClusterText('hosts: 1\nhosts: 2\n', 'c.yaml'), { line: 2, message: /invalid YAML: Map keys must be unique/ });
      expectInputError(() => parseClusterText('{\n  "hosts": [\n    {"name": "a",}\n  ]\n}\n', 'c.json'), {
        line: 3,
        column: 18,
        message: /invalid JSON/,
      });
      expectInputError(() => parseClusterText('{"hosts": [{"name": "a", "trunk": "eth0", "cpu": "1"}]}', 'c.json'), {
        line: 1,
        column: 50,
        message: /hosts\[0\]\.cpu must be a number \(found "1"\)/,
      });
    });

    it('a YAML alias bomb fails fast', () => {
      let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n';
      for (let i = 1; i < 12; i++) text += `a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]\n`;
      const t0 = Date.now();
      expectInputError(() => parseClusterText(text, 'bomb.yaml'), { file: 'bomb.yaml', message: /cannot read YAML|alias/i });
      expect(Date.now() - t0).to.be.below(2000);
    });

    describe('files', () => {
      let dir: string;
      before(async () => {
        dir = await mkdtemp(path.join(os.tmpdir(), 'ediv-cluster-'));
      });
      after(async () => {
        await rm(dir, { recursive: true, force: true });
      });

      it('an empty file, a binary file, a 50 MB file, a missing file', async () => {
        const empty = path.join(dir, 'empty.yaml');
        await writeFile(empty, '\n  \n');
        await expectInputErrorAsync(() => loadCluster(empty), { file: empty, message: /the cluster file is empty/ });
        const bin = path.join(dir, 'bin.yaml');
        await writeFile(bin, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]));
        await expectInputErrorAsync(() => loadCluster(bin), { message: /binary file/ });
        const big = path.join(dir, 'big.yaml');
        await writeFile(big, Buffer.alloc(50 * 1024 * 1024, 0x20));
        const t0 = Date.now();
        await expectInputErrorAsync(() => loadCluster(big), { message: /the cluster file is too large \(50\.0 MB; the limit is 4\.0 MB\)/ });
        expect(Date.now() - t0).to.be.below(1000);
        await expectInputErrorAsync(() => loadCluster(path.join(dir, 'missing.yaml')), { message: /cannot read the cluster file: no such file or directory/ });
        await expectInputErrorAsync(() => loadCluster(dir), { message: /not a regular file/ });
      });
    });
  });
});
