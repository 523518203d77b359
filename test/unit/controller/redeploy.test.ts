// Redeploy logic with the real planner and state store over fake in-memory hosts: kept VMs keep
// their host, spanning nets keep their ids, new ids are allocated, freed ones only once every
// host is done, hosts left are cleaned, a failed host leaves the lab recorded as failed (and a
// second redeploy finishes it), a dry run changes nothing. The real agents are in test/e2e.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperationError } from '../../../src/common/errors.ts';
import { deployScenario } from '../../../src/controller/deploy.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import { silentProgress } from '../../../src/controller/progress.ts';
import { keptInPlace, redeploy, type RedeployDeps } from '../../../src/controller/redeploy.ts';
import { redeployChanges } from '../../../src/controller/redeploy-changes.ts';
import { HostSessions, type AgentChannel } from '../../../src/controller/sessions.ts';
import { openStateStore } from '../../../src/state/open.ts';
import type { StateStore } from '../../../src/state/store.ts';
import { allocateIds } from '../../../src/controller/ids.ts';
import type { ApplyRequest } from '../../../src/protocol/agent.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import { noRestrictions } from '../../../src/protocol/restrictions.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';
import type { Scenario } from '../../../src/scenario/model.ts';
import { testCluster } from '../../helpers/test-cluster.ts';

const cluster = testCluster;

/** A VNX lab: `vms` as [name, net, address]. */
function lab(vms: [string, string, string][], name = 'lab'): Scenario {
  const nets = [...new Set(vms.map(([, net]) => net))];
  const xml =
    `<vnx><global><version>2.0</version><scenario_name>${name}</scenario_name></global>\n` +
    nets.map((n) => `<net name="${n}" mode="virtual_bridge"/>\n`).join('') +
    vms.map(([vm, net, addr]) => `<vm name="${vm}" type="lxc"><if id="1" net="${net}"><ipv4>${addr}/24</ipv4></if></vm>\n`).join('') +
    '</vnx>\n';
  return parseScenarioText(xml, `${name}.xml`);
}

/** Hosts in memory: the apply requests each got, destroys, and switches to fail an apply. */
class FakeHosts {
  applied = new Map<string, ApplyRequest[]>();
  destroyed: string[] = [];
  failApply = new Set<string>();
  connector = async (h: ClusterHost): Promise<AgentChannel> => ({
    runAgent: async <T>(op: string, req: unknown): Promise<T> => {
      if (op === 'facts') return { version: '0.1.0', hostname: h.name, cpus: 2, memMB: 1000, loadAvg: [0, 0, 0], root: true, capabilities: { netns: true, bridge: true, veth: true, vxlan: true, vlan8021q: false }, drivers: ['netns'] } as T;
      if (op === 'apply') {
        const r = req as ApplyRequest;
        this.applied.set(h.name, [...(this.applied.get(h.name) ?? []), r]);
        if (this.failApply.has(h.name)) throw new OperationError(`${h.name}: no space left on device`, { host: h.name });
        return { deployment: r.deployment, vms: [], links: [], made: [] } as T;
      }
      if (op === 'destroy') {
        this.destroyed.push(h.name);
        return { deployment: (req as { deployment: string }).deployment, removed: [] } as T;
      }
      return {} as T;
    },
    close: async () => {},
  });
}

