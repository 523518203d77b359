// Audit item 5 (impersonation): a VM is verified only as an embedded device of the hypervisor
// whose LOCATION is its host's management address in the lab's record; everything else is
// unverified and never shadows a verified entry (lookup prefers verified VMs, and on them the
// hypervisor's own service over a self-advertised one). The record comes from the
// controller's state. Control-point fetches are stubbed.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deviceDescription } from '../../../src/discovery/description.ts';
import { selfAdvertisedVm } from '../../../src/discovery/advertiser.ts';
import { vmUdn } from '../../../src/discovery/udn.ts';
import { actionTarget, findVm, targetSeen } from '../../../src/discovery/vm-lookup.ts';
import type { LabRecord } from '../../../src/discovery/identity.ts';
import { discoveryRecord } from '../../../src/controller/discovery-hooks.ts';
import { STATE_FILE } from '../../../src/state/sqlite.ts';
import { openStateStore } from '../../../src/state/open.ts';
import type { Cluster } from '../../../src/protocol/cluster.ts';
import type { Plan } from '../../../src/protocol/plan.ts';
import { InputError } from '../../../src/common/errors.ts';
import { aliveOf, hypervisorDocs, hypervisorTree, locationOf, stubbedControlPoint, until } from './fixtures.ts';

const record: LabRecord = {
  hosts: new Map([['h1', ['198.18.6.11']], ['h3', ['198.18.6.13']]]),
  vms: new Map([['lab/r1', { host: 'h1', address: '198.18.6.11' }], ['lab/h3', { host: 'h3', address: '198.18.6.13' }]]),
};

/** The real h1 (lab/r1) at .11, a rogue at .66 calling itself h1 with lab/r1 and lab/h3, and a VM self-advertising at .70. */
async function scene(rec: LabRecord | undefined) {
  const docs = new Map([...hypervisorDocs('198.18.6.11', 'h1', [['lab', 'r1']]), ...hypervisorDocs('198.18.6.66', 'h1', [['lab', 'r1'], ['lab', 'h3']])]);
  // A self-advertisement under r1's UDN offering a "Stop" of its own.
  const fake = selfAdvertisedVm({ udn: vmUdn('lab', 'r1'), deployment: 'lab', vm: 'r1' }, {
    services: [{ serviceType: 'urn:evil-org:service:Trap:1', actions: [{ name: 'Stop', command: ['true'] }] }],
  });
  docs.set(locationOf('198.18.6.70'), deviceDescription(fake, 1));
  docs.set('http://198.18.6.70:4000/upnp/' + vmUdn('lab', 'r1').slice(5) + '/0-Trap/scpd.xml', '<scpd><actionList><action><name>Stop</name></action></actionList></scpd>');
  const { cp } = stubbedControlPoint(docs, rec);
  for (const ip of ['198.18.6.11', '198.18.6.66']) cp.receive(aliveOf(hypervisorTree('h1', []), locationOf(ip)), { address: ip });
  cp.receive(aliveOf(fake, locationOf('198.18.6.70')), { address: '198.18.6.70' });
  expect(await until(() => cp.tree().hypervisors.length === 2 && !cp.busy())).to.equal(true);
  return cp.tree();
}

