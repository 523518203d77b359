// `ediv graph` through the real CLI: a scenario file planned for the emulated cluster (json,
// dot, svg when graphviz is installed), and a deployed lab drawn from a StateStore record the
// test writes itself — nothing is deployed and no host is contacted.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edivRoot } from '../../../src/common/paths.ts';
import { graphOfPlan, type LabGraph } from '../../../src/controller/graph.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import { currentUser, openStateStore } from '../../../src/state/open.ts';
import { emulatedCluster } from '../../../src/emulated/layout.ts';
import type { Plan } from '../../../src/protocol/plan.ts';
import { parseScenarioFile } from '../../../src/scenario/index.ts';
import { describeWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

const node = path.join(edivRoot, 'node_modules', '.bin', 'node');
// The VNX tutorial, read in place from ../shared/third-party/vnx (the suite is skipped, saying so, without it).
const tutorial = thirdPartyPath('vnx', '02-tutorial_lxc_ubuntu.xml');
const DOT = '/usr/bin/dot';
const VMS = ['h1', 'h2', 'r1', 'r2', 'h3', 'h4'];

describeWithThirdParty('ediv graph (CLI)', function () {
  this.timeout(60000);
  let dir: string;
  let env: Record<string, string>;
  before(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-graph-cli-'));
    env = { EDIV_STATE_DIR: path.join(dir, 'state') };
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));
  const ediv = (args: string[], extraEnv: Record<string, string> = {}) =>
    execa(node, [path.join(edivRoot, 'bin', 'ediv'), ...args], { env: { ...env, ...extraEnv }, reject: false, cwd: dir });

  it('--format json: the VNX tutorial on 3 emulated hosts — hosts with their VMs, spanning nets with ids, every interface', async () => {
    const r = await ediv(['graph', tutorial, '--local-hosts', '3', '--format', 'json']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const g = JSON.parse(r.stdout) as LabGraph;
    expect(g).to.include({ scenario: 'tutorial_lxc_ubuntu', backplane: 'vxlan' });
    expect(g.hosts.map((h) => h.name)).to.deep.equal(['host1', 'host2', 'host3']);
    expect(g.hosts.flatMap((h) => h.vms)).to.have.members(VMS);
    expect(g.nets).to.deep.equal([
      { name: 'Net0', spanning: { id: 1000, hosts: ['host1', 'host2', 'host3'] } },
      { name: 'Net1', spanning: { id: 1001, hosts: ['host1', 'host3'] } },
      { name: 'Net2', spanning: { id: 1002, hosts: ['host1', 'host2', 'host3'] } },
      { name: 'Net3', host: 'host3' },
    ]);
    // r1 (host3, round-robin) is the VM on the hostif's net Net3: the <host> section is on host3.
    const host3 = g.hosts.find((h) => h.name === 'host3')!;
    expect(host3.vms).to.include('r1');
    expect(host3.hostSection).to.deep.equal({ ifaces: [{ net: 'Net3', addresses: ['10.1.3.2/24', '2001:db8:3::2/64'] }] });
    expect(g.links).to.have.length(9);
    expect(g.links).to.deep.include({ vm: 'r1', iface: 3, net: 'Net3', addresses: ['10.1.3.1/24', '2001:db8:3::1/64'] });
    expect(existsSync(env.EDIV_STATE_DIR!)).to.equal(false, 'graphing creates no state');
  });

  it('--format dot (the default) on stdout, and --json is --format json', async () => {
    const r = await ediv(['graph', tutorial, '--local-hosts', '3']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^graph "tutorial_lxc_ubuntu" \{\n/);
    for (const h of ['host1', 'host2', 'host3']) expect(r.stdout).to.contain(`subgraph "cluster_${h}" {`);
    for (const vm of VMS) expect(r.stdout).to.contain(`"vm:${vm}" [label="${vm}"`);
    expect(r.stdout).to.contain('"net:Net0" [label="Net0 · vxlan 1000"').and.contain('"net:Net3@host3" [label="Net3"');
    const json = await ediv(['graph', tutorial, '--local-hosts', '3', '--json']);
    expect(JSON.parse(json.stdout).nets).to.have.length(4);
  });

  (existsSync(DOT) ? it : it.skip)(`--format svg runs graphviz: an <svg> with every VM${existsSync(DOT) ? '' : ` (SKIPPED: ${DOT} is absent)`}`, async () => {
    const out = path.join(dir, 'lab.svg');
    const r = await ediv(['graph', tutorial, '--local-hosts', '3', '--format', 'svg', '-o', out]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('', '-o writes the file, not stdout');
    const svg = readFileSync(out, 'utf8');
    expect(svg).to.match(/<svg[\s>]/).and.contain('</svg>');
    for (const vm of VMS) expect(svg).to.contain(`>${vm}</text>`);
    expect(svg).to.contain('Net0 · vxlan 1000');
  });

  it('--format svg without graphviz says so and exits 1', async () => {
    const r = await ediv(['graph', tutorial, '--format', 'svg'], { PATH: path.join(dir, 'no-such-bin') });
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.contain('svg needs graphviz (apt install graphviz); use --format dot');
  });

  describe('a deployed lab, from its record in the state store', () => {
    let plan: Plan;
    before(async () => {
      // What `ediv deploy` records, without deploying: the plan and the cluster, in the test's state dir.
      const cluster = emulatedCluster(3, path.join(dir, 'cluster'));
      const store = await openStateStore({ kind: 'sqlite', dir: env.EDIV_STATE_DIR! });
      try {
        const scenario = await parseScenarioFile(tutorial);
        plan = await store.createScenario({
          name: 'tut',
          user: currentUser(),
          sourcePath: tutorial,
          cluster,
          segmentator: 'round-robin',
          makePlan: (idsInUse) => makePlan({ scenario, cluster, idsInUse }),
        });
        await store.setScenarioStatus('tut', 'running');
      } finally {
        await store.close();
      }
    });

    it('graphs the recorded plan by its name (json, mermaid)', async () => {
      const r = await ediv(['graph', 'tut', '--json']);
      expect(r.exitCode, r.stderr).to.equal(0);
      const g = JSON.parse(r.stdout) as LabGraph;
      expect(g).to.deep.equal(graphOfPlan(plan));
      expect(g.nets.find((n) => n.name === 'Net0')!.spanning!.id).to.equal(1000);
      // --state names the state directory as the other commands' --state does
      const byOption = await ediv(['graph', 'tut', '--json', '--state', env.EDIV_STATE_DIR!], { EDIV_STATE_DIR: path.join(dir, 'elsewhere') });
      expect(byOption.exitCode, String(byOption.stderr)).to.equal(0);
      expect(JSON.parse(String(byOption.stdout))).to.deep.equal(g);
      const mm = await ediv(['graph', 'tut', '--format', 'mermaid']);
      expect(mm.exitCode, mm.stderr).to.equal(0);
      expect(mm.stdout).to.match(/^flowchart LR\n/).and.contain('subgraph host0["host1"]').and.contain('(["Net1 · vxlan 1001"])');
      for (const vm of VMS) expect(mm.stdout).to.contain(`["${vm}"]`);
    });

    it("a scenario file planned now skips the ids the recorded lab holds (as 'ediv plan')", async () => {
      const r = await ediv(['graph', tutorial, '--json']);
      expect(r.exitCode, r.stderr).to.equal(0);
      const ids = (JSON.parse(r.stdout) as LabGraph).nets.flatMap((n) => (n.spanning ? [n.spanning.id] : []));
      expect(ids).to.deep.equal([1003, 1004, 1005]);
    });

    it('neither a file nor a recorded lab: exit 2 naming both; plan options with a lab name: exit 2', async () => {
      const r = await ediv(['graph', 'nosuchlab']);
      expect(r.exitCode).to.equal(2);
      expect(r.stderr).to.contain('"nosuchlab" is neither a scenario file (no such file) nor a deployed lab').and.not.contain('    at ');
      const j = await ediv(['graph', 'nosuchlab', '--format', 'json']);
      expect(j.exitCode).to.equal(2);
      expect(JSON.parse(j.stdout)).to.include({ ok: false, code: 'invalid-input' });
      const opt = await ediv(['graph', 'tut', '--segmentator', 'mincut']);
      expect(opt.exitCode).to.equal(2);
      expect(opt.stderr).to.contain('--segmentator: plans a scenario file');
    });
  });
}, 'vnx/02-tutorial_lxc_ubuntu.xml');
