// Orchestration logic (rollback, keep-on-failure, exclusion, interrupt, undeploy retries) with a
// fake in-memory transport. The real transport and agents are exercised by test/e2e.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AlreadyDeployedError, CommandFailedError, HostFailedError, HostUnreachableError, InputError, InterruptedError, OperationError } from '../../../src/common/errors.ts';
import type { AgentOp, ApplyRequest, ProgressEvent } from '../../../src/protocol/agent.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import { deploy, deployScenario, type DeployFailure, type DeployReport, type Planner } from '../../../src/controller/deploy.ts';
import { execScenario } from '../../../src/controller/exec.ts';
import type { Plan } from '../../../src/protocol/plan.ts';
import { silentProgress } from '../../../src/controller/progress.ts';
import { HostSessions, type AgentChannel } from '../../../src/controller/sessions.ts';
import { openStateStore } from '../../../src/state/open.ts';
import type { StateStore } from '../../../src/state/store.ts';
import { undeployScenario } from '../../../src/controller/undeploy.ts';
import type { Scenario } from '../../../src/scenario/model.ts';
import { testCluster } from '../../helpers/test-cluster.ts';

const extra = () => ({ attrs: {}, children: [] });

function scenario(name: string, vms: string[]): Scenario {
  return {
    name,
    global: { version: '2.0', extra: extra() },
    nets: [{ name: 'Net0', mode: 'virtual_bridge', extra: extra() }],
    vms: vms.map((v) => ({
      name: v,
      ifaces: [{ id: 1, net: 'Net0', ipv4: [], ipv6: [], extra: extra() }],
      routes: [],
      execs: [{ seq: `hello-${v}`, type: 'verbatim' as const, text: 'echo hi' }, { seq: 'all', type: 'verbatim' as const, text: 'true' }],
      filetrees: [],
      extra: extra(),
    })),
    cmdSeqs: new Map([['both', ['hello-a', 'hello-b']]]),
    source: { format: 'vnx', path: `${name}.xml`, version: '2.0' },
    extra: extra(),
  };
}

const cluster = testCluster;

/** Round-robin over the active hosts; one spanning net when more than one host is used. */
const planner: Planner = async ({ scenario: s, hosts, idsInUse }) => {
  const names = hosts!.map((h) => h.name);
  const mapping: Record<string, string> = {};
  s.vms.forEach((vm, i) => (mapping[vm.name] = names[i % names.length]!));
  const used = [...new Set(Object.values(mapping))].sort();
  let id = 1000;
  while (idsInUse?.has(id)) id++;
  const plan: Plan = {
    scenario: s.name, segmentator: 'round-robin', backplane: 'vxlan', mapping,
    spanning: used.length > 1 ? [{ net: 'Net0', id, hosts: used }] : [],
    hosts: {},
    quality: { spanningNets: used.length > 1 ? 1 : 0, crossHostAttachments: used.length - 1, imbalance: 0 },
  };
  for (const h of used) {
    const vms = Object.keys(mapping).filter((v) => mapping[v] === h);
    plan.hosts[h] = {
      host: h, vms, fragmentName: `${s.name}_${h}`, fragmentXml: '<vnx/>',
      fragment: { ...s, name: `${s.name}_${h}`, vms: s.vms.filter((v) => vms.includes(v.name)) }, backplane: [],
    };
  }
  return plan;
};

/**
 * In-memory hosts: what each "made", and switches to make connect/apply/destroy fail. The hosts
 * know a lab by its deployment key (`<name>.<uid>`); the log and leftovers name the recorded lab
 * whose key a request carried (resolved when the request arrives), or `?<key>` when no
 * recorded lab has it.
 */
class FakeCluster {
  made = new Map<string, Map<string, string>>(); // host -> deployment key present -> lab it is the key of
  log: string[] = [];
  down = new Set<string>();
  failApply = new Set<string>();
  failDestroy = new Set<string>();
  applyDelayMs = 0;
  /** Warnings the agent of a host sends as progress during its apply. */
  applyWarnings = new Map<string, string>();
  connections = 0;
  onApply?: (host: string) => void;

