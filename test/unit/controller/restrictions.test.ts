import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Scenario } from '../../../src/scenario/model.ts';
import { loadCluster, parseClusterText } from '../../../src/controller/cluster.ts';
import { MAX_PROBLEMS } from '../../../src/controller/cluster-schema-errors.ts';
import { MAX_CONFLICTS_SHOWN, MAX_RESTRICTION_FILE_BYTES, loadRestrictions, parseRestrictionsText } from '../../../src/controller/restrictions.ts';
import { expectInputError, expectInputErrorAsync } from './expect-input-error.ts';
import { itWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

// EDIV's restriction example and cluster.conf files, read in place from ../shared/third-party/vnx (those tests are skipped, saying so, without it).
const vnx = (f: string) => thirdPartyPath('vnx', f);
const RESTRICTIONS_03D = vnx('03d-ediv-restriction-file-bgp.xml');

const emptyExtra = () => ({ attrs: {}, children: [] });

/** A scenario with the given VMs, each on the given nets (interface ids from 1). */
function scenario(name: string, vms: Record<string, string[]>): Scenario {
  const netNames = [...new Set(Object.values(vms).flat())];
  return {
    name,
    global: { version: '2.0', extra: emptyExtra() },
    nets: netNames.map((n) => ({ name: n, mode: 'virtual_bridge', extra: emptyExtra() })),
    vms: Object.entries(vms).map(([vm, nets]) => ({
      name: vm,
      ifaces: nets.map((net, i) => ({ id: i + 1, net, ipv4: [], ipv6: [], extra: emptyExtra() })),
      routes: [],
      execs: [],
      filetrees: [],
      extra: emptyExtra(),
    })),
    cmdSeqs: new Map(),
    source: { format: 'vnx', path: `${name}.xml`, version: '2.0' },
    extra: emptyExtra(),
  };
}

// The BGP scenario 03d was written for is not shipped; this stands in for it: six routers,
// AS1-AS4 between R1 and R4 among others.
const bgp = scenario('bgp', {
  R1: ['AS1-AS2', 'AS1-AS4'],
  R2: ['AS1-AS2', 'AS2-AS3'],
  R3: ['AS2-AS3', 'AS3-AS4'],
  R4: ['AS1-AS4', 'AS3-AS4'],
  R5: ['AS1-AS2'],
  R6: ['AS3-AS4'],
});

describe('EDIV restriction files', () => {
  itWithThirdParty('reads 03d against the 0.9.4 cluster, resolving kofy.dit.upm.es to kofy', async () => {
    const cluster = await loadCluster(vnx('03c-ediv-0.9.4-cluster.conf'));
    const r = await loadRestrictions(RESTRICTIONS_03D, bgp, cluster);
    expect(r).to.deep.equal({
      vmDeployAt: [{ vm: 'R2', host: 'zermat' }],
      netDeployAt: [{ net: 'AS1-AS4', host: 'kofy' }],
      affinity: [{ vms: ['R3', 'R2'] }],
      antiAffinity: [{ vms: ['R6', 'R1'] }, { vms: ['R2', 'R5'] }],
      netDeployTogether: [],
      source: RESTRICTIONS_03D,
    });
  }, 'vnx');

  itWithThirdParty('without a cluster keeps host names as written', async () => {
    const r = await loadRestrictions(RESTRICTIONS_03D, bgp);
    expect(r.vmDeployAt).to.deep.equal([{ vm: 'R2', host: 'zermat.dit.upm.es' }]);
    expect(r.netDeployAt).to.deep.equal([{ net: 'AS1-AS4', host: 'kofy.dit.upm.es' }]);
  }, 'vnx');

  it('resolves hosts by name, then address, then first DNS label', () => {
    const cluster = parseClusterText(
      'hosts:\n  - {name: alpha, address: 10.0.0.1, trunk: eth0}\n  - {name: beta, address: b.lab.example.org, trunk: eth0}\n',
      'c.yaml',
    );
    const text = `<deployment_restrictions>
  <vm_deploy_at vm="R1" host="alpha"/>
  <vm_deploy_at vm="R2" host="10.0.0.1"/>
  <vm_deploy_at vm="R3" host="B.lab.example.org"/>
  <vm_deploy_at vm="R4" host="beta.other.org"/>
  <net_deploy_together><net>AS1-AS2</net><net>AS2-AS3</net></net_deploy_together>
  <net_deploy_together net="AS3-AS4"/>
</deployment_restrictions>`;
    const r = parseRestrictionsText(text, 'r.xml', bgp, cluster);
    expect(r.vmDeployAt.map((p) => p.host)).to.deep.equal(['alpha', 'alpha', 'beta', 'beta']);
    expect(r.netDeployTogether).to.deep.equal([{ nets: ['AS1-AS2', 'AS2-AS3'] }, { nets: ['AS3-AS4'] }]);
  });

  describe('bad input: file, line, column and what is wrong (InputError, exit 2)', () => {
    itWithThirdParty('03d against a scenario without those routers: every unknown VM and net', async () => {
      const other = scenario('tutorial', { h1: ['Net0'], r1: ['Net0', 'Net1'] });
      const problems = await expectInputErrorAsync(
        () => loadRestrictions(RESTRICTIONS_03D, other),
        { file: RESTRICTIONS_03D, line: 3, column: 1, message: /net "AS1-AS4" is not in scenario "tutorial" \(its nets: Net0, Net1\)/ },
        { line: 5, message: /VM "R2" is not in scenario "tutorial" \(its VMs: h1, r1\)/ },
        { line: 8, column: 3, message: /VM "R6" is not in scenario/ },
      );
      expect(problems).to.have.length(8);
    }, 'vnx');

    itWithThirdParty('an unknown host lists the valid hosts', async () => {
      const cluster = await loadCluster(vnx('03b-ediv-vnx-cluster.conf'));
      await expectInputErrorAsync(() => loadRestrictions(RESTRICTIONS_03D, bgp, cluster), {
        line: 3,
        message: /host "kofy\.dit\.upm\.es" is not in the cluster; valid hosts: host1 \(host1\.domain\.org\), host2 \(host2\.domain\.org\), host3 \(host3\.domain\.org\)/,
      }, { line: 5, message: /host "zermat\.dit\.upm\.es" is not in the cluster/ });
    }, 'vnx');

    itWithThirdParty('a VM pinned to two hosts, VMs both together and apart, more VMs apart than hosts', async () => {
      const cluster = await loadCluster(vnx('03c-ediv-0.9.4-cluster.conf'));
      const text = `<deployment_restrictions>
  <vm_deploy_at vm="R1" host="kofy"/>
  <vm_deploy_at vm="R1" host="kofy.dit.upm.es"/>
  <vm_deploy_at vm="R1" host="zermat"/>
  <affinity><vm>R2</vm><vm>R3</vm><vm>R4</vm></affinity>
  <antiaffinity><vm>R3</vm><vm>R4</vm></antiaffinity>
  <antiaffinity><vm>R1</vm><vm>R5</vm><vm>R6</vm></antiaffinity>
</deployment_restrictions>`;
      const problems = expectInputError(
        () => parseRestrictionsText(text, 'r.xml', bgp, cluster),
        { line: 4, column: 3, message: /VM "R1" is pinned to host "zermat" here and to "kofy" at line 2/ },
        { line: 6, message: /VMs "R3" and "R4" must be apart \(this <antiaffinity>\) and together \(<affinity> at line 5\)/ },
        { line: 7, message: /keeps 3 VMs apart but the cluster has only 2 host\(s\)/ },
      );
      expect(problems).to.have.length(3);
    }, 'vnx');

    it('VMs kept together through a chain of <affinity> rules and apart by an <antiaffinity>', () => {
      const text = `<deployment_restrictions>
  <affinity><vm>R1</vm><vm>R2</vm></affinity>
  <affinity><vm>R2</vm><vm>R3</vm></affinity>
  <antiaffinity><vm>R1</vm><vm>R3</vm></antiaffinity>
</deployment_restrictions>`;
      const problems = expectInputError(() => parseRestrictionsText(text, 'r.xml', bgp), {
        line: 4,
        column: 17,
        message: /^VMs "R1" and "R3" must be apart \(this <antiaffinity>\) and together \(<affinity> at lines 2 and 3\)$/,
      });
      expect(problems).to.have.length(1);
    });

    it('400 <affinity> and 400 overlapping <antiaffinity> groups: refused in well under 2 s, with a few short messages', () => {
      const vms: Record<string, string[]> = {};
      for (let i = 0; i < 400; i++) vms[`v${i}`] = ['Net0'];
      const big = scenario('big', vms);
      const group = (tag: string, i: number) => `<${tag}>${Array.from({ length: 250 }, (_, j) => `<vm>v${(i * 7 + j) % 400}</vm>`).join('')}</${tag}>`;
      const lines = [...Array.from({ length: 400 }, (_, i) => group('affinity', i)), ...Array.from({ length: 400 }, (_, i) => group('antiaffinity', i))];
      const text = `<deployment_restrictions>\n${lines.join('\n')}\n</deployment_restrictions>\n`;
      expect(text.length).to.be.above(2_500_000);
      const t0 = performance.now();
      const problems = expectInputError(
        () => parseRestrictionsText(text, 'r.xml', big),
        { line: 402, column: 15, message: /^VMs "v0", "v1", "v2", "v3", "v4" and 245 more must be apart \(this <antiaffinity>\) and together \(<affinity> at lines 2, 3, 4, 5, 6 and 395 more\)$/ },
        { line: 412, column: 15, message: /^and 390 more <antiaffinity> group\(s\) of VMs that <affinity> keeps together, from here on$/ },
      );
      expect(performance.now() - t0).to.be.below(2000);
      expect(problems).to.have.length(MAX_CONFLICTS_SHOWN + 1);
      expect(problems.map((p) => p.message).join('\n').length).to.be.below(5000);
    });

    it('thousands of unknown VMs: the first problems, then how many more', () => {
      const text = `<deployment_restrictions>\n${Array.from({ length: 3000 }, (_, i) => `<affinity><vm>x${i}</vm></affinity>`).join('\n')}\n</deployment_restrictions>`;
      const problems = expectInputError(
        () => parseRestrictionsText(text, 'r.xml', bgp),
        { line: 2, column: 11, message: /^VM "x0" is not in scenario "bgp" \(its VMs: R1, R2, R3, R4, R5, R6\)$/ },
        { line: 2 + MAX_PROBLEMS, message: /^and 2950 more problem\(s\) from here on$/ },
      );
      expect(problems).to.have.length(MAX_PROBLEMS + 1);
    });

    it('a restriction file over 4 MB is refused unread', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-restr-'));
      try {
        const file = path.join(dir, 'big.xml');
        writeFileSync(file, `<deployment_restrictions>${' '.repeat(MAX_RESTRICTION_FILE_BYTES)}</deployment_restrictions>`);
        await expectInputErrorAsync(() => loadRestrictions(file, bgp), { file, message: /too large \(4\.0 MB; the limit is 4\.0 MB\)/ });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('malformed rules: unknown element, missing attribute, empty or short groups, duplicates, wrong root', () => {
      const text = `<deployment_restrictions>
  <vm_deploy_on vm="R1" host="kofy"/>
  <vm_deploy_at vm="R1"/>
  <affinity/>
  <antiaffinity><vm>R1</vm></antiaffinity>
  <affinity><vm>R1</vm><vm> </vm><net>AS1-AS2</net><vm>R1</vm></affinity>
</deployment_restrictions>`;
      expectInputError(
        () => parseRestrictionsText(text, 'r.xml', bgp),
        { line: 2, column: 3, message: /unknown rule <vm_deploy_on> \(known: vm_deploy_at, net_deploy_at, affinity, antiaffinity, net_deploy_together\)/ },
        { line: 3, message: /<vm_deploy_at> needs a non-empty host="..." attribute/ },
        { line: 4, message: /<affinity> must list at least 1 <vm> element/ },
        { line: 5, message: /<antiaffinity> must list at least 2 <vm> element/ },
        { line: 6, column: 24, message: /empty <vm> in <affinity>/ },
        { line: 6, column: 34, message: /<affinity> holds <vm> elements, not <net>/ },
        { line: 6, column: 52, message: /"R1" is listed twice in this <affinity>/ },
      );
      expectInputError(() => parseRestrictionsText('<vnx><vm type="lxc" name="a"/></vnx>', 'r.xml', bgp), {
        line: 1,
        column: 1,
        message: /the root element is <vnx>: a restriction file is a <deployment_restrictions> document/,
      });
      expectInputError(() => parseRestrictionsText('<deployment_restrictions>\n<vm_deploy_at vm="R1" host="a b"/>\n</deployment_restrictions>', 'r.xml', bgp), {
        line: 2,
        message: /host="a b": address "a b" is neither an IP address nor a DNS host name/,
      });
    });

    it('malformed XML and external entities, through the safe reader', () => {
      expectInputError(() => parseRestrictionsText('<deployment_restrictions>\n  <affinity>\n</deployment_restrictions>', 'r.xml', bgp), {
        file: 'r.xml',
        line: 3,
        message: /./,
      });
      const xxe = '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<deployment_restrictions><affinity><vm>&x;</vm></affinity></deployment_restrictions>';
      expectInputError(() => parseRestrictionsText(xxe, 'r.xml', bgp), { message: /external/i });
    });
  });
});
