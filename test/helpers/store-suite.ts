// The state store's behaviour, run on each backend (SQLite file, PostgreSQL server): the same
// tests, so that the two stores cannot drift apart.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { OperationError } from '../../src/common/errors.ts';
import type { Cluster } from '../../src/protocol/cluster.ts';
import type { Plan } from '../../src/protocol/plan.ts';
import { UID_PATTERN } from '../../src/protocol/deployment-key.ts';
import { openStateStore, type StoreLocation } from '../../src/state/open.ts';
import type { NewScenario, StateStore } from '../../src/state/store.ts';

const run = promisify(execFile);
export const storeCluster = { backplane: 'vxlan', source: { path: '/tmp/c.yaml' }, hosts: [] } as unknown as Cluster;

export function planWith(name: string, ids: number[]): Plan {
  return {
    scenario: name,
    segmentator: 'round-robin',
    backplane: 'vxlan',
    mapping: { a: 'host1', b: 'host2' },
    spanning: ids.map((id, i) => ({ net: `Net${i}`, id, hosts: ['host1', 'host2'] })),
    hosts: {
      host1: { host: 'host1', vms: ['a'], fragmentName: `${name}_host1`, fragmentXml: '<vnx/>', fragment: {} as never, backplane: [] },
      host2: { host: 'host2', vms: ['b'], fragmentName: `${name}_host2`, fragmentXml: '<vnx/>', fragment: {} as never, backplane: [] },
    },
    quality: { spanningNets: ids.length, crossHostAttachments: ids.length, imbalance: 0 },
  };
}

/** A new scenario's record input with the fixed parts filled in. */
export function lab(name: string, makePlan: NewScenario['makePlan'], more: Partial<NewScenario> = {}): NewScenario {
  return { name, user: 'alice', sourcePath: `${name}.xml`, cluster: storeCluster, segmentator: 'rr', makePlan, ...more };
}

/**
 * Runs the store's tests on the backend `freshLocation` gives: a new, empty store for every
 * test (a temporary directory, or a new database on a test server).
 */