describe('discovery: identity of hypervisors and VMs', () => {
  it('with the record: only the hypervisor at the recorded address and the VMs the record puts there are verified', async () => {
    const t = await scene(record);
    const [first, second] = t.hypervisors;
    expect([first!.location, first!.verified]).to.deep.equal([locationOf('198.18.6.11'), true]);
    expect([second!.location, second!.verified]).to.deep.equal([locationOf('198.18.6.66'), false]);
    expect(first!.vms.map((v) => [v.name, v.verified])).to.deep.equal([['r1', true]]);
    expect(second!.vms.map((v) => [v.name, v.verified])).to.deep.equal([['h3', false], ['r1', false]]);
  });

  it('a VM is verified only at the address of its own lab\'s host (another lab may know the host elsewhere)', async () => {
    const twoLabs: LabRecord = { hosts: new Map([['h1', ['198.18.6.11', '198.18.6.66']]]), vms: record.vms };
    const t = await scene(twoLabs);
    expect(t.hypervisors.map((h) => h.verified)).to.deep.equal([true, true]);
    expect(t.hypervisors.map((h) => h.vms.find((v) => v.name === 'r1')!.verified)).to.deep.equal([true, false]);
  });

  it('a rogue never shadows a verified VM: lookups pick the real one, and its hypervisor service over a self-advertised action', async () => {
    const t = await scene(record);
    expect(findVm(t, 'lab/r1')).to.have.length(2);
    const { vm, service } = actionTarget(findVm(t, 'lab/r1'), 'lab/r1', 'Stop');
    expect(vm.verified).to.equal(true);
    expect(vm.services.filter((s) => s.actions?.some((a) => a.name === 'Stop')).map((s) => s.source)).to.deep.equal(['hypervisor', 'vm']);
    expect(service.source).to.equal('hypervisor');
    expect(service.controlUrl).to.match(/^http:\/\/198\.18\.6\.11:4000\//);
    // lab/h3 is only announced by the rogue: found, but unverified (the caller is told).
    expect(actionTarget(findVm(t, 'lab/h3'), 'lab/h3', 'Stop').vm.verified).to.equal(false);
  });

  it('a call waits for the verified VM when the record knows it, not for the first impostor', async () => {
    const t = await scene(record);
    const onlyRogue = { ...t, hypervisors: t.hypervisors.filter((h) => !h.verified) };
    for (const ref of ['lab/r1', 'r1', vmUdn('lab', 'r1')]) {
      expect(targetSeen(onlyRogue, ref, 'Stop', undefined, record), ref).to.equal(false);
      expect(targetSeen(t, ref, 'Stop', undefined, record), ref).to.equal(true);
      expect(targetSeen(onlyRogue, ref, 'Stop', undefined, undefined), ref).to.equal(true);
    }
    expect(targetSeen(onlyRogue, 'lab/zz', 'Stop', undefined, record)).to.equal(false);
  });

  it('without the record nothing is verified, and the ambiguity is the user\'s to settle (as before)', async () => {
    const t = await scene(undefined);
    expect(t.hypervisors.every((h) => !h.verified && h.vms.every((v) => !v.verified))).to.equal(true);
    expect(() => actionTarget(findVm(t, 'lab/r1'), 'lab/r1', 'Stop')).to.throw(InputError, /names 2 VMs/);
  });

  describe('the record from the controller state', () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-record-'))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('none (and nothing created) where there is no state', async () => {
      expect(await discoveryRecord({ kind: 'sqlite', dir })).to.equal(undefined);
      expect(fs.readdirSync(dir)).to.deep.equal([]);
    });

    it('hosts with IPv4 addresses and the VMs placed on them', async () => {
      const cluster = {
        backplane: 'vxlan', source: { path: '/c.yaml' }, management: {},
        hosts: [{ name: 'host1', address: '198.18.0.11' }, { name: 'host2', address: 'kofy.example.org' }],
      } as unknown as Cluster;
      const plan = {
        scenario: 'lab', segmentator: 'rr', backplane: 'vxlan', mapping: { a: 'host1', b: 'host2' }, spanning: [],
        hosts: {
          host1: { host: 'host1', vms: ['a'], fragmentName: 'lab_host1', fragmentXml: '<vnx/>', fragment: {} as never, backplane: [] },
          host2: { host: 'host2', vms: ['b'], fragmentName: 'lab_host2', fragmentXml: '<vnx/>', fragment: {} as never, backplane: [] },
        },
        quality: { spanningNets: 0, crossHostAttachments: 0, imbalance: 0 },
      } as unknown as Plan;
      const store = await openStateStore({ kind: 'sqlite', dir });
      await store.createScenario({ name: 'lab', user: 'alice', sourcePath: 'lab.xml', cluster, segmentator: 'rr', makePlan: () => plan });
      const key = (await store.getScenario('lab'))!.key;
      await store.close();
      expect(fs.existsSync(path.join(dir, STATE_FILE))).to.equal(true);
      const rec = (await discoveryRecord({ kind: 'sqlite', dir }))!;
      expect([...rec.hosts]).to.deep.equal([['host1', ['198.18.0.11']]]);
      // Keyed as the hosts advertise the lab: by its key (name and uid).
      expect([...rec.vms]).to.deep.equal([[`${key}/a`, { host: 'host1', address: '198.18.0.11' }]]); // b's host has no address to check
    });
  });
});
