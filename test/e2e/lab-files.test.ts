// End to end: the lab's files travel with the lab. The controller runs in its own mount
// namespace with the lab on a private tmpfs that the emulated hosts (instance 23, 2 hosts) cannot
// see; `ediv deploy` sends each host the files its fragment names, and the filetrees and exec
// files work on both hosts. A lab naming a missing file is refused (exit 2) before any host is
// touched. Everything is removed by exact name: the deployment through `ediv undeploy`, the
// cluster by the fixture, the lab's mount point and staging directory by path.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edivBin } from '../../src/common/paths.ts';
import { useEmulatedCluster } from '../helpers/emulated.ts';
import { ediv, recordedIds, setAgentStateDirs, vmNamespaces, type CliResult } from './helpers.ts';

const INSTANCE = 23;
const NAME = 'edive2e-labfiles';

const LAB: Record<string, string> = {
  'lab.xml': `<?xml version="1.0" encoding="UTF-8"?>
<vnx>
  <global><version>2.0</version><scenario_name>${NAME}</scenario_name></global>
  <net name="N0" mode="virtual_bridge"/>
  <vm name="a" type="lxc">
    <if id="1" net="N0"><ipv4>10.252.0.1/24</ipv4></if>
    <filetree seq="start" root="/etc/edive2e">conf/a/*</filetree>
    <exec seq="start" type="file">scripts/show.sh</exec>
  </vm>
  <vm name="b" type="lxc">
    <if id="1" net="N0"><ipv4>10.252.0.2/24</ipv4></if>
    <filetree seq="start" root="/etc/edive2e">conf/b</filetree>
    <exec seq="start" type="file">./scripts/show.sh</exec>
  </vm>
</vnx>
`,
  'scripts/show.sh': 'cat /etc/edive2e/index.html /etc/edive2e/sub/note; hostname\n',
  'conf/a/index.html': 'page of a\n',
  'conf/a/sub/note': 'note of a\n',
  'conf/b/index.html': 'page of b\n',
  'conf/b/sub/note': 'note of b\n',
};

describe('e2e: lab files travel with the lab (controller on a private tmpfs)', function () {
  this.timeout(180_000);
  let work: string;
  let state: string;
  const ec = useEmulatedCluster({ instance: INSTANCE, hosts: 2, timeoutMs: 120_000 });

  before(function () {
    work = mkdtempSync(path.join(os.tmpdir(), 'ediv23-labfiles-'));
    state = path.join(work, 'state');
    setAgentStateDirs(ec.cluster.hosts.map((h) => h.agentStateDir!));
  });

  afterEach(async function () {
    this.timeout(120_000);
    for (const name of Object.keys((await recordedIds(state)))) await ediv(['undeploy', name, '--purge', '--state', state]);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /**
   * Runs `ediv deploy <lab>/lab.xml ...` in a new mount namespace where <lab> is a private tmpfs
   * holding `files`: they are written to a staging directory, copied onto the tmpfs inside the
   * namespace, and the staging directory removed before the deploy starts. Outside (where the
   * hosts' agents run) <lab> is an empty directory.
   */
  async function deployFromPrivateLab(files: Record<string, string>, label: string): Promise<{ res: CliResult; lab: string }> {
    const lab = path.join(work, `${label}-lab`);
    const staging = path.join(work, `${label}-staging`);
    mkdirSync(lab);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(staging, rel)), { recursive: true });
      writeFileSync(path.join(staging, rel), text);
    }
    const script = 'set -e; mount -t tmpfs -o mode=0755 edive2e-lab "$1"; cp -R "$2"/. "$1"/; rm -rf "$2"; shift 2; exec "$@"';
    const args = ['deploy', path.join(lab, 'lab.xml'), '--cluster', ec.clusterFile, '--state', state, '--segmentator', 'round-robin', '--json'];
    try {
      const r = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', lab, staging, process.execPath, edivBin, ...args], {
        reject: false,
        timeout: 300_000,
      });
      const res: CliResult = { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
      try {
        res.json = JSON.parse(res.stdout);
      } catch {
        // left undefined: the assertion reports stdout
      }
      return { res, lab };
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }

  it('filetrees and exec files work on both hosts though neither can see the lab', async () => {
    const { res: dep, lab } = await deployFromPrivateLab(LAB, 'ok');
    expect(dep.code, dep.stderr + dep.stdout).to.equal(0);
    expect(readdirSync(lab), 'outside the controller’s namespace the lab directory is empty').to.deep.equal([]);
    expect(existsSync(path.join(work, 'ok-staging'))).to.equal(false);
    const where = Object.fromEntries((dep.json.mapping as { vm: string; host: string }[]).map((m) => [m.vm, m.host]));
    expect(where).to.deep.equal({ a: 'host1', b: 'host2' });

    const ex = await ediv(['exec', NAME, 'start', '--state', state, '--json']);
    expect(ex.code, JSON.stringify(ex.json ?? ex.stderr)).to.equal(0);
    const out = (ex.json.vms as { vm: string; host: string; commands: { command: string; stdout: string; exitCode: number }[] }[]).map((v) => [
      v.vm,
      v.host,
      v.commands.map((c) => c.exitCode),
      v.commands[1]?.stdout,
    ]);
    expect(out).to.deep.equal([
      ['a', 'host1', [0, 0], 'page of a\nnote of a\na\n'],
      ['b', 'host2', [0, 0], 'page of b\nnote of b\nb\n'],
    ]);

    const un = await ediv(['undeploy', NAME, '--state', state, '--json']);
    expect(un.code, un.stderr).to.equal(0);
    expect(await vmNamespaces(NAME)).to.deep.equal([]);
    for (const h of ec.cluster.hosts) {
      expect(existsSync(path.join(h.agentStateDir!, 'deployments', NAME)), `${h.name}: the deployment's files are gone`).to.equal(false);
    }
    expect((await recordedIds(state))).to.deep.equal({});
  });

  it('a lab naming a missing file is bad input at its line (exit 2); nothing is recorded or touched', async () => {
    const files = { ...LAB };
    delete files['scripts/show.sh'];
    const { res: dep } = await deployFromPrivateLab(files, 'missing');
    expect(dep.code, dep.stderr + dep.stdout).to.equal(2);
    expect(dep.json.error).to.equal('invalid-input');
    const problems = dep.json.problems as { line: number; message: string }[];
    const lines = LAB['lab.xml']!.split('\n');
    expect(problems.map((p) => p.line)).to.deep.equal([
      lines.findIndex((l) => l.includes('>scripts/show.sh<')) + 1,
      lines.findIndex((l) => l.includes('>./scripts/show.sh<')) + 1,
    ]);
    expect(problems[0]!.message).to.match(/VM a: exec file "scripts\/show\.sh": .*scripts\/show\.sh does not exist/);
    expect((await recordedIds(state))).to.deep.equal({});
    expect(await vmNamespaces(NAME)).to.deep.equal([]);
    for (const h of ec.cluster.hosts) expect(existsSync(path.join(h.agentStateDir!, 'deployments', NAME))).to.equal(false);
  });
});