  /** The name of the recorded lab whose deployment key is `key`. */
  private readonly labOf: (key: string) => Promise<string | undefined>;

  constructor(labOf: (key: string) => Promise<string | undefined>) {
    this.labOf = labOf;
  }

  connector = async (h: ClusterHost): Promise<AgentChannel> => {
    this.connections++;
    if (this.down.has(h.name)) throw new Error(`connect ECONNREFUSED ${h.address}:22`);
    return {
      runAgent: async <T>(op: string, req: unknown, onProgress?: (e: ProgressEvent) => void): Promise<T> => {
        const r = req as { deployment: string; host: string; vms?: string[]; seq?: string };
        const lab = r?.deployment ? ((await this.labOf(r.deployment)) ?? `?${r.deployment}`) : undefined;
        this.log.push(`${op} ${h.name}${lab ? ' ' + lab : ''}`);
        const set = this.made.get(h.name) ?? new Map<string, string>();
        this.made.set(h.name, set);
        if (op === 'facts') return { version: '0.1.0', hostname: h.name, cpus: 2, memMB: 1000, loadAvg: [0, 0, 0], root: true, capabilities: { netns: true, bridge: true, veth: true, vxlan: true, vlan8021q: false }, drivers: ['netns'] } as T;
        if (op === 'apply') {
          this.onApply?.(h.name);
          const warning = this.applyWarnings.get(h.name);
          if (warning) onProgress?.({ type: 'progress', step: 'warning', message: warning });
          set.set(r.deployment, lab!); // the agent journals and makes things before it can fail
          if (this.applyDelayMs) await new Promise((res) => setTimeout(res, this.applyDelayMs));
          if (this.failApply.has(h.name)) throw new OperationError(`${h.name}: link ediv-Net0 already exists`, { host: h.name });
          return { deployment: r.deployment, vms: [], links: [] } as T;
        }
        if (op === 'destroy') {
          if (this.failDestroy.has(h.name)) throw new Error('connection lost');
          set.delete(r.deployment);
          return { deployment: r.deployment, removed: ['x'] } as T;
        }
        if (op === 'exec') {
          return { deployment: r.deployment, seq: r.seq, vms: (r.vms ?? []).map((name) => ({ name, commands: [{ command: 'echo hi', stdout: `hi from ${name}\n`, stderr: '', exitCode: name === 'c' ? 3 : 0 }] })) } as T;
        }
        throw new Error(`unexpected op ${op}`);
      },
      close: () => {},
    };
  };

  leftovers(): string[] {
    return [...this.made].flatMap(([h, s]) => [...s.values()].map((lab) => `${h}:${lab}`));
  }
}

