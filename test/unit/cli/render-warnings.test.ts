// The scenario warnings (what ediv does not apply) and the drivers in the reports of validate,
// plan, deploy and status: the summary and plan builders, the text renderers and the --json documents.
import { expect } from 'chai';
import { HostFailedError } from '../../../src/common/errors.ts';
import type { DeployFailure, DeploySuccess } from '../../../src/controller/deploy.ts';
import { parseClusterText } from '../../../src/controller/cluster.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import type { StatusReport } from '../../../src/controller/status.ts';
import { summarize } from '../../../src/controller/validate-summary.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';
import type { ScenarioWarning } from '../../../src/scenario/feature-support.ts';
import { renderDeploy } from '../../../src/cli/render/deploy.ts';
import { planJson, renderPlan } from '../../../src/cli/render/plan.ts';
import { renderStatus } from '../../../src/cli/render/status.ts';
import { renderSummary } from '../../../src/cli/render/validate.ts';
import { WARNINGS_PER_FEATURE, warningLines } from '../../../src/cli/render/warnings.ts';

const XML = `<vnx><global><version>2.0</version><scenario_name>lab</scenario_name><vm_mgmt type="net"/></global>
<net name="n" mode="virtual_bridge" dscp="10"/>
<vm name="a" type="libvirt" subtype="kvm"><mem>512M</mem><if id="1" net="n"/></vm>
<vm name="b" type="lxc"><if id="1" net="n"/></vm>
</vnx>`;
const scenario = () => parseScenarioText(XML, 'lab.xml');
const CLUSTER = 'driver: netns\nhosts:\n  - {name: h1, trunk: eth0}\n  - {name: h2, trunk: eth0}\n';

const w = (feature: string, line: number, message = `${feature} at ${line}`): ScenarioWarning => ({ feature, message, loc: { file: 'x.xml', line, column: 1 } });

