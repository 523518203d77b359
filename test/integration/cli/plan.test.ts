import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edivRoot } from '../../../src/common/paths.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';
import { BGP_XML } from '../../helpers/bgp-scenario.ts';
import { itWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

const node = path.join(edivRoot, 'node_modules', '.bin', 'node');
// The real VNX scenarios and EDIV files, read in place from ../shared/third-party/vnx (those tests are skipped, saying so, without it).
const thirdParty = thirdPartyPath('vnx');

describe('ediv plan / ediv segmentators (CLI)', function () {
  this.timeout(60000);
  let dir: string;
  let env: Record<string, string>;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-plan-cli-'));
    env = { EDIV_STATE_DIR: path.join(dir, 'state') };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ediv = (...args: string[]) => execa(node, [path.join(edivRoot, 'bin', 'ediv'), ...args], { env, reject: false, cwd: dir });

  itWithThirdParty('plans for the emulated cluster and prints the table, counts, spanning nets and quality', async () => {
    const r = await ediv('plan', path.join(thirdParty, '03-ediv_testing-tutorial_root2_all.xml'), '--local-hosts', '2');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/UML\s+host1/).and.match(/Ubuntu\s+host2/);
    expect(r.stdout).to.match(/host1\s+3\s+container\s+tutorial_root2_all_host1/);
    expect(r.stdout).to.match(/Net0\s+1000\s+host1,host2/);
    expect(r.stdout).to.contain('quality: 2 spanning nets, 2 cross-host attachments, imbalance 20.0 %');
    expect(existsSync(env.EDIV_STATE_DIR)).to.equal(false, 'planning creates no state');
  }, 'vnx');

  itWithThirdParty("--json with EDIV's cluster.conf and restriction file; --out writes the fragments", async () => {
    const scenario = path.join(dir, 'bgp.xml');
    writeFileSync(scenario, BGP_XML);
    const out = path.join(dir, 'frags');
    const r = await ediv(
      'plan', scenario,
      '--cluster', path.join(thirdParty, '03c-ediv-0.9.4-cluster.conf'),
      '--restrictions', path.join(thirdParty, '03d-ediv-restriction-file-bgp.xml'),
      '--segmentator', 'RoundRobin', '--out', out, '--json',
    );
    expect(r.exitCode, r.stderr).to.equal(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).to.include({ scenario: 'bgp', segmentator: 'round-robin', backplane: 'vlan' });
    expect(doc.mapping).to.deep.equal({ R1: 'kofy', R2: 'zermat', R3: 'zermat', R4: 'kofy', R5: 'kofy', R6: 'zermat' });
    expect(doc.spanning).to.deep.equal([
      { net: 'AS1-AS2', id: 100, hosts: ['kofy', 'zermat'] },
      { net: 'AS5-AS6', id: 101, hosts: ['kofy', 'zermat'] },
    ]);
    expect(doc.hosts.kofy.vms).to.deep.equal(['R1', 'R4', 'R5']);
    // kofy (cpu 85) holds 3 of 6 VMs where its share is 6·85/185 = 2.76.
    expect(doc.quality).to.deep.equal({ spanningNets: 2, crossHostAttachments: 2, imbalance: 0.0882 });
    const frag = parseScenarioText(readFileSync(path.join(out, 'zermat.xml'), 'utf8'), 'zermat.xml');
    expect(frag.name).to.equal('bgp_zermat');
    expect(frag.vms.map((v) => v.name)).to.deep.equal(['R2', 'R3', 'R6']);
    expect(frag.nets.find((n) => n.name === 'AS5-AS6')!.external).to.equal('eth1.101');
  }, 'vnx');

  it('--out writes fragments whose lab-file paths resolve from anywhere (absolute, from the scenario’s directory)', async () => {
    const scenario = path.join(dir, 'files.xml');
    writeFileSync(
      scenario,
      `<vnx><global><version>2.0</version><scenario_name>files</scenario_name></global><net name="N" mode="virtual_bridge"/>
  <vm name="a" type="lxc"><if id="1" net="N"/><filetree seq="s" root="/etc/x">conf/a</filetree><exec seq="s" type="file">scripts/run.sh</exec><exec seq="t" type="verbatim">echo conf/a</exec></vm>
</vnx>`,
    );
    const out = path.join(dir, 'elsewhere', 'frags');
    const r = await ediv('plan', scenario, '--local-hosts', '1', '--out', out, '--json');
    expect(r.exitCode, r.stderr).to.equal(0);
    const frag = parseScenarioText(readFileSync(path.join(out, 'host1.xml'), 'utf8'), 'host1.xml');
    const vm = frag.vms[0]!;
    expect(vm.filetrees[0]!.source).to.equal(path.join(dir, 'conf/a'));
    expect(vm.execs.map((x) => x.text)).to.deep.equal([path.join(dir, 'scripts/run.sh'), 'echo conf/a']);
  });

  itWithThirdParty('--out replaces a symbolic link planted at DIR/<host>.xml instead of writing through it; an unwritable DIR is bad input', async () => {
    const out = path.join(dir, 'planted');
    mkdirSync(out);
    const victim = path.join(dir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, path.join(out, 'host1.xml'));
    const r = await ediv('plan', path.join(thirdParty, '01-simple_lxc_ubuntu.xml'), '--local-hosts', '1', '--out', out);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(readFileSync(victim, 'utf8')).to.equal('precious\n');
    expect(lstatSync(path.join(out, 'host1.xml')).isFile()).to.equal(true);
    expect(readdirSync(out)).to.deep.equal(['host1.xml']); // no temporary file left
    // Under a regular file, and where a directory has the fragment's name: exit 2, why, no stack trace.
    for (const bad of [path.join(victim, 'frags'), path.join(dir, 'dirs')]) {
      if (bad.endsWith('dirs')) mkdirSync(path.join(bad, 'host1.xml'), { recursive: true });
      const b = await ediv('plan', path.join(thirdParty, '01-simple_lxc_ubuntu.xml'), '--local-hosts', '1', '--out', bad);
      expect(b.exitCode, b.stderr).to.equal(2);
      expect(b.stderr).to.contain('--out').and.contain('cannot write').and.not.contain('    at ');
    }
  }, 'vnx');

  itWithThirdParty('bad input exits 2 with a message, no stack trace', async () => {
    const unknown = await ediv('plan', path.join(thirdParty, '01-simple_lxc_ubuntu.xml'), '--segmentator', 'nope');
    expect(unknown.exitCode).to.equal(2);
    expect(unknown.stderr).to.contain('segmentator "nope"').and.not.contain('    at ');
    const hostsArg = await ediv('plan', path.join(thirdParty, '01-simple_lxc_ubuntu.xml'), '--local-hosts', 'x');
    expect(hostsArg.exitCode).to.equal(2);
    expect(hostsArg.stderr).to.contain('--local-hosts');
  }, 'vnx');

  itWithThirdParty('an unsatisfiable restriction file exits 2 naming the rules (--json)', async () => {
    const scenario = path.join(dir, 'bgp2.xml');
    writeFileSync(scenario, BGP_XML);
    const rfile = path.join(dir, 'r.xml');
    writeFileSync(rfile, '<deployment_restrictions><vm_deploy_at vm="R1" host="zermat"/><affinity><vm>R1</vm><vm>R2</vm></affinity><vm_deploy_at vm="R2" host="kofy"/></deployment_restrictions>');
    const r = await ediv('plan', scenario, '--cluster', path.join(thirdParty, '03c-ediv-0.9.4-cluster.conf'), '--restrictions', rfile, '--segmentator', 'constraints', '--json');
    expect(r.exitCode).to.equal(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).to.equal(false);
    expect(doc.problems[0].message).to.contain('vm_deploy_at R1 → zermat').and.contain('affinity {R1, R2}').and.contain('vm_deploy_at R2 → kofy');
  }, 'vnx');

  it('ediv segmentators lists names, descriptions and aliases (text and --json)', async () => {
    const text = await ediv('segmentators');
    expect(text.exitCode).to.equal(0);
    expect(text.stdout).to.match(/^round-robin\s+.*\(EDIV: RoundRobin\)$/m).and.match(/^mincut\s+/m);
    const json = await ediv('segmentators', '--json');
    const list = JSON.parse(json.stdout) as { name: string; aliases: string[] }[];
    expect(list.map((s) => s.name)).to.deep.equal(['round-robin', 'weighted', 'dynamic', 'constraints', 'mincut']);
    expect(list.find((s) => s.name === 'dynamic')!.aliases).to.deep.equal(['DynamicWeightedRoundRobin']);
  });
});
