// The container driver on one host namespace (edivt-c1): each VM a machine of its own — its own
// root (copy-on-write over the host's), hostname, PID 1 and process tree, cgroup limits, reduced
// capabilities — and nothing left after destroy, even after a SIGKILL mid-apply.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { Journal } from '../../../src/host-agent/journal.ts';
import { detectCgroups, cgroupDirs } from '../../../src/host-agent/drivers/container/cgroups.ts';
import { initKey } from '../../../src/host-agent/drivers/container/index.ts';
import { initBinary, startMachines, type StartedMachine } from '../../../src/host-agent/drivers/container/machine.ts';
import { withMountTemplate } from '../../../src/host-agent/drivers/container/mount-template.ts';
import { processStart } from '../../../src/host-agent/sys.ts';
import { tagOf } from '../../../src/host-agent/store.ts';
import type { AgentExecResult, ApplyResult, LabFile, StatusResult, VmActionResult } from '../../../src/protocol/agent.ts';
import { addHostNs, bigFragment, isRoot, sh, linksIn, namespacesWith, removeNamespaces, runAgent, startAgent, tempDir, vnx } from './helpers.ts';

const HOST = 'edivt-c1';
const DEP = 'edivt-box';
const BIG = 'edivt-boxes';
const PROBE = '/etc/edivt-container-probe';

const fragment = vnx(
  DEP,
  ['N0'],
  `  <vm name="a" type="lxc" vcpu="1"><mem>64M</mem>
    <if id="1" net="N0"><ipv4>10.77.0.1/24</ipv4></if>
    <filetree seq="tree" root="/etc/edivt-conf">conf</filetree>
    <exec seq="probe" type="verbatim">echo written-in-a > ${PROBE}; cat ${PROBE}</exec>
    <exec seq="who" type="verbatim">hostname; ps -e -o pid=,comm=</exec>
    <exec seq="orphan" type="verbatim">sh -c 'sleep 300 &amp; echo $! > /tmp/orphan'; p=$(cat /tmp/orphan); echo parent=$(ps -o ppid= -p $p | tr -d ' '); kill $p; sleep 0.5; echo state=$(ps -o stat= -p $p | tr -d ' ')</exec>
    <exec seq="daemon" type="verbatim">sleep 1000 &amp; echo started</exec>
    <exec seq="caps" type="verbatim">grep CapBnd /proc/self/status</exec>
    <exec seq="ping" type="verbatim">ping -c1 -W3 10.77.0.2</exec>
    <exec seq="show-tree" type="verbatim">cat /etc/edivt-conf/greeting</exec>
    <exec seq="raw-disk" type="verbatim">mknod /tmp/disk b 254 0</exec>
    <exec seq="busy" type="verbatim">sh -c 'while :; do :; done' &gt;/dev/null 2&gt;&amp;1 &amp; echo $! &gt; /tmp/busy</exec>
    <exec seq="unbusy" type="verbatim">kill $(cat /tmp/busy)</exec>
  </vm>
  <vm name="b" type="lxc">
    <if id="1" net="N0"><ipv4>10.77.0.2/24</ipv4></if>
    <exec seq="probe" type="verbatim">cat ${PROBE} || echo absent-in-b</exec>
  </vm>`,
);

// The filetree's source (conf, with conf/greeting), carried by the apply request.
const labFiles: LabFile[] = [
  { path: 'lab/conf', type: 'dir', mode: 0o755 },
  { path: 'lab/conf/greeting', type: 'file', mode: 0o644, dataBase64: Buffer.from('hello from the lab\n').toString('base64') },
];