describe('reports: scenario warnings and drivers', () => {
  it('warning lines: file:line:column and message, grouped by feature, long groups cut', () => {
    const many = Array.from({ length: WARNINGS_PER_FEATURE + 3 }, (_, i) => w('mem', 10 + i));
    const lines = warningLines([w('vm-type', 5), ...many, w('vm-type', 6)], '  ');
    expect(lines[0]).to.equal(`  warnings (${many.length + 2}): what the scenario asks that ediv does not apply`);
    expect(lines.slice(1, 3)).to.deep.equal(['    x.xml:5:1: vm-type at 5', '    x.xml:6:1: vm-type at 6']);
    expect(lines[3]).to.equal('    x.xml:10:1: mem at 10');
    expect(lines[lines.length - 1]).to.equal('    … and 3 more "mem" warnings (--json lists all)');
    expect(warningLines([])).to.deep.equal([]);
  });

  it('validate: the summary lists the warnings and each VM\'s drivers; the text shows them', () => {
    const s = summarize('lab.xml', scenario(), parseClusterText(CLUSTER, 'c.yaml'));
    expect(s.warnings.map((x) => [x.feature, x.vm, x.net, x.loc.line])).to.deep.equal([
      ['vm_mgmt-net', undefined, undefined, 1],
      ['net-dscp', undefined, 'n', 2],
      ['vm-type', 'a', undefined, 3],
      ['mem', 'a', undefined, 3],
      ['vm-type', 'b', undefined, 4],
    ]);
    expect(s.vms.map((v) => v.drivers)).to.deep.equal([['netns'], ['netns']]);
    expect(s.cluster!.driver).to.equal('netns');
    const text = renderSummary(s);
    expect(text).to.include('a (libvirt, 512 MB, driver netns): if1→n');
    expect(text).to.include('; segmentator round-robin; driver netns');
    expect(text).to.include('  warnings (5): what the scenario asks that ediv does not apply\n    lab.xml:1:');
    expect(text).to.include('    lab.xml:3:1: vm a: <mem> 512 MB is not applied by the netns driver');
    // Without a cluster: the default (auto).
    expect(summarize('lab.xml', scenario()).warnings.length).to.be.greaterThan(0);
  });

  it('plan: DRIVER per host in the text and in --json, and the warnings', async () => {
    const plan = await makePlan({ scenario: scenario(), cluster: parseClusterText(CLUSTER, 'c.yaml'), segmentator: 'round-robin' });
    const json = planJson(plan) as { hosts: Record<string, { driver: string }>; warnings: ScenarioWarning[] };
    expect(Object.entries(json.hosts).map(([h, x]) => [h, x.driver])).to.deep.equal([['h1', 'netns'], ['h2', 'netns']]);
    expect(json.warnings.map((x) => x.feature)).to.deep.equal(['vm_mgmt-net', 'net-dscp', 'vm-type', 'mem', 'vm-type']);
    const text = renderPlan(plan);
    expect(text).to.match(/HOST +VMS +DRIVER +FRAGMENT\nh1 +1 +netns +lab_h1\nh2 +1 +netns +lab_h2\n/);
    expect(text).to.match(/\nwarnings \(5\): what the scenario asks that ediv does not apply\n {2}lab\.xml:1:\d+: <vm_mgmt type="net"> is refused by the host agents/);
    // A plan recorded before plans had drivers and warnings still renders.
    const old = { ...plan, warnings: undefined, hosts: { h1: { ...plan.hosts.h1!, driver: undefined } } };
    expect(renderPlan(old)).to.match(/h1 +1 +- +lab_h1/);
    expect((planJson(old) as { warnings: unknown[] }).warnings).to.deep.equal([]);
  });

  it('deploy: the scenario warnings after the tables, not the deploy warnings already shown as they happened', () => {
    const warnings = [w('mem', 3, 'vm a: <mem> 512 MB is not applied'), { feature: 'deploy' as const, message: 'host h3 excluded (inactive): down' }];
    const ok: DeploySuccess = {
      ok: true, scenario: 'lab', status: 'running', segmentator: 'round-robin', backplane: 'vxlan',
      mapping: [{ vm: 'a', host: 'h1' }], hosts: [{ host: 'h1', vms: ['a'], status: 'applied' }], spanning: [],
      excludedHosts: [], warnings, elapsedMs: 10, phasesMs: { facts: 1, plan: 1, apply: 1, discovery: 1 },
    };
    const text = renderDeploy(ok);
    expect(text).to.match(/\n\nwarnings \(1\): what the scenario asks that ediv does not apply\n {2}x\.xml:3:1: vm a: <mem> 512 MB is not applied\n$/);
    expect(text).to.not.include('excluded (inactive): down');
    const failed: DeployFailure = {
      ok: false, scenario: 'lab', outcome: 'rolled-back', failedHosts: [], leftovers: [], excludedHosts: [], warnings,
      elapsedMs: 1, error: new HostFailedError('x'),
    };
    expect(renderDeploy(failed)).to.include('x.xml:3:1: vm a: <mem> 512 MB is not applied');
    expect(renderDeploy({ ...ok, warnings: [] })).to.not.include('warnings');
  });

  it('status: the drivers the recorded plan sends, when it names them', () => {
    const r: StatusReport = {
      scenarios: [
        {
          name: 'lab', key: 'lab.abcdef', owner: { user: 'alice', store: '0123456789abcdef' }, status: 'running', source: 'lab.xml', clusterFile: 'c.yaml', segmentator: 'round-robin',
          createdAt: 't0', updatedAt: 't1', ids: [], backplane: { kind: 'vlan' },
          hosts: [{ host: 'h1', status: 'applied', vms: 1, driver: 'netns' }, { host: 'h2', status: 'applied', vms: 1 }],
          vms: [{ vm: 'a', host: 'h1', recorded: 'running', live: 'running' }],
        },
      ],
      hosts: [],
    };
    expect(renderStatus(r, true)).to.include('  drivers: h1=netns\n');
    expect(renderStatus(r, true)).to.include('  backplane: vlan\n');
  });
});