describe('redeploy (real planner, fake hosts)', () => {
  let dir: string;
  let store: StateStore;
  let hosts: FakeHosts;
  let sessions: HostSessions;
  const c = cluster(3);
  const deps = (): RedeployDeps => ({ store, user: 'tester', sessions, makePlan, progress: silentProgress });
  const original = () => lab([['a', 'N0', '10.0.0.1'], ['b', 'N0', '10.0.0.2'], ['c', 'N1', '10.0.1.1'], ['d', 'N1', '10.0.1.2']]);

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-redeploy-'));
    store = await openStateStore({ kind: 'sqlite', dir });
    hosts = new FakeHosts();
    sessions = new HostSessions(hosts.connector);
    await deployScenario({ scenario: original(), scenarioPath: path.join(dir, 'lab.xml'), cluster: c }, { store, user: 'tester', sessions, makePlan, progress: silentProgress });
    hosts.applied.clear();
  });
  afterEach(async () => {
    await sessions.closeAll();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every VM on its host and every spanning net on its id; a new VM and a new spanning net get theirs', async () => {
    const before = await store.plan('lab');
    expect(before.spanning.map((s) => s.net)).to.deep.equal(['N0', 'N1']); // round-robin over 3 hosts splits both
    const edited = lab([['a', 'N0', '10.0.0.1'], ['b', 'N0', '10.0.0.2'], ['c', 'N1', '10.0.1.1'], ['d', 'N1', '10.0.1.9'], ['e', 'N2', '10.0.2.1'], ['f', 'N2', '10.0.2.2']]);
    const r = await redeploy({ scenario: edited, scenarioPath: path.join(dir, 'lab2.xml') }, deps());
    expect(r.ok, r.error?.message).to.equal(true);
    const after = await store.plan('lab');
    for (const vm of ['a', 'b', 'c', 'd']) expect(after.mapping[vm], vm).to.equal(before.mapping[vm]);
    for (const s of before.spanning) expect(after.spanning.find((x) => x.net === s.net)?.id).to.equal(s.id);
    expect(r.changes.vms).to.deep.include({ kept: ['a', 'b', 'c'], changed: ['d'] });
    expect(r.changes.vms.added.map((x) => x.vm)).to.deep.equal(['e', 'f']);
    const n2 = after.spanning.find((s) => s.net === 'N2');
    if (n2) {
      expect(before.spanning.map((s) => s.id)).to.not.include(n2.id);
      expect(r.changes.spanning.added.map((s) => s.net)).to.deep.equal(['N2']);
    }
    expect((await store.ids('lab')).map((i) => i.net).sort()).to.deep.equal(after.spanning.map((s) => s.net).sort());
    expect(await store.getScenario('lab')).to.include({ status: 'running', sourcePath: path.join(dir, 'lab2.xml') });
    expect([...hosts.applied.keys()].sort()).to.deep.equal(Object.keys(after.hosts).sort());
    expect((await store.vms('lab')).map((v) => v.vm).sort()).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('a removed net frees its id and a host left without VMs is cleaned (its row goes)', async () => {
    const before = await store.plan('lab');
    const hostOfC = before.mapping.c!;
    const hostOfD = before.mapping.d!;
    // Only a and b remain: N1 goes, and so do the hosts that held c and d only.
    const r = await redeploy({ scenario: lab([['a', 'N0', '10.0.0.1'], ['b', 'N0', '10.0.0.2']]), scenarioPath: 'lab.xml' }, deps());
    expect(r.ok, r.error?.message).to.equal(true);
    expect(r.changes.vms.removed.map((x) => x.vm)).to.deep.equal(['c', 'd']);
    expect(r.changes.nets.removed).to.deep.equal(['N1']);
    const n1 = before.spanning.find((s) => s.net === 'N1')!;
    expect(r.freedIds).to.deep.equal([n1.id]);
    expect((await store.ids('lab')).map((i) => i.id)).to.not.include(n1.id);
    const left = [hostOfC, hostOfD].filter((h) => h !== before.mapping.a && h !== before.mapping.b);
    expect(hosts.destroyed.sort()).to.deep.equal([...new Set(left)].sort());
    expect((await store.hosts('lab')).map((h) => h.host).sort()).to.deep.equal(Object.keys((await store.plan('lab')).hosts).sort());
  });

  it('a host that fails leaves the lab failed with its ids still held; redeploying again finishes it', async () => {
    const before = await store.plan('lab');
    const failing = before.mapping.a!;
    hosts.failApply.add(failing);
    const r = await redeploy({ scenario: lab([['a', 'N0', '10.0.0.1'], ['b', 'N0', '10.0.0.2']]), scenarioPath: 'lab.xml' }, deps());
    expect(r.ok).to.equal(false);
    expect(r.error?.message).to.contain(`failed on ${failing}`).and.contain("run 'ediv redeploy lab' again");
    expect((await store.getScenario('lab'))!.status).to.equal('failed');
    // Nothing freed yet: a host may still have N1's link.
    expect((await store.ids('lab')).map((i) => i.id).sort()).to.deep.equal(before.spanning.map((s) => s.id).sort());
    hosts.failApply.clear();
    const again = await redeploy({ scenario: lab([['a', 'N0', '10.0.0.1'], ['b', 'N0', '10.0.0.2']]), scenarioPath: 'lab.xml' }, deps());
    expect(again.ok, again.error?.message).to.equal(true);
    expect(again.freedIds).to.deep.equal([before.spanning.find((s) => s.net === 'N1')!.id]);
    expect((await store.getScenario('lab'))!.status).to.equal('running');
  });

  it('a dry run reports the changes and touches nothing', async () => {
    const plan = JSON.stringify(await store.plan('lab'));
    const r = await redeploy({ scenario: lab([['a', 'N0', '10.0.0.5'], ['b', 'N0', '10.0.0.2']]), scenarioPath: 'x.xml', dryRun: true }, deps());
    expect(r).to.include({ ok: true, dryRun: true });
    expect(r.changes.vms.changed).to.deep.equal(['a']);
    expect(r.hosts.every((h) => h.status === 'planned')).to.equal(true);
    expect(hosts.applied.size).to.equal(0);
    expect(hosts.destroyed).to.deep.equal([]);
    expect(JSON.stringify(await store.plan('lab'))).to.equal(plan);
    expect((await store.getScenario('lab'))!.sourcePath).to.not.equal('x.xml');
  });

  it('the same scenario again changes nothing; a lab being deployed is refused', async () => {
    const r = await redeploy({ scenario: original(), scenarioPath: 'lab.xml', dryRun: true }, deps());
    expect(r.changes.none).to.equal(true);
    await store.setScenarioStatus('lab', 'deploying');
    let err: unknown;
    await redeploy({ scenario: original(), scenarioPath: 'lab.xml' }, deps()).catch((e: unknown) => (err = e));
    expect(String(err)).to.contain('cannot redeploy lab: it is deploying');
  });
});

