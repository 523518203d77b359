import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import { StateStore, STATE_FILE } from '../../../src/controller/state.ts';
import { SCHEMA_VERSION, schemaVersion } from '../../../src/controller/state-migrations.ts';
import { OperationError } from '../../../src/common/errors.ts';
import type { Cluster } from '../../../src/protocol/cluster.ts';
import type { Plan } from '../../../src/protocol/plan.ts';

const run = promisify(execFile);
const cluster = { backplane: 'vxlan', source: { path: '/tmp/c.yaml' }, hosts: [] } as unknown as Cluster;

function planWith(name: string, ids: number[]): Plan {
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

describe('controller state store', () => {
  let dir: string;
  let store: StateStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-state-'));
    store = StateStore.open(dir);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records a scenario with its hosts, VMs and ids, and passes the ids in use to the planner', async () => {
    await store.createScenario({ name: 's1', sourcePath: 'a.xml', cluster, segmentator: 'rr', makePlan: () => planWith('s1', [1000, 1001]) });
    let seen: number[] = [];
    await store.createScenario({
      name: 's2',
      sourcePath: 'b.xml',
      cluster,
      segmentator: 'rr',
      makePlan: (inUse) => {
        seen = [...inUse].sort();
        return planWith('s2', [1002]);
      },
    });
    expect(seen).to.deep.equal([1000, 1001]);
    expect(store.getScenario('s1')).to.include({ name: 's1', status: 'planning', sourcePath: 'a.xml', clusterFile: '/tmp/c.yaml' });
    expect(store.hosts('s1').map((h) => [h.host, h.status, h.touched])).to.deep.equal([
      ['host1', 'pending', false],
      ['host2', 'pending', false],
    ]);
    expect(store.vms('s1').map((v) => [v.vm, v.host, v.status])).to.deep.equal([
      ['a', 'host1', 'pending'],
      ['b', 'host2', 'pending'],
    ]);
    expect(store.ids('s1').map((i) => i.id)).to.deep.equal([1000, 1001]);
    expect(store.plan('s2').spanning[0]!.id).to.equal(1002);
    expect(store.cluster('s1').backplane).to.equal('vxlan');
  });

  it('refuses a name that is already recorded, leaving the first record untouched', async () => {
    await store.createScenario({ name: 's1', sourcePath: 'a.xml', cluster, segmentator: 'rr', makePlan: () => planWith('s1', [1000]) });
    let planned = false;
    const err = await store
      .createScenario({ name: 's1', sourcePath: 'b.xml', cluster, segmentator: 'rr', makePlan: () => ((planned = true), planWith('s1', [1005])) })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(OperationError);
    expect((err as Error).message).to.match(/already recorded/);
    expect(planned).to.equal(false);
    expect(store.getScenario('s1')!.sourcePath).to.equal('a.xml');
    expect(store.ids('s1').map((i) => i.id)).to.deep.equal([1000]);
  });

  it('refuses a plan that reuses an id held by another scenario, and records nothing of it', async () => {
    await store.createScenario({ name: 's1', sourcePath: 'a.xml', cluster, segmentator: 'rr', makePlan: () => planWith('s1', [1000]) });
    const err = await store
      .createScenario({ name: 's2', sourcePath: 'b.xml', cluster, segmentator: 'rr', makePlan: () => planWith('s2', [1000]) })
      .catch((e: unknown) => e);
    expect((err as Error).message).to.match(/id 1000/);
    expect(store.getScenario('s2')).to.equal(undefined);
    expect(store.hosts('s2')).to.deep.equal([]);
  });

  it('plans outside the transaction: another process can record while a plan is being made', async () => {
    let other: StateStore | undefined;
    const plan = await store.createScenario({
      name: 's1',
      sourcePath: 'a.xml',
      cluster,
      segmentator: 'rr',
      makePlan: async () => {
        // With the planner inside BEGIN IMMEDIATE this second writer would wait for the lock.
        other = StateStore.open(dir, { busyTimeoutMs: 0 });
        await other.createScenario({ name: 'meanwhile', sourcePath: 'm.xml', cluster, segmentator: 'rr', makePlan: () => planWith('meanwhile', [1007]) });
        return planWith('s1', [1000]);
      },
    });
    other?.close();
    expect(plan.spanning[0]!.id).to.equal(1000);
    expect(store.listScenarios().map((r) => r.name).sort()).to.deep.equal(['meanwhile', 's1']);
  });

  it('plans again when another deployment took one of the ids meanwhile', async () => {
    const snapshots: number[][] = [];
    const plan = await store.createScenario({
      name: 's1',
      sourcePath: 'a.xml',
      cluster,
      segmentator: 'rr',
      makePlan: async (inUse) => {
        snapshots.push([...inUse].sort());
        if (snapshots.length === 1) {
          const other = StateStore.open(dir);
          await other.createScenario({ name: 'thief', sourcePath: 't.xml', cluster, segmentator: 'rr', makePlan: () => planWith('thief', [1000]) });
          other.close();
        }
        let id = 1000;
        while (inUse.has(id)) id++;
        return planWith('s1', [id]);
      },
    });
    expect(snapshots).to.deep.equal([[], [1000]]);
    expect(plan.spanning[0]!.id).to.equal(1001);
    expect(store.ids('s1').map((i) => i.id)).to.deep.equal([1001]);
  });

  it('keeps cmd-seq tables (Maps, prototype names included) through the stored plan', async () => {
    const p = planWith('s1', []);
    p.hosts.host1!.fragment = { cmdSeqs: new Map([['__proto__', ['a']], ['constructor', ['b']]]) } as never;
    await store.createScenario({ name: 's1', sourcePath: 'a.xml', cluster, segmentator: 'rr', makePlan: () => p });
    const back = store.plan('s1').hosts.host1!.fragment.cmdSeqs;
    expect(back).to.be.instanceOf(Map);
    expect([...back]).to.deep.equal([
      ['__proto__', ['a']],
      ['constructor', ['b']],
    ]);
  });

  it('migrates a store made before schema versions, converting stored cmd-seq tables', () => {
    store.close();
    rmSync(path.join(dir, STATE_FILE));
    const db = new DatabaseSync(path.join(dir, STATE_FILE));
    db.exec(`CREATE TABLE scenarios (name TEXT PRIMARY KEY, source_path TEXT NOT NULL, cluster_file TEXT NOT NULL, cluster_json TEXT NOT NULL,
      segmentator TEXT NOT NULL, plan_json TEXT NOT NULL, status TEXT NOT NULL, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
    const old = planWith('old', [1003]);
    old.hosts.host1!.fragment = { cmdSeqs: { all: ['x', 'y'] } } as never;
    db.prepare(`INSERT INTO scenarios VALUES ('old', 'o.xml', 'c.yaml', '{}', 'rr', ?, 'running', NULL, 't', 't')`).run(JSON.stringify(old));
    db.close();
    store = StateStore.open(dir);
    expect([...store.plan('old').hosts.host1!.fragment.cmdSeqs]).to.deep.equal([['all', ['x', 'y']]]);
    expect(store.hosts('old')).to.deep.equal([]);
    const check = new DatabaseSync(path.join(dir, STATE_FILE));
    expect(schemaVersion(check)).to.equal(SCHEMA_VERSION);
    check.close();
  });

  it('refuses a store written by a newer ediv, and leaves it as it was', () => {
    store.close();
    const db = new DatabaseSync(path.join(dir, STATE_FILE));
    db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'from the future', 't');
    db.close();
    let err: unknown;
    try {
      store = StateStore.open(dir);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(OperationError);
    expect((err as Error).message).to.match(new RegExp(`schema version ${SCHEMA_VERSION + 1}, written by a newer ediv`));
    const check = new DatabaseSync(path.join(dir, STATE_FILE));
    expect(schemaVersion(check)).to.equal(SCHEMA_VERSION + 1);
    check.close();
    store = StateStore.open(path.join(dir, 'fresh')); // for afterEach
  });

  it('rolls back when the planner throws', async () => {
    const err = await store
      .createScenario({ name: 's1', sourcePath: 'a.xml', cluster, segmentator: 'rr', makePlan: () => { throw new Error('boom'); } })
      .catch((e: unknown) => e);
    expect((err as Error).message).to.equal('boom');
    expect(store.listScenarios()).to.deep.equal([]);
  });

  it('tracks host and VM status, and frees ids when the record is deleted', async () => {
    await store.createScenario({ name: 's1', sourcePath: 'a.xml', cluster, segmentator: 'rr', makePlan: () => planWith('s1', [1000]) });
    store.markHostTouched('s1', 'host1');
    store.setHostStatus('s1', 'host1', 'failed', 'link exists');
    store.setVmStatus('s1', ['b'], 'running');
    store.setScenarioStatus('s1', 'failed', 'host1: link exists');
    expect(store.hosts('s1')[0]).to.include({ host: 'host1', status: 'failed', touched: true, error: 'link exists' });
    expect(store.vms('s1').find((v) => v.vm === 'b')!.status).to.equal('running');
    expect(store.getScenario('s1')).to.include({ status: 'failed', error: 'host1: link exists' });
    store.deleteScenario('s1');
    expect(store.idsInUse('vxlan').size).to.equal(0);
    expect(store.hosts('s1')).to.deep.equal([]);
    expect(store.vms('s1')).to.deep.equal([]);
  });

  it('two processes allocating at once never get the same id', async function () {
    this.timeout(60000);
    const worker = path.join(import.meta.dirname, 'fixtures', 'allocate-worker.ts');
    const n = 40;
    const [a, b] = await Promise.all(
      ['p', 'q'].map((prefix) => run(process.execPath, ['--no-warnings', worker, dir, prefix, String(n)])),
    );
    const idsA = JSON.parse(a!.stdout) as number[];
    const idsB = JSON.parse(b!.stdout) as number[];
    const all = [...idsA, ...idsB];
    expect(all).to.have.length(2 * n);
    expect(new Set(all).size).to.equal(2 * n);
    expect(store.listScenarios()).to.have.length(2 * n);
    expect(store.idsInUse('vxlan').size).to.equal(2 * n);
  });
});
