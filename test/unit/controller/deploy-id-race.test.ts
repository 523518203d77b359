// Deploy over a fake transport whose hosts report (facts) and defend (apply) the backplane ids of
// another controller's deployments: the plan avoids the ids the hosts report, and a deploy that
// loses a race for ids (a host refuses them: another store took them after our facts) is rolled
// back and planned again around what the hosts then report.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperationError } from '../../../src/common/errors.ts';
import { deploy } from '../../../src/controller/deploy.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import { silentProgress } from '../../../src/controller/progress.ts';
import { HostSessions, type AgentChannel } from '../../../src/controller/sessions.ts';
import type { AgentOp, ApplyRequest, BackplaneIdUse } from '../../../src/protocol/agent.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';
import { openStateStore } from '../../../src/state/open.ts';
import type { StateStore } from '../../../src/state/store.ts';
import { testCluster } from '../../helpers/test-cluster.ts';
import { fakeFacts } from '../../helpers/fake-agent.ts';

const XML = `<vnx><global><version>2.0</version><scenario_name>lab</scenario_name></global>
<net name="n" mode="virtual_bridge"/>
<vm name="a" type="lxc"><if id="1" net="n"/></vm>
<vm name="b" type="lxc"><if id="1" net="n"/></vm>
</vnx>`;

describe('deploy: backplane ids other controllers use on the hosts', () => {
  let dir: string;
  let store: StateStore;
  /** What the hosts' other deployments use (another controller's store), and the applies seen. */
  let foreign: BackplaneIdUse[];
  let applies: ApplyRequest[];
  /** Ids "taken by someone else" between our facts and our apply, once. */
  let stolen: number[];
  const connector = async (h: ClusterHost): Promise<AgentChannel> => ({
    runAgent: async <T>(op: string, req: unknown): Promise<T> => {
      if (op === 'facts') {
        return fakeFacts(h.name, { backplaneIds: foreign }) as T;
      }
      if (op === 'apply') {
        const a = req as ApplyRequest;
        applies.push(a);
        const clash = a.backplane.filter((b) => stolen.includes(b.id));
        if (clash.length) {
          foreign.push(...clash.map((b) => ({ kind: b.kind, id: b.id, net: b.net, deployment: 'other.zzzzzz' })));
          stolen = [];
          const err = { message: `backplane id ${clash[0]!.id} is in use here`, code: 'ids-taken' };
          throw new OperationError(`${h.name}: agent apply failed: ${err.message}`, { host: h.name, details: err });
        }
        return { deployment: a.deployment, vms: [], links: [] } as T;
      }
      if (op === 'destroy') return { deployment: (req as { deployment: string }).deployment, removed: [] } as T;
      if (op === 'serve' || op === 'status') return {} as T;
      throw new Error(`unexpected op ${op}`);
    },
    close: () => {},
  });
  const deps = () => ({ store, user: 'alice', sessions: new HostSessions(connector), makePlan, progress: silentProgress });
  const cluster = () => ({ ...testCluster(2), ids: { first: 1000, last: 1999 } });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-idrace-'));
    store = await openStateStore({ kind: 'sqlite', dir });
    foreign = [];
    applies = [];
    stolen = [];
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plans around the ids the hosts report in use by deployments this store does not know', async () => {
    foreign = [{ kind: 'vxlan', id: 1000, net: 'Net0', deployment: 'tutorial.aaaaaa', owner: { user: 'bob', store: 'x' } }];
    const r = await deploy({ scenario: parseScenarioText(XML, 'lab.xml'), scenarioPath: 'lab.xml', cluster: cluster() }, deps());
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    if (!r.ok) return;
    expect(r.spanning.map((s) => s.id)).to.deep.equal([1001]);
  });

  it('a deploy whose ids a host refuses (taken meanwhile) is rolled back and planned again around them', async function () {
    this.timeout(10_000);
    stolen = [1000];
    const r = await deploy({ scenario: parseScenarioText(XML, 'lab.xml'), scenarioPath: 'lab.xml', cluster: cluster() }, deps());
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    if (!r.ok) return;
    expect(r.spanning.map((s) => s.id)).to.deep.equal([1001]);
    // The first attempt's applies carried 1000; those after the re-plan 1001, with a new lab key.
    const ids = applies.map((a) => a.backplane.map((b) => b.id));
    expect(ids.flat()).to.include(1000).and.to.include(1001);
    expect(new Set(applies.map((a) => a.deployment)).size).to.equal(2);
    expect((await store.ids('lab')).map((i) => i.id)).to.deep.equal([1001]);
  });

  it('another refusal (not an id race) is not retried', async () => {
    const refusing = async (h: ClusterHost): Promise<AgentChannel> => {
      const inner = await connector(h);
      return {
        ...inner,
        runAgent: async <T>(op: AgentOp, req: unknown): Promise<T> => {
          if (op !== 'apply') return inner.runAgent<T>(op, req);
          applies.push(req as ApplyRequest);
          throw new OperationError(`${h.name}: agent apply failed: not yours`, { host: h.name, details: { message: 'not yours', code: 'not-owner' } });
        },
      };
    };
    const r = await deploy({ scenario: parseScenarioText(XML, 'lab.xml'), scenarioPath: 'lab.xml', cluster: cluster() }, { ...deps(), sessions: new HostSessions(refusing) });
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.outcome).to.equal('rolled-back');
    expect(r.failedHosts.map((f) => f.agentCode)).to.deep.equal(['not-owner', 'not-owner']);
    expect(applies).to.have.length(2); // one attempt, on two hosts
  });
});