describe('redeploy pieces', () => {
  it('allocateIds keeps the ids nets hold (even in use) and gives the others fresh ones', () => {
    const ids = allocateIds(['A', 'B', 'C'], { first: 10, last: 20 }, new Set([10, 11, 12]), new Map([['B', 11], ['Z', 13]]));
    expect([...ids].sort()).to.deep.equal([['A', 13], ['B', 11], ['C', 14]]);
    // An id outside the (changed) range is not kept.
    expect(allocateIds(['A'], { first: 10, last: 20 }, new Set(), new Map([['A', 99]])).get('A')).to.equal(10);
  });

  it('keptInPlace pins the surviving VMs to their recorded hosts, unless the user pins them or their host is gone', () => {
    const before = { mapping: { a: 'host1', b: 'host2', c: 'host3', gone: 'host1' } } as unknown as Parameters<typeof keptInPlace>[1];
    const s = lab([['a', 'N0', '10.0.0.1'], ['b', 'N0', '10.0.0.2'], ['c', 'N0', '10.0.0.3'], ['new', 'N0', '10.0.0.4']]);
    const r = keptInPlace(s, before, new Set(['host1', 'host2']), { ...noRestrictions(), vmDeployAt: [{ vm: 'b', host: 'host1' }] });
    expect(r.vmDeployAt).to.deep.equal([{ vm: 'b', host: 'host1' }, { vm: 'a', host: 'host1' }]);
  });

  it('changes ignore source positions: a VM moved down the file is kept', () => {
    const a = lab([['a', 'N0', '10.0.0.1'], ['b', 'N0', '10.0.0.2']]);
    const b = lab([['b', 'N0', '10.0.0.2'], ['a', 'N0', '10.0.0.1']]);
    const plan = (s: Scenario) => ({
      scenario: 'lab', segmentator: 'x', backplane: 'vxlan' as const, mapping: { a: 'h1', b: 'h1' }, spanning: [],
      hosts: { h1: { host: 'h1', vms: ['a', 'b'], fragmentName: 'lab_h1', fragmentXml: '', fragment: s, backplane: [] } },
      quality: { spanningNets: 0, crossHostAttachments: 0, imbalance: 0 },
    });
    const ch = redeployChanges(plan(a), plan(b));
    expect(ch.vms.kept.sort()).to.deep.equal(['a', 'b']);
    expect(ch.none).to.equal(true);
  });
});