export function storeSuite(freshLocation: () => Promise<StoreLocation>): void {
  let location: StoreLocation;
  let store: StateStore;
  beforeEach(async () => {
    location = await freshLocation();
    store = await openStateStore(location);
  });
  afterEach(async () => {
    await store.close();
  });

  it('records a scenario with its hosts, VMs and ids, and passes the ids in use to the planner', async () => {
    await store.createScenario(lab('s1', () => planWith('s1', [1000, 1001])));
    let seen: number[] = [];
    await store.createScenario(lab('s2', (inUse) => ((seen = [...inUse].sort()), planWith('s2', [1002]))));
    expect(seen).to.deep.equal([1000, 1001]);
    expect(await store.getScenario('s1')).to.include({ name: 's1', status: 'planning', sourcePath: 's1.xml', clusterFile: '/tmp/c.yaml' });
    expect((await store.hosts('s1')).map((h) => [h.host, h.status, h.touched])).to.deep.equal([
      ['host1', 'pending', false],
      ['host2', 'pending', false],
    ]);
    expect((await store.vms('s1')).map((v) => [v.vm, v.host, v.status])).to.deep.equal([
      ['a', 'host1', 'pending'],
      ['b', 'host2', 'pending'],
    ]);
    expect((await store.ids('s1')).map((i) => i.id)).to.deep.equal([1000, 1001]);
    expect((await store.plan('s2')).spanning[0]!.id).to.equal(1002);
    expect((await store.cluster('s1')).backplane).to.equal('vxlan');
  });

  it('records each lab with its owner (user and store id) and a unique id that its host-side key carries', async () => {
    await store.createScenario(lab('s1', () => planWith('s1', [])));
    await store.createScenario(lab('s2', () => planWith('s2', []), { user: 'bob' }));
    const [s1, s2] = [(await store.getScenario('s1'))!, (await store.getScenario('s2'))!];
    expect(s1.owner).to.deep.equal({ user: 'alice', store: store.id });
    expect(s2.owner.user).to.equal('bob');
    expect(s1.uid).to.match(UID_PATTERN);
    expect(s1.key).to.equal(`s1.${s1.uid}`);
    expect(s1.uid).to.not.equal(s2.uid);
    // The store id is the store's, the same when opened again.
    const again = await openStateStore(location);
    expect(again.id).to.equal(store.id).and.to.match(/^[0-9a-f-]{36}$/);
    await again.close();
  });

  it('refuses a name that is already recorded, leaving the first record untouched', async () => {
    await store.createScenario(lab('s1', () => planWith('s1', [1000])));
    let planned = false;
    const err = await store.createScenario(lab('s1', () => ((planned = true), planWith('s1', [1005])), { sourcePath: 'b.xml' })).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(OperationError);
    expect((err as Error).message).to.match(/already recorded/);
    expect(planned).to.equal(false);
    expect((await store.getScenario('s1'))!.sourcePath).to.equal('s1.xml');
    expect((await store.ids('s1')).map((i) => i.id)).to.deep.equal([1000]);
  });

  it('refuses a plan that reuses an id held by another scenario, and records nothing of it', async () => {
    await store.createScenario(lab('s1', () => planWith('s1', [1000])));
    const err = await store.createScenario(lab('s2', () => planWith('s2', [1000]))).catch((e: unknown) => e);
    expect((err as Error).message).to.match(/id 1000/);
    expect(await store.getScenario('s2')).to.equal(undefined);
    expect(await store.hosts('s2')).to.deep.equal([]);
  });

  it('plans outside the transaction: another connection records while a plan is being made', async () => {
    let other: StateStore | undefined;
    const plan = await store.createScenario(
      lab('s1', async () => {
        // With the planner inside the transaction this second writer would wait for its lock.
        other = await openStateStore(location, { busyTimeoutMs: 0 });
        await other.createScenario(lab('meanwhile', () => planWith('meanwhile', [1007])));
        return planWith('s1', [1000]);
      }),
    );
    await other?.close();
    expect(plan.spanning[0]!.id).to.equal(1000);
    expect((await store.listScenarios()).map((r) => r.name).sort()).to.deep.equal(['meanwhile', 's1']);
  });

  it('plans again when another deployment took one of the ids meanwhile', async () => {
    const snapshots: number[][] = [];
    const plan = await store.createScenario(
      lab('s1', async (inUse) => {
        snapshots.push([...inUse].sort());
        if (snapshots.length === 1) {
          const other = await openStateStore(location);
          await other.createScenario(lab('thief', () => planWith('thief', [1000])));
          await other.close();
        }
        let id = 1000;
        while (inUse.has(id)) id++;
        return planWith('s1', [id]);
      }),
    );
    expect(snapshots).to.deep.equal([[], [1000]]);
    expect(plan.spanning[0]!.id).to.equal(1001);
    expect((await store.ids('s1')).map((i) => i.id)).to.deep.equal([1001]);
  });

  it('after three plans whose ids were taken, plans once more under the exclusive lock and records it', async () => {
    await store.createScenario(lab('holder', () => planWith('holder', [1000])));
    const snapshots: number[][] = [];
    const plan = await store.createScenario(
      lab('s1', (inUse) => {
        snapshots.push([...inUse].sort());
        // Three times a plan whose id is taken (as when many planners race for the lowest free id).
        return planWith('s1', [snapshots.length <= 3 ? 1000 : 1001]);
      }),
    );
    expect(snapshots).to.deep.equal([[1000], [1000], [1000], [1000]]);
    expect(plan.spanning[0]!.id).to.equal(1001);
    expect((await store.ids('s1')).map((i) => i.id)).to.deep.equal([1001]);
  });

  it('keeps cmd-seq tables (Maps, prototype names included) through the stored plan', async () => {
    const p = planWith('s1', []);
    p.hosts.host1!.fragment = { cmdSeqs: new Map([['__proto__', ['a']], ['constructor', ['b']]]) } as never;
    await store.createScenario(lab('s1', () => p));
    const back = (await store.plan('s1')).hosts.host1!.fragment.cmdSeqs;
    expect(back).to.be.instanceOf(Map);
    expect([...back]).to.deep.equal([
      ['__proto__', ['a']],
      ['constructor', ['b']],
    ]);
  });

  it('rolls back when the planner throws', async () => {
    const err = await store.createScenario(lab('s1', () => { throw new Error('boom'); })).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('boom');
    expect(await store.listScenarios()).to.deep.equal([]);
  });

  it('tracks host and VM status, and frees ids when the record is deleted', async () => {
    await store.createScenario(lab('s1', () => planWith('s1', [1000])));
    await store.markHostTouched('s1', 'host1');
    await store.setHostStatus('s1', 'host1', 'failed', 'link exists');
    await store.setVmStatus('s1', ['b'], 'running');
    await store.setScenarioStatus('s1', 'failed', 'host1: link exists');
    expect((await store.hosts('s1'))[0]).to.include({ host: 'host1', status: 'failed', touched: true, error: 'link exists' });
    expect((await store.vms('s1')).find((v) => v.vm === 'b')!.status).to.equal('running');
    expect(await store.getScenario('s1')).to.include({ status: 'failed', error: 'host1: link exists' });
    await store.deleteScenario('s1');
    expect((await store.idsInUse('vxlan')).size).to.equal(0);
    expect(await store.hosts('s1')).to.deep.equal([]);
    expect(await store.vms('s1')).to.deep.equal([]);
  });

  it('records a 1 000-VM lab and updates all its VMs at once', async () => {
    const p = planWith('big', [1000]);
    p.mapping = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`vm${i}`, `host${(i % 2) + 1}`]));
    await store.createScenario(lab('big', () => p));
    const names = Object.keys(p.mapping);
    await store.setVmStatus('big', names, 'running');
    const vms = await store.vms('big');
    expect(vms).to.have.length(1000);
    expect(vms.every((v) => v.status === 'running')).to.equal(true);
  });

  it('six processes allocating at once never get the same id, and every one records all its labs', async function () {
    this.timeout(120000);
    const worker = path.join(import.meta.dirname, 'allocate-worker.ts');
    const n = 15;
    const outs = await Promise.all(
      ['p', 'q', 'r', 's', 't', 'u'].map((prefix) => run(process.execPath, ['--no-warnings', worker, JSON.stringify(location), prefix, String(n)], { env: process.env })),
    );
    const all = outs.flatMap((o) => JSON.parse(o.stdout) as number[]);
    expect(all).to.have.length(6 * n);
    expect(new Set(all).size).to.equal(6 * n);
    expect(await store.listScenarios()).to.have.length(6 * n);
    expect((await store.idsInUse('vxlan')).size).to.equal(6 * n);
  });
}
