import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateScenario, scenarioFromSpec, SHAPES } from '../../../bench/lib/generate.ts';
import { OperationError } from '../../../src/common/errors.ts';
import { loadCluster } from '../../../src/controller/cluster.ts';
import type { Cluster } from '../../../src/protocol/cluster.ts';
import { emulatedCluster } from '../../../src/emulated/layout.ts';
import { allocateIds } from '../../../src/controller/ids.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import type { Plan } from '../../../src/protocol/plan.ts';
import { loadRestrictions } from '../../../src/controller/restrictions.ts';
import { parseScenarioFile, parseScenarioText } from '../../../src/scenario/index.ts';
import type { Scenario } from '../../../src/scenario/model.ts';
import { builtinSegmentators } from '../../../src/segmentators/registry.ts';
import { vmMgmtOf, withMgmtOffset } from '../../../src/scenario/vm-mgmt.ts';
import { BGP_XML } from '../../helpers/bgp-scenario.ts';
import { itWithThirdParty, thirdPartyPath } from '../../helpers/third-party.ts';

// The real VNX scenarios and EDIV files, read in place from ../shared/third-party/vnx (those tests are skipped, saying so, without it).
const thirdParty = thirdPartyPath('vnx');
const THIRD_PARTY_FILES = [
  '01-simple_lxc_ubuntu.xml',
  '02-tutorial_lxc_ubuntu.xml',
  '02b-tutorial_ubuntu.xml',
  '03-ediv_testing-tutorial_root2_all.xml',
  '04-vnuml18-s21seclabsvirtual-v02.xml',
];


/** The split property: the fragments together are the scenario. */
function checkUnion(scenario: Scenario, plan: Plan, cluster: Cluster): void {
  const seen = new Map<string, string>();
  let hostSections = 0;
  const mgmt = vmMgmtOf(scenario);
  let mgmtVmsBefore = 0;
  for (const hp of Object.values(plan.hosts)) {
    expect(hp.fragmentName).to.equal(`${scenario.name}_${hp.host}`);
    expect(hp.fragment.name).to.equal(hp.fragmentName);
    expect(hp.fragment.source.format).to.equal(scenario.source.format);
    // The scenario's global section; a private <vm_mgmt> offset by 4 × the VMs of the earlier fragments (EDIV).
    const offset = mgmt?.type === 'private' && mgmtVmsBefore > 0 ? mgmt.offset + 4 * mgmtVmsBefore : undefined;
    expect(hp.fragment.global).to.deep.equal(offset === undefined ? scenario.global : withMgmtOffset(scenario.global, offset));
    if (offset !== undefined) expect(vmMgmtOf(parseScenarioText(hp.fragmentXml, 'f.xml'))!.offset).to.equal(offset);
    mgmtVmsBefore += hp.fragment.vms.length;
    for (const [seq, parts] of hp.fragment.cmdSeqs) {
      expect(parts.length).to.be.above(0);
      for (const p of parts) expect(scenario.cmdSeqs.get(seq)).to.include(p);
    }
    if (hp.fragment.host) hostSections++;
    const used = new Set(hp.fragment.vms.flatMap((vm) => vm.ifaces.map((f) => f.net)));
    for (const hi of hp.fragment.host?.ifaces ?? []) used.add(hi.net);
    expect(hp.fragment.nets.map((n) => n.name).sort()).to.deep.equal([...used].sort(), 'only the nets the fragment uses');
    for (const vm of hp.fragment.vms) {
      expect(seen.has(vm.name), `${vm.name} in one fragment only`).to.equal(false);
      seen.set(vm.name, hp.host);
      expect(plan.mapping[vm.name]).to.equal(hp.host);
      expect(vm).to.deep.equal(scenario.vms.find((v) => v.name === vm.name), 'VM unchanged, interfaces on the same nets');
    }
    // The written fragment is a valid document of the same dialect that reads back the same.
    const back = parseScenarioText(hp.fragmentXml, `${hp.host}.xml`);
    expect(back.name).to.equal(hp.fragmentName);
    expect(back.vms.map((v) => [v.name, v.ifaces.map((f) => [f.id, f.net])])).to.deep.equal(
      hp.fragment.vms.map((v) => [v.name, v.ifaces.map((f) => [f.id, f.net])]),
    );
    const host = cluster.hosts.find((h) => h.name === hp.host)!;
    for (const net of back.nets) {
      const span = plan.spanning.find((s) => s.net === net.name);
      if (span) {
        expect(net.external).to.equal(cluster.backplane === 'vlan' ? `${host.trunk}.${span.id}` : `vxlan${span.id}`);
        const link = hp.backplane.find((b) => b.net === net.name)!;
        expect(link).to.include({ kind: cluster.backplane, id: span.id, trunk: host.trunk });
        expect(link.remotes).to.have.length(span.hosts.length - 1);
      } else {
        expect(net.external).to.equal(scenario.nets.find((n) => n.name === net.name)!.external);
      }
    }
    expect(hp.backplane.map((b) => b.net)).to.deep.equal(plan.spanning.filter((s) => s.hosts.includes(hp.host)).map((s) => s.net));
  }
  expect([...seen.keys()].sort()).to.deep.equal(scenario.vms.map((v) => v.name).sort(), 'every VM exactly once');
  expect(hostSections).to.equal(scenario.host && scenario.vms.length ? 1 : 0);
  // Spanning nets: exactly those carried by several hosts; ids unique and in range.
  const ids = plan.spanning.map((s) => s.id);
  expect(new Set(ids).size).to.equal(ids.length);
  for (const id of ids) expect(id).to.be.within(cluster.ids.first, cluster.ids.last);
  expect(plan.spanning.map((s) => s.net)).to.deep.equal([...plan.spanning.map((s) => s.net)].sort());
  expect(plan.quality.spanningNets).to.equal(plan.spanning.length);
}