describe('controller orchestration (fake transport)', () => {
  let dir: string;
  let store: StateStore;
  let fake: FakeCluster;
  const deps = () => ({ store, user: 'tester', sessions: new HostSessions(fake.connector), makePlan: planner, progress: silentProgress, version: '0.1.0' });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-orch-'));
    store = await openStateStore({ kind: 'sqlite', dir });
    fake = new FakeCluster(async (key) => (await store.listScenarios()).find((r) => r.key === key)?.name);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deploys on every host, one connection per host, and records the scenario running', async () => {
    const rep = await deployScenario({ scenario: scenario('lab', ['a', 'b', 'c']), scenarioPath: 'lab.xml', cluster: cluster(3) }, deps());
    expect(rep.mapping).to.deep.equal([{ vm: 'a', host: 'host1' }, { vm: 'b', host: 'host2' }, { vm: 'c', host: 'host3' }]);
    expect(fake.connections).to.equal(3);
    expect(fake.leftovers().sort()).to.deep.equal(['host1:lab', 'host2:lab', 'host3:lab']);
    expect((await store.getScenario('lab'))!.status).to.equal('running');
    expect((await store.hosts('lab')).map((h) => h.status)).to.deep.equal(['applied', 'applied', 'applied']);
    expect((await store.vms('lab')).every((v) => v.status === 'running')).to.equal(true);
    expect((await store.ids('lab')).map((i) => i.id)).to.deep.equal([1000]);
  });

  it('refuses to deploy the same name twice without touching any host', async () => {
    await deployScenario({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2) }, deps());
    fake.log = [];
    const err = await deployScenario({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2) }, deps()).catch((e: unknown) => e);
    expect((err as Error).message).to.match(/already recorded/);
    expect(fake.log).to.deep.equal([]);
  });

  it('on an apply failure destroys on every host that was sent an apply (the failed one too) and frees the ids', async () => {
    fake.failApply.add('host2');
    const err = (await deployScenario({ scenario: scenario('lab', ['a', 'b', 'c']), scenarioPath: 'lab.xml', cluster: cluster(3) }, deps()).catch((e: unknown) => e)) as OperationError;
    expect(err).to.be.instanceOf(OperationError);
    expect(err.message).to.match(/failed on host2: .*already exists/);
    expect(err.message).to.match(/rolled back/);
    expect(err.host).to.equal('host2');
    expect(fake.leftovers()).to.deep.equal([]);
    expect(fake.log.filter((l) => l.startsWith('destroy')).sort()).to.deep.equal(['destroy host1 lab', 'destroy host2 lab', 'destroy host3 lab']);
    expect(await store.getScenario('lab')).to.equal(undefined);
    expect((await store.idsInUse('vxlan')).size).to.equal(0);
  });

  it('with keepOnFailure leaves everything, recorded as failed, and undeploy then removes it', async () => {
    fake.failApply.add('host1');
    const err = (await deployScenario({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2), keepOnFailure: true }, deps()).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/failed on host1/);
    expect(fake.leftovers().sort()).to.deep.equal(['host1:lab', 'host2:lab']);
    expect((await store.getScenario('lab'))!.status).to.equal('failed');
    expect((await store.hosts('lab')).map((h) => h.status)).to.deep.equal(['failed', 'applied']);
    const rep = await undeployScenario({ name: 'lab' }, deps());
    expect(rep.record).to.equal('removed');
    expect(rep.freedIds).to.deep.equal([1000]);
    expect(fake.leftovers()).to.deep.equal([]);
  });

  it('excludes an unreachable host at facts time with a warning and plans over the others', async () => {
    fake.down.add('host2');
    const rep = await deployScenario({ scenario: scenario('lab', ['a', 'b', 'c']), scenarioPath: 'lab.xml', cluster: cluster(3) }, deps());
    expect(rep.excludedHosts.map((e) => e.host)).to.deep.equal(['host2']);
    expect(rep.warnings.map((w) => w.message).join('\n')).to.match(/host2 excluded/);
    expect(new Set(rep.mapping.map((m) => m.host))).to.deep.equal(new Set(['host1', 'host3']));
  });

  it('a host’s warnings during its apply are in the deploy report, naming the host', async () => {
    fake.applyWarnings.set('host2', 'net N0: delay not applied (no netem in this kernel)');
    const shown: string[] = [];
    const progress = { ...silentProgress, warn: (m: string) => void shown.push(m) };
    const rep = await deployScenario({ scenario: scenario('lab', ['a', 'b', 'c']), scenarioPath: 'lab.xml', cluster: cluster(3) }, { ...deps(), progress });
    const expected = 'host2: net N0: delay not applied (no netem in this kernel)';
    expect(rep.warnings).to.deep.include({ feature: 'deploy', message: expected });
    expect(shown).to.deep.equal([expected]);
  });

  it('a copy of a lab whose <host> section gives the host the same address is refused before any host is touched', async () => {
    const withHost = (name: string): Scenario => ({
      ...scenario(name, ['a', 'b']),
      host: { ifaces: [{ net: 'Net0', ipv4: [{ address: '10.0.0.1', prefix: 24 }], ipv6: [], extra: extra() }], routes: [], execs: [], extra: extra() },
    });
    await deployScenario({ scenario: withHost('course-a'), scenarioPath: 'lab.xml', cluster: cluster(2) }, deps());
    fake.log = [];
    const err = (await deployScenario({ scenario: withHost('course-b'), scenarioPath: 'lab.xml', cluster: cluster(2) }, deps()).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/cannot deploy course-b: lab course-a already gives the host the <host> address\(es\) 10\.0\.0\.1/);
    expect(fake.log).to.deep.equal([]);
    expect(await store.getScenario('course-b')).to.equal(undefined);
  });

  it('an interrupt during apply rolls back everything once the in-flight applies return', async () => {
    const ac = new AbortController();
    fake.applyDelayMs = 30;
    fake.onApply = () => ac.abort();
    const err = (await deployScenario({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2), signal: ac.signal }, deps()).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/interrupted/);
    expect(fake.leftovers()).to.deep.equal([]);
    expect(await store.listScenarios()).to.deep.equal([]);
  });

  it('a rollback that cannot reach a host keeps the record so undeploy can finish the job', async () => {
    fake.failApply.add('host1');
    fake.failDestroy.add('host2');
    const err = (await deployScenario({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2) }, deps()).catch((e: unknown) => e)) as Error;
    expect(err.message).to.match(/rollback incomplete on host2/);
    expect((await store.getScenario('lab'))!.status).to.equal('failed');
    expect((await store.hosts('lab')).map((h) => [h.host, h.status])).to.deep.equal([['host1', 'destroyed'], ['host2', 'applied']]);
    fake.failDestroy.clear();
    fake.log = [];
    const rep = await undeployScenario({ name: 'lab' }, deps());
    expect(fake.log.filter((l) => l.startsWith('destroy'))).to.deep.equal(['destroy host2 lab']);
    expect(rep.record).to.equal('removed');
    expect(fake.leftovers()).to.deep.equal([]);
  });

  it('undeploy keeps the record when a host does not answer, and --purge forgets it', async () => {
    await deployScenario({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2) }, deps());
    fake.down.add('host2');
    const rep = await undeployScenario({ name: 'lab' }, deps());
    expect(rep.ok).to.equal(false);
    expect(rep.record).to.equal('kept');
    expect(rep.failedHosts.map((f) => f.host)).to.deep.equal(['host2']);
    expect(await store.ids('lab')).to.have.length(1);
    const again = await undeployScenario({ name: 'lab', purge: true }, deps());
    expect(again.record).to.equal('purged');
    expect(await store.getScenario('lab')).to.equal(undefined);
    expect((await store.idsInUse('vxlan')).size).to.equal(0);
  });

  it('two scenarios get distinct ids', async () => {
    await deployScenario({ scenario: scenario('one', ['a', 'b']), scenarioPath: 'one.xml', cluster: cluster(2) }, deps());
    await deployScenario({ scenario: scenario('two', ['a', 'b']), scenarioPath: 'two.xml', cluster: cluster(2) }, deps());
    expect((await store.ids('one')).map((i) => i.id)).to.deep.equal([1000]);
    expect((await store.ids('two')).map((i) => i.id)).to.deep.equal([1001]);
  });

  it('exec runs a sequence only on hosts whose fragment has it, expanding cmd-seq, and reports failures', async () => {
    await deployScenario({ scenario: scenario('lab', ['a', 'b', 'c']), scenarioPath: 'lab.xml', cluster: cluster(3) }, deps());
    fake.log = [];
    const one = await execScenario({ name: 'lab', seq: 'hello-b' }, deps());
    expect(fake.log).to.deep.equal(['exec host2 lab']);
    expect(one.ok).to.equal(true);
    expect(one.vms).to.deep.equal([{ vm: 'b', host: 'host2', commands: [{ command: 'echo hi', stdout: 'hi from b\n', stderr: '', exitCode: 0 }] }]);
    fake.log = [];
    const both = await execScenario({ name: 'lab', seq: 'both' }, deps());
    expect(fake.log.sort()).to.deep.equal(['exec host1 lab', 'exec host2 lab']);
    expect(both.vms.map((v) => v.vm)).to.deep.equal(['a', 'b']);
    const all = await execScenario({ name: 'lab', seq: 'all' }, deps());
    expect(all.ok).to.equal(false); // c's command exits 3
    const err = await execScenario({ name: 'lab', seq: 'nope' }, deps()).catch((e: unknown) => e);
    expect((err as Error).message).to.match(/not defined.*known: all, both, hello-a/);
  });

  /** The report of a deploy expected to fail. */
  const failure = (r: DeployReport): DeployFailure => {
    expect(r.ok, 'the deploy was expected to fail').to.equal(false);
    return r as DeployFailure;
  };

  it('deploy() reports a failure (ok: false) with the typed error; each host failure carries its code', async () => {
    fake.failApply.add('host2');
    const rep = failure(await deploy({ scenario: scenario('lab', ['a', 'b', 'c']), scenarioPath: 'lab.xml', cluster: cluster(3) }, deps()));
    expect(rep.outcome).to.equal('rolled-back');
    expect(rep.error).to.be.instanceOf(HostFailedError);
    expect(rep.error.code).to.equal('host-failed');
    expect(rep.error.host).to.equal('host2');
    expect(rep.error.message).to.match(/failed on host2: .*already exists/).and.match(/rolled back/);
    expect(rep.error.details).to.deep.include({ rolledBack: true, scenario: 'lab' });
    expect(rep.failedHosts).to.deep.equal([{ host: 'host2', error: 'host2: link ediv-Net0 already exists', code: 'operation-failed' }]);
    expect(rep.leftovers).to.deep.equal([]);
    expect(fake.leftovers()).to.deep.equal([]);
  });

  it('deploy() with keepOnFailure, or a rollback that cannot finish, says so in the outcome', async () => {
    fake.failApply.add('host1');
    const kept = failure(await deploy({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2), keepOnFailure: true }, deps()));
    expect(kept.outcome).to.equal('kept');
    await undeployScenario({ name: 'lab' }, deps());
    fake.failDestroy.add('host2');
    const incomplete = failure(await deploy({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2) }, deps()));
    expect(incomplete.outcome).to.equal('rollback-incomplete');
    expect(incomplete.leftovers.map((l) => l.host)).to.deep.equal(['host2']);
  });

  it('an interrupt ends the deploy with an InterruptedError (no text matching), after the rollback', async () => {
    const ac = new AbortController();
    fake.onApply = () => ac.abort();
    const rep = failure(await deploy({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2), signal: ac.signal }, deps()));
    expect(rep.error).to.be.instanceOf(InterruptedError);
    expect(rep.error.code).to.equal('interrupted');
    expect(rep.outcome).to.equal('rolled-back');
    expect(fake.leftovers()).to.deep.equal([]);
  });

  it('refusals before any host is touched are reports too, with their own error kinds', async () => {
    await deployScenario({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2) }, deps());
    fake.log = [];
    const again = failure(await deploy({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2) }, deps()));
    expect(again.error).to.be.instanceOf(AlreadyDeployedError);
    expect(again.error.details).to.deep.include({ reason: 'already-deployed' });
    expect(again.outcome).to.equal('untouched');
    expect(fake.log).to.deep.equal([]);
    fake.down.add('host2');
    const pinned = failure(await deploy({ scenario: scenario('other', ['a', 'b']), scenarioPath: 'o.xml', cluster: cluster(2), hosts: ['host2'] }, deps()));
    expect(pinned.error).to.be.instanceOf(HostUnreachableError);
    expect(pinned.error.host).to.equal('host2');
    expect(pinned.excludedHosts.map((e) => e.host)).to.deep.equal(['host2']);
    expect(await store.getScenario('other')).to.equal(undefined);
  });

  it('exec: a failed command makes a CommandFailedError, a failed host a HostFailedError', async () => {
    await deployScenario({ scenario: scenario('lab', ['a', 'b', 'c']), scenarioPath: 'lab.xml', cluster: cluster(3) }, deps());
    const all = await execScenario({ name: 'lab', seq: 'all' }, deps());
    expect(all.error).to.be.instanceOf(CommandFailedError);
    expect(all.error!.message).to.equal('exec all: 1 command(s) failed (in c)');
    expect((await execScenario({ name: 'lab', seq: 'hello-a' }, deps())).error).to.equal(undefined);
    fake.down.add('host1');
    const down = await execScenario({ name: 'lab', seq: 'hello-a' }, deps());
    expect(down.ok).to.equal(false);
    expect(down.error).to.be.instanceOf(HostFailedError);
    expect(down.error!.host).to.equal('host1');
  });

  it('undeploy that leaves a host behind carries a HostFailedError whose details are the report', async () => {
    await deployScenario({ scenario: scenario('lab', ['a', 'b']), scenarioPath: 'lab.xml', cluster: cluster(2) }, deps());
    fake.down.add('host2');
    const rep = await undeployScenario({ name: 'lab' }, deps());
    expect(rep.error).to.be.instanceOf(HostFailedError);
    expect(rep.error!.host).to.equal('host2');
    expect(rep.error!.message).to.match(/undeploy of lab failed on 1 host\(s\):\n {2}host2: .*\nthe record is kept/);
    expect(rep.error!.details).to.deep.include({ record: 'kept', scenario: 'lab' });
    expect((await undeployScenario({ name: 'lab', purge: true }, deps())).error!.message).to.match(/the record was purged/);
  });

  it('lab files: each host is sent the files its VMs name; a missing one is bad input before any host is contacted', async () => {
    const lab = path.join(dir, 'lab');
    mkdirSync(path.join(lab, 'conf/b'), { recursive: true });
    writeFileSync(path.join(lab, 'start-a.sh'), 'echo a\n');
    writeFileSync(path.join(lab, 'conf/b/index.html'), 'b\n');
    const s = scenario('lab', ['a', 'b']);
    s.vms[0]!.execs.push({ seq: 'start', type: 'file', text: 'start-a.sh', loc: { file: 'lab.xml', line: 7 } });
    s.vms[1]!.filetrees.push({ seq: 'start', root: '/srv', source: 'conf/b', loc: { file: 'lab.xml', line: 12 } });
    const sent: Record<string, string[]> = {};
    const sessions = new HostSessions(async (h) => {
      const ch = await fake.connector(h);
      return {
        ...ch,
        runAgent: <T>(op: AgentOp, req: unknown, onProgress?: (e: ProgressEvent) => void): Promise<T> => {
          if (op === 'apply') sent[h.name] = ((req as ApplyRequest).files ?? []).map((f) => f.path);
          return ch.runAgent<T>(op, req, onProgress);
        },
      };
    });
    const scenarioPath = path.join(lab, 'lab.xml');
    await deployScenario({ scenario: s, scenarioPath, cluster: cluster(2) }, { ...deps(), sessions });
    expect(sent).to.deep.equal({ host1: ['lab/start-a.sh'], host2: ['lab/conf/b', 'lab/conf/b/index.html'] });
    await undeployScenario({ name: 'lab' }, deps());

    rmSync(path.join(lab, 'start-a.sh'));
    fake.log = [];
    const err = await deploy({ scenario: s, scenarioPath, cluster: cluster(2) }, deps()).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(InputError);
    expect((err as InputError).problems.map((p) => [p.loc.line, p.message.replace(lab, '<lab>')])).to.deep.equal([
      [7, 'VM a: exec file "start-a.sh": <lab>/start-a.sh does not exist'],
    ]);
    expect(fake.log, 'no host contacted').to.deep.equal([]);
    expect(await store.getScenario('lab')).to.equal(undefined);
  });
});
