// Deploy with the real planner over a fake transport: each host's apply names the driver its
// plan chose, the report carries the scenario's warnings (with locations) before the deploy's
// own, and a host whose VMs need two drivers is refused before anything is recorded.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../../src/common/errors.ts';
import { parseClusterText } from '../../../src/controller/cluster.ts';
import { deploy } from '../../../src/controller/deploy.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import { silentProgress } from '../../../src/controller/progress.ts';
import { HostSessions, type AgentChannel } from '../../../src/controller/sessions.ts';
import { openStateStore } from '../../../src/state/open.ts';
import type { StateStore } from '../../../src/state/store.ts';
import type { ApplyRequest } from '../../../src/protocol/agent.ts';
import type { ClusterHost } from '../../../src/protocol/cluster.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';
import { fakeFacts } from '../../helpers/fake-agent.ts';

const XML = `<vnx><global><version>2.0</version><scenario_name>lab</scenario_name></global>
<net name="n" mode="virtual_bridge"/>
<vm name="a" type="lxc"><mem>64M</mem><if id="1" net="n"/></vm>
<vm name="b" type="libvirt" subtype="kvm"><if id="1" net="n"/></vm>
</vnx>`;

describe('deploy: drivers and warnings', () => {
  let dir: string;
  let store: StateStore;
  let applies: ApplyRequest[];
  const connector = async (h: ClusterHost): Promise<AgentChannel> => ({
    runAgent: async <T>(op: string, req: unknown): Promise<T> => {
      if (op === 'facts') {
        return fakeFacts(h.name) as T;
      }
      if (op === 'apply') {
        applies.push(req as ApplyRequest);
        return { deployment: (req as ApplyRequest).deployment, vms: [], links: [] } as T;
      }
      if (op === 'serve' || op === 'status') return {} as T;
      throw new Error(`unexpected op ${op}`);
    },
    close: () => {},
  });
  const deps = (version = '0.1.0') => ({ store, user: 'alice', sessions: new HostSessions(connector), makePlan, progress: silentProgress, version });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-drivers-'));
    store = await openStateStore({ kind: 'sqlite', dir });
    applies = [];
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends each host the driver of its fragment; reports the scenario's warnings with their locations", async () => {
    const scenario = parseScenarioText(XML, 'lab.xml');
    const cluster = parseClusterText('drivers: {lxc: container, libvirt: netns}\nhosts:\n  - {name: h1, trunk: eth0}\n  - {name: h2, trunk: eth0}\n', 'c.yaml');
    const r = await deploy({ scenario, scenarioPath: 'lab.xml', cluster, segmentator: 'round-robin' }, deps());
    expect(r.ok, JSON.stringify(r)).to.equal(true);
    expect(applies.map((a) => [a.host, a.driver]).sort()).to.deep.equal([['h1', 'container'], ['h2', 'netns']]);
    expect((await store.plan('lab')).hosts.h1!.driver).to.equal('container');
    expect(r.warnings.map((w) => w.feature)).to.deep.equal(['vm-type']);
    expect(r.warnings[0]).to.deep.include({ vm: 'b', loc: { file: 'lab.xml', line: 4, column: 1 } });
  });

  it("agents of another version than the controller's stop the deploy before anything is recorded or applied", async () => {
    const scenario = parseScenarioText(XML, 'lab.xml');
    const cluster = parseClusterText('drivers: {lxc: container, libvirt: netns}\nhosts:\n  - {name: h1, trunk: eth0}\n  - {name: h2, trunk: eth0}\n', 'c.yaml');
    const r = await deploy({ scenario, scenarioPath: 'lab.xml', cluster, segmentator: 'round-robin' }, deps('0.2.0'));
    if (r.ok) throw new Error('deployed');
    expect(r.outcome).to.equal('untouched');
    expect((r.error as { details: { reason: string; problems: string[] } }).details).to.deep.equal({
      reason: 'hosts-not-ready',
      problems: ['h1', 'h2'].map((h) => `${h}: agent: the controller's version, 0.2.0: update the host's ediv, or leave out agentCommand so the controller brings its own`),
    });
    expect(applies).to.deep.equal([]);
    expect(await store.getScenario('lab')).to.equal(undefined);
  });

  it('a host whose VMs need two drivers is bad input: nothing recorded, nothing applied', async () => {
    const scenario = parseScenarioText(XML, 'lab.xml');
    const cluster = parseClusterText('drivers: {lxc: container, libvirt: netns}\nhosts:\n  - {name: h1, trunk: eth0}\n', 'c.yaml');
    const err = await deploy({ scenario, scenarioPath: 'lab.xml', cluster }, deps()).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.match(/host h1 would run VMs that need different drivers: container for a \(lxc\); netns for b \(libvirt\/kvm\)/);
    expect(await store.getScenario('lab')).to.equal(undefined);
    expect(applies).to.deep.equal([]);
  });
});