describe('makePlan: the split', function () {
  this.timeout(120000);
  const cluster3 = emulatedCluster(3, '/nonexistent/cluster');

  for (const file of THIRD_PARTY_FILES) {
    itWithThirdParty(`${file}: fragments add up to the scenario, with every segmentator`, async () => {
      const scenario = await parseScenarioFile(path.join(thirdParty, file));
      for (const seg of builtinSegmentators) {
        const plan = await makePlan({ scenario, cluster: cluster3, segmentator: seg.name });
        expect(plan.segmentator).to.equal(seg.name);
        checkUnion(scenario, plan, cluster3);
      }
    }, 'vnx');
  }

  for (const shape of SHAPES) {
    it(`generated ${shape} scenario: fragments add up, vlan and vxlan bindings`, async () => {
      const scenario = generateScenario({ shape, vms: 120, seed: 5 });
      for (const seg of builtinSegmentators) {
        for (const backplane of ['vxlan', 'vlan'] as const) {
          const cluster = { ...emulatedCluster(4, '/nonexistent/cluster'), backplane };
          const plan = await makePlan({ scenario, cluster, segmentator: seg.name, idsInUse: new Set([1000, 1002]) });
          checkUnion(scenario, plan, cluster);
          expect(plan.spanning.map((s) => s.id)).to.not.include.members([1000, 1002]);
        }
      }
    });
  }

  it('binds spanning nets as EDIV did and records the backplane links', async () => {
    const scenario = scenarioFromSpec('lab', { a: ['n1', 'n2'], b: ['n1'], c: ['n2'], d: ['n3'] });
    const cluster = emulatedCluster(2, '/x');
    cluster.hosts[1].trunk = 'eth7';
    cluster.hosts[1].trunkAddress = undefined;
    const plan = await makePlan({ scenario, cluster: { ...cluster, backplane: 'vlan' }, segmentator: 'round-robin' });
    // a→host1, b→host2, c→host1, d→host2: n1 spans.
    expect(plan.spanning).to.deep.equal([{ net: 'n1', id: 1000, hosts: ['host1', 'host2'] }]);
    expect(plan.hosts.host2.fragment.nets.find((n) => n.name === 'n1')!.external).to.equal('eth7.1000');
    expect(plan.hosts.host2.fragmentXml).to.contain('external="eth7.1000"');
    expect(plan.hosts.host1.fragment.nets.map((n) => n.name)).to.deep.equal(['n1', 'n2']);
    expect(plan.hosts.host2.backplane).to.deep.equal([
      { kind: 'vlan', net: 'n1', id: 1000, trunk: 'eth7', localAddress: cluster.hosts[1].address, remotes: [cluster.hosts[0].trunkAddress] },
    ]);
    expect(plan.quality).to.deep.equal({ spanningNets: 1, crossHostAttachments: 1, imbalance: 0 });
  });

  itWithThirdParty('keeps the <host> section in the fragment of the host running a VM on the first hostif net', async () => {
    const scenario = await parseScenarioFile(path.join(thirdParty, '02-tutorial_lxc_ubuntu.xml'));
    const hostifNet = scenario.host!.ifaces[0].net;
    for (const seg of builtinSegmentators) {
      const plan = await makePlan({ scenario, cluster: cluster3, segmentator: seg.name });
      const firstVm = scenario.vms.find((v) => v.ifaces.some((f) => f.net === hostifNet))!;
      const keeper = plan.mapping[firstVm.name];
      for (const hp of Object.values(plan.hosts)) {
        expect(Boolean(hp.fragment.host), `${seg.name} ${hp.host}`).to.equal(hp.host === keeper);
        expect(hp.fragmentXml.includes('<host>')).to.equal(hp.host === keeper);
      }
    }
  }, 'vnx');

  it('a hostif net whose VMs run elsewhere spans to the host-section host', async () => {
    const base = scenarioFromSpec('hs', { a: ['lan'], b: ['other'] });
    const scenario: Scenario = {
      ...base,
      host: { ifaces: [{ net: 'nowhere', ipv4: [], ipv6: [], extra: { attrs: {}, children: [] } }, { net: 'other', ipv4: [], ipv6: [], extra: { attrs: {}, children: [] } }], routes: [], execs: [], extra: { attrs: {}, children: [] } },
      nets: [...base.nets, { name: 'nowhere', mode: 'virtual_bridge', extra: { attrs: {}, children: [] } }],
    };
    const plan = await makePlan({ scenario, cluster: emulatedCluster(2, '/x'), segmentator: 'round-robin' });
    // b (on "other") runs on host2, which therefore keeps the host section and the "nowhere" net.
    expect(plan.hosts.host2.fragment.host).to.equal(scenario.host);
    expect(plan.hosts.host2.fragment.nets.map((n) => n.name)).to.deep.equal(['other', 'nowhere']);
    expect(plan.spanning).to.deep.equal([]);
  });

  itWithThirdParty("honours EDIV's restriction example (03d) on the 0.9.4 cluster.conf (03c), with every segmentator", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-bgp-'));
    try {
      const file = path.join(dir, 'bgp.xml');
      writeFileSync(file, BGP_XML);
      const scenario = await parseScenarioFile(file);
      const cluster = await loadCluster(path.join(thirdParty, '03c-ediv-0.9.4-cluster.conf'));
      const restrictions = await loadRestrictions(path.join(thirdParty, '03d-ediv-restriction-file-bgp.xml'), scenario, cluster);
      for (const seg of builtinSegmentators) {
        const plan = await makePlan({ scenario, cluster, segmentator: seg.name, restrictions });
        expect(plan.mapping, seg.name).to.deep.equal({ R1: 'kofy', R2: 'zermat', R3: 'zermat', R4: 'kofy', R5: 'kofy', R6: 'zermat' });
        expect(plan.backplane).to.equal('vlan');
        expect(plan.spanning.map((s) => [s.net, s.id])).to.deep.equal([['AS1-AS2', 100], ['AS5-AS6', 101]]);
        expect(plan.hosts.kofy.fragment.nets.find((n) => n.name === 'AS1-AS2')!.external).to.equal('eth1.100');
        checkUnion(scenario, plan, cluster);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 'vnx');

  it('plans with the default segmentator of the cluster and the given active hosts only', async () => {
    const scenario = generateScenario({ shape: 'ring', vms: 6, seed: 1 });
    const cluster = emulatedCluster(3, '/x');
    const plan = await makePlan({ scenario, cluster, hosts: [{ name: 'host3', cpu: 100, labels: {} }, { name: 'host1', cpu: 100, labels: {} }] });
    expect(plan.segmentator).to.equal('round-robin');
    expect(Object.keys(plan.hosts)).to.deep.equal(['host1', 'host3']);
    expect(Object.values(plan.mapping)).to.deep.equal(['host1', 'host3', 'host1', 'host3', 'host1', 'host3']);
  });
});

describe('backplane id allocation', () => {
  it('gives ids in net-name order from the range, skipping ids in use', () => {
    const ids = allocateIds(['b', 'a', 'c'], { first: 10, last: 20 }, new Set([10, 12]));
    expect([...ids]).to.deep.equal([
      ['a', 11],
      ['b', 13],
      ['c', 14],
    ]);
  });
  it('uses only the ids of disjoint ranges', () => {
    const ids = allocateIds(['a', 'b'], { first: 1, last: 30, ranges: [{ first: 1, last: 2 }, { first: 30, last: 30 }] }, new Set([2]));
    expect([...ids.values()]).to.deep.equal([1, 30]);
  });
  it('fails clearly when the range is exhausted', () => {
    expect(() => allocateIds(['a', 'b', 'c'], { first: 5, last: 7 }, new Set([6]))).to.throw(OperationError, /5-7 is exhausted: 3 nets span hosts, only 2 ids are free/);
  });
  it('a plan that needs more ids than the cluster has is refused', async () => {
    const scenario = generateScenario({ shape: 'ring', vms: 8, seed: 1 });
    const cluster = { ...emulatedCluster(4, '/x'), ids: { first: 1, last: 3 } };
    let err: unknown;
    try {
      await makePlan({ scenario, cluster, segmentator: 'round-robin' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(OperationError);
  });
});
