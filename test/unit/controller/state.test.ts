import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { StateStore } from '../../../src/controller/state.ts';
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
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv7-state-'));
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