describe('integration: the container driver on one host namespace', function () {
  this.timeout(180_000);
  let stateDir: string;

  before(function () {
    if (!isRoot) {
      console.log('    (skipped: the agent integration tests need root)');
      this.skip();
    }
    removeNamespaces([HOST]);
    addHostNs(HOST);
    stateDir = tempDir('cstate');
  });

  after(async () => {
    if (!isRoot) return;
    // What a failed test left: the agent removes it all (cgroups and layers too), then by name.
    for (const deployment of [DEP, BIG]) await runAgent(HOST, 'destroy', { deployment, host: 'h1' }, stateDir);
    removeNamespaces([...namespacesWith(`${DEP}.`), ...namespacesWith(`${BIG}.`)]);
    removeNamespaces([HOST]);
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(PROBE, { force: true });
  });

  const journal = () => Journal.open(path.join(stateDir, 'deployments', DEP));
  const initOf = (vm: string) => journal().get(initKey(vm))!;
  const exec = async (seq: string, vms?: string[]) => {
    const r = await runAgent(HOST, 'exec', { deployment: DEP, host: 'h1', seq, ...(vms ? { vms } : {}) }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    return (r.result.result as AgentExecResult).vms;
  };
  const out = async (seq: string, vm: string) => (await exec(seq, [vm]))[0]!.commands.map((c) => c.stdout).join('');

  it('apply makes each VM a machine whose PID 1 is its init, without the capabilities it must not have', async () => {
    const r = await runAgent(HOST, 'apply', { deployment: DEP, host: 'h1', fragmentXml: fragment, files: labFiles, backplane: [], driver: 'container' }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    expect((r.result.result as ApplyResult).vms.map((v) => [v.name, v.state])).to.deep.equal([
      ['a', 'running'],
      ['b', 'running'],
    ]);
    for (const vm of ['a', 'b']) {
      const init = initOf(vm);
      expect(processStart(init.pid!)).to.equal(init.start);
      expect(fs.readFileSync(`/proc/${init.pid}/comm`, 'utf8').trim()).to.equal('.ediv-init');
      const capBnd = BigInt('0x' + /CapBnd:\s+([0-9a-f]+)/.exec(fs.readFileSync(`/proc/${init.pid}/status`, 'utf8'))![1]);
      expect((capBnd >> 16n) & 1n, 'CAP_SYS_MODULE').to.equal(0n);
      expect((capBnd >> 27n) & 1n, 'CAP_MKNOD').to.equal(0n);
      expect((capBnd >> 12n) & 1n, 'CAP_NET_ADMIN').to.equal(1n);
    }
  });

  it('a file written in one VM is absent from the other VM and from the host', async () => {
    expect(await out('probe', 'a')).to.equal('written-in-a\n');
    expect(await out('probe', 'b')).to.equal('absent-in-b\n');
    expect(fs.existsSync(PROBE)).to.equal(false);
  });

  it('hostname is the VM name, and ps lists only the VM’s own processes', async () => {
    const text = await out('who', 'a');
    const [hostname, ...procs] = text.trim().split('\n');
    expect(hostname).to.equal('a');
    const table = procs.map((l) => l.trim().split(/\s+/));
    expect(table[0]).to.deep.equal(['1', '.ediv-init']);
    expect(table.map((p) => p[1])).to.include.members(['sh', 'ps']);
    expect(table.length).to.be.below(8); // the host runs far more
  });

  it('PID 1 adopts and reaps orphans, as a machine’s init does', async () => {
    expect(await out('orphan', 'a')).to.equal('parent=1\nstate=\n');
  });

  it('filetrees are copied into the VM’s root, not the host’s', async () => {
    await exec('tree', ['a']);
    expect(await out('show-tree', 'a')).to.equal('hello from the lab\n');
    expect(fs.existsSync('/etc/edivt-conf')).to.equal(false);
  });

  it('the VMs reach each other over their net', async () => {
    const [a] = await exec('ping', ['a']);
    expect(a!.commands[0]!.exitCode, a!.commands[0]!.stdout + a!.commands[0]!.stderr).to.equal(0);
  });

  it('<mem> and vcpu are cgroup limits; module loading and device nodes are not granted', async () => {
    const layout = detectCgroups();
    const ns = namespacesWith(`${DEP}.a.`)[0]!;
    const [dir] = cgroupDirs(layout, ns);
    if (layout.version === 1) {
      expect(fs.readFileSync(`/sys/fs/cgroup/memory/ediv/${ns}/memory.limit_in_bytes`, 'utf8').trim()).to.equal(String(64 * 2 ** 20));
      expect(fs.readFileSync(`/sys/fs/cgroup/cpu/ediv/${ns}/cpu.cfs_quota_us`, 'utf8').trim()).to.equal('100000');
      expect(fs.readFileSync(`/sys/fs/cgroup/memory/ediv/${ns}/cgroup.procs`, 'utf8')).to.include(String(initOf('a').pid));
    } else if (layout.version === 2) {
      expect(fs.readFileSync(path.join(dir!, 'memory.max'), 'utf8').trim()).to.equal(String(64 * 2 ** 20));
      expect(fs.readFileSync(path.join(dir!, 'cpu.max'), 'utf8').trim()).to.equal('100000 100000');
    }
    const capBnd = BigInt('0x' + (await out('caps', 'a')).split(/\s+/)[1]);
    // A command run in the VM has exactly the bounding set of the VM's PID 1 (two ways of dropping, one set).
    expect(capBnd).to.equal(BigInt('0x' + /CapBnd:\s+([0-9a-f]+)/.exec(fs.readFileSync(`/proc/${initOf('a').pid}/status`, 'utf8'))![1]));
    const CAP_SYS_MODULE = 16n;
    const CAP_NET_ADMIN = 12n;
    expect((capBnd >> CAP_SYS_MODULE) & 1n).to.equal(0n);
    expect((capBnd >> CAP_NET_ADMIN) & 1n).to.equal(1n);
    const [raw] = await exec('raw-disk', ['a']);
    expect(raw!.commands[0]!.exitCode).to.not.equal(0);
  });

  it('status reports what each running VM uses (its cgroups)', async function () {
    if (detectCgroups().version === 0) this.skip();
    const r = await runAgent(HOST, 'status', { deployment: DEP, host: 'h1' }, stateDir);
    const vms = (r.result.result as StatusResult).deployments[0]!.vms;
    for (const v of vms) {
      expect(v.memMB, v.name).to.be.a('number').and.to.be.greaterThan(0);
      expect(v.cpuSeconds, v.name).to.be.a('number').and.to.be.at.least(0);
    }
    // a's execs ran in a's cgroup: it has used CPU time of its own
    expect(vms.find((v) => v.name === 'a')!.cpuSeconds).to.be.greaterThan(0);
  });

  it("status with a CPU sample: a busy VM uses its one vcpu, an idle one nothing; the host's CPUs and memory", async function () {
    if (detectCgroups().version === 0) this.skip();
    const [busy] = await exec('busy', ['a']);
    expect(busy!.commands[0]!.exitCode).to.equal(0);
    try {
      const r = await runAgent(HOST, 'status', { deployment: DEP, host: 'h1', sampleMs: 1000 }, stateDir);
      const res = r.result.result as StatusResult;
      const vm = (name: string) => res.deployments[0]!.vms.find((v) => v.name === name)!;
      // a's cgroup caps it at one CPU (vcpu="1"); this machine has more than one.
      expect(vm('a').cpuPercent, 'a spins').to.be.within(60, 105);
      expect(vm('b').cpuPercent, 'b idles').to.be.below(10);
      expect(res.host!.cpus).to.be.greaterThan(0);
      expect(res.host!.memAvailableMB).to.be.greaterThan(0).and.at.most(res.host!.memTotalMB);
    } finally {
      await exec('unbusy', ['a']);
    }
    const after = await runAgent(HOST, 'status', { deployment: DEP, host: 'h1', sampleMs: 500 }, stateDir);
    expect((after.result.result as StatusResult).deployments[0]!.vms.find((v) => v.name === 'a')!.cpuPercent, 'a idles again').to.be.below(10);
  });

  it('stop ends the machine; start boots it again with its files kept', async () => {
    const before = initOf('a').pid!;
    let r = await runAgent(HOST, 'status', { deployment: DEP, host: 'h1' }, stateDir);
    expect((r.result.result as StatusResult).deployments[0]!.vms.find((v) => v.name === 'a')!.state).to.equal('running');
    const vmAction = async (_dir: string, deployment: string, vm: string, action: string) => {
      const res = await runAgent(HOST, 'vm', { deployment, host: 'h1', action, vms: [vm] }, stateDir);
      expect(res.code, JSON.stringify(res.result)).to.equal(0);
      return (res.result.result as VmActionResult).vms[0]!;
    };
    expect(await vmAction(stateDir, DEP, 'a', 'stop')).to.deep.include({ state: 'stopped' });
    expect(processStart(before)).to.equal(undefined);
    r = await runAgent(HOST, 'status', { deployment: DEP, host: 'h1' }, stateDir);
    expect((r.result.result as StatusResult).deployments[0]!.vms.find((v) => v.name === 'a')!.state).to.equal('stopped');
    expect(await vmAction(stateDir, DEP, 'a', 'start')).to.deep.include({ state: 'running' });
    expect(initOf('a').pid).to.not.equal(before);
    expect(await out('show-tree', 'a')).to.equal('hello from the lab\n');
  });

  it('a machine that cannot start is named with why; the others of its batch start', async () => {
    const ok = 'edivt-c1-ok';
    removeNamespaces([ok]);
    sh('ip', ['netns', 'add', ok]);
    const dir = tempDir('launch');
    let started: Map<string, StartedMachine> | undefined;
    try {
      const machine = (name: string, netns: string) => ({ name, netns, dir: path.join(dir, name), spec: { hostname: name, lower: '/' }, cgroupProcs: [] });
      const r = await withMountTemplate((t) =>
        startMachines({ machines: [machine('good', ok), machine('bad', 'edivt-c1-missing')], init: initBinary()!, stateDir: dir, mountNs: t.nsPath }),
      );
      started = r.started;
      expect([...r.started.keys()]).to.deep.equal(['good']);
      expect(r.failed.get('bad')).to.match(/joining \/run\/netns\/edivt-c1-missing: No such file/);
      const pid = r.started.get('good')!.pid;
      expect(fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).to.equal('.ediv-init');
      expect(sh('nsenter', ['-t', String(pid), '-u', 'hostname']).trim()).to.equal('good');
    } finally {
      for (const m of started?.values() ?? []) process.kill(m.pid, 'SIGKILL');
      removeNamespaces([ok]);
      for (let i = 0; i < 50 && [...(started?.values() ?? [])].some((m) => processStart(m.pid) !== undefined); i++) await new Promise((res) => setTimeout(res, 20));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('destroy ends every process of the VMs and leaves no namespace, link, mount, cgroup or directory', async () => {
    await exec('daemon', ['a']);
    const inits = ['a', 'b'].map((vm) => initOf(vm).pid!);
    const namespaces = namespacesWith(`${DEP}.`);
    const cgroups = namespaces.flatMap((ns) => cgroupDirs(detectCgroups(), ns));
    const vmDirs = path.join(stateDir, 'deployments', DEP);
    const r = await runAgent(HOST, 'destroy', { deployment: DEP, host: 'h1' }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    for (const pid of inits) expect(processStart(pid)).to.equal(undefined);
    expect(namespacesWith(`${DEP}.`)).to.deep.equal([]);
    expect(linksIn(HOST)).to.deep.equal([]);
    for (const c of cgroups) expect(fs.existsSync(c), c).to.equal(false);
    expect(fs.existsSync(vmDirs)).to.equal(false);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).to.not.include(stateDir);
  });

  it('destroy after the agent is killed (SIGKILL) in the middle of a container apply leaves nothing', async () => {
    const fragmentXml = bigFragment(BIG, 60);
    const agent = startAgent(HOST, 'apply', { deployment: BIG, host: 'h1', fragmentXml, backplane: [], driver: 'container' }, stateDir);
    const journalFile = path.join(stateDir, 'deployments', BIG, 'journal.jsonl');
    const inits = () => (fs.existsSync(journalFile) ? Journal.open(path.dirname(journalFile)).resources().filter((x) => x.kind === 'process' && x.pid) : []);
    for (let i = 0; i < 4000 && inits().length < 5; i++) await new Promise((res) => setTimeout(res, 5));
    process.kill(agent.child.pid!, 'SIGKILL');
    const killed = await agent.done;
    expect(killed.lines.some((l) => l.type === 'result')).to.equal(false);
    const started = inits().map((x) => x.pid!);
    expect(started.length).to.be.greaterThan(0);
    const r = await runAgent(HOST, 'destroy', { deployment: BIG, host: 'h1' }, stateDir);
    expect(r.code, JSON.stringify(r.result)).to.equal(0);
    for (const pid of started) expect(processStart(pid)).to.equal(undefined);
    expect(namespacesWith(`${BIG}.`)).to.deep.equal([]);
    expect(linksIn(HOST)).to.deep.equal([]);
    expect(fs.existsSync(path.dirname(journalFile))).to.equal(false);
    const leftCgroups = Array.from({ length: 60 }, (_, i) => cgroupDirs(detectCgroups(), `${BIG}.v${i}.${tagOf(stateDir)}`)).flat();
    expect(leftCgroups.filter((c) => fs.existsSync(c))).to.deep.equal([]);
  });
});
