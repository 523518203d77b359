// Labs by name, deployments by key: the hosts know a deployment as `<lab>.<uid>` (or by its bare
// name when it was deployed before keys had uids), people as its lab's name. The VM devices
// carry both (the UDN stays the key's); the tree shows the lab name; references take LAB/VM as
// well as KEY/VM, and two labs of one name are an ambiguity the key or the UDN settles.
// Control-point fetches are stubbed.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { vmDevice, vmManagementService } from '../../../src/discovery/hypervisor.ts';
import { deviceDescription } from '../../../src/discovery/description.ts';
import { parseDescription } from '../../../src/discovery/remote-description.ts';
import { vmUdn } from '../../../src/discovery/udn.ts';
import { actionTarget, findVm, targetSeen } from '../../../src/discovery/vm-lookup.ts';
import { isKeyOf, vmLabel } from '../../../src/discovery/vm-ref.ts';
import { recordKnows, type LabRecord } from '../../../src/discovery/identity.ts';
import { fileProvider, inventoryProvider, writeVmFile } from '../../../src/discovery/provider.ts';
import type { DiscoveryTree } from '../../../src/discovery/control-point.ts';
import type { VmEntry } from '../../../src/discovery/types.ts';
import { listVms } from '../../../src/host-agent/inventory.ts';
import { Journal } from '../../../src/host-agent/journal.ts';
import { deploymentDir, writeApplied } from '../../../src/host-agent/store.ts';
import { renderActionResult, renderTree } from '../../../src/cli/render/discover.ts';
import { textView } from '../../../src/cli/discover.ts';
import { InputError } from '../../../src/common/errors.ts';
import { aliveOf, hypervisorDocs, hypervisorTree, locationOf, stubbedControlPoint, until, type VmSpec } from './fixtures.ts';

const A = 'tutorial.ab2cde';
const B = 'tutorial.zz2345';

function device(entry: VmEntry) {
  return vmDevice('host1', entry, vmManagementService(entry, async () => 'running'));
}

/** The tree a control point sees of these hypervisors (ip → host and VMs), optionally rewriting descriptions. */
async function treeOf(hosts: Record<string, [host: string, vms: VmSpec[]]>, record?: LabRecord, rewrite = (xml: string) => xml): Promise<DiscoveryTree> {
  const docs = new Map<string, string>();
  for (const [ip, [host, vms]] of Object.entries(hosts)) {
    for (const [url, doc] of hypervisorDocs(ip, host, vms)) docs.set(url, url === locationOf(ip) ? rewrite(doc) : doc);
  }
  const { cp } = stubbedControlPoint(docs, record);
  for (const [ip, [host]] of Object.entries(hosts)) cp.receive(aliveOf(hypervisorTree(host, []), locationOf(ip)), { address: ip });
  const n = Object.keys(hosts).length;
  expect(await until(() => cp.tree().hypervisors.length === n && !cp.busy())).to.equal(true);
  return cp.tree();
}

const names = (vms: { deployment?: string; name?: string }[]) => vms.map((v) => `${v.deployment}/${v.name}`);

describe('discovery: lab names and deployment keys', () => {
  describe('the VM device', () => {
    it('is named after the lab, carries key and lab as vendor elements, and keeps the key\'s UDN', () => {
      const d = device({ deployment: A, lab: 'tutorial', vm: 'h1', state: 'running' });
      expect(d.udn).to.equal(vmUdn(A, 'h1'));
      expect(d.friendlyName).to.equal('h1 (tutorial)');
      expect(d.modelDescription).to.equal(`VM h1 of scenario tutorial (deployment ${A}) on host host1`);
      expect(d.vendor).to.deep.equal({ deployment: A, lab: 'tutorial', vm: 'h1', host: 'host1' });
      const back = parseDescription(deviceDescription(d, 1), 'http://198.18.6.11:4000/description.xml');
      expect(back.vendor).to.deep.equal(d.vendor);
    });

    it('of a lab deployed before keys (no lab name): the bare name is both', () => {
      const d = device({ deployment: 'old', vm: 'r1', state: 'running' });
      expect(d.udn).to.equal(vmUdn('old', 'r1'));
      expect([d.friendlyName, d.modelDescription]).to.deep.equal(['r1 (old)', 'VM r1 of scenario old on host host1']);
      expect(d.vendor).to.deep.equal({ deployment: 'old', lab: 'old', vm: 'r1', host: 'host1' });
    });

    it('two labs of one name give two devices with distinct UDNs', () => {
      const [a, b] = [A, B].map((deployment) => device({ deployment, lab: 'tutorial', vm: 'h1', state: 'running' }));
      expect(a!.friendlyName).to.equal(b!.friendlyName);
      expect(a!.udn).to.not.equal(b!.udn);
    });
  });

  describe('where the daemon gets the lab name from', () => {
    let dir: string;
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-labs-'))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('the agent\'s inventory: applied.json\'s lab, else the deployment key', async () => {
      for (const [deployment, lab] of [[A, 'tutorial'], ['old', undefined]] as const) {
        writeApplied(dir, { deployment, ...(lab ? { lab } : {}), host: 'h1', fragmentXml: '<vnx/>', backplane: [], driver: 'netns' });
        Journal.open(deploymentDir(dir, deployment)).append([{ t: 'vm', vm: 'r1', hash: 'x' }]);
      }
      // No namespace exists for them here: the VMs are missing, which is beside the point.
      expect(await listVms(dir)).to.deep.equal([
        { deployment: 'old', lab: 'old', vm: 'r1', host: 'h1', state: 'missing' },
        { deployment: A, lab: 'tutorial', vm: 'r1', host: 'h1', state: 'missing' },
      ]);
    });

    it('the providers pass it on (and leave it out where there is none)', async () => {
      const inventory = {
        list: async () => [{ deployment: A, lab: 'tutorial', vm: 'h1', host: 'h1', state: 'running' as const }, { deployment: 'old', vm: 'r1', host: '', state: 'stopped' as const }],
        act: async () => 'running' as const,
      };
      const served: VmEntry[] = [{ deployment: A, lab: 'tutorial', vm: 'h1', state: 'running' }, { deployment: 'old', vm: 'r1', state: 'stopped' }];
      expect(await inventoryProvider(inventory, 'h1', []).list()).to.deep.equal(served);
      const file = path.join(dir, 'vms.json');
      writeVmFile(file, { vms: [{ ...served[0]!, netns: 'ns1' }, served[1]!] });
      expect(await fileProvider(file).list()).to.deep.equal(served);
    });
  });

  describe('the tree', () => {
    it('gives each VM its key (deployment) and lab name; text shows lab/vm and the key where it differs', async () => {
      const t = await treeOf({ '198.18.6.11': ['h1', [[A, 'h1', 'tutorial'], ['old', 'r1']]] });
      const vms = t.hypervisors[0]!.vms;
      expect(vms.map((v) => [v.deployment, v.lab, v.name])).to.deep.equal([['old', 'old', 'r1'], [A, 'tutorial', 'h1']]);
      const text = renderTree(textView(t));
      expect(text).to.contain(`  tutorial/h1 [unverified] (${A})  ${vmUdn(A, 'h1')}`);
      expect(text).to.contain(`  old/r1 [unverified]  ${vmUdn('old', 'r1')}`);
      const json = JSON.parse(JSON.stringify(t)) as DiscoveryTree;
      expect(json.hypervisors[0]!.vms[1]).to.include({ deployment: A, lab: 'tutorial', name: 'h1' });
    });

    it('sorts by lab/vm, then by key', async () => {
      const t = await treeOf({ '198.18.6.11': ['h1', [[B, 'h1', 'tutorial'], ['alpha.ab2cde', 'z9', 'alpha'], [A, 'h1', 'tutorial'], [A, 'a0', 'tutorial']]] });
      expect(names(t.hypervisors[0]!.vms)).to.deep.equal(['alpha.ab2cde/z9', `${A}/a0`, `${A}/h1`, `${B}/h1`]);
    });

    it('a VM of a daemon that sends no ediv:lab goes by its key', async () => {
      const noLab = (xml: string) => xml.replace(/\s*<ediv:lab>[^<]*<\/ediv:lab>/g, '');
      const t = await treeOf({ '198.18.6.11': ['h1', [[A, 'h1', 'tutorial']]] }, undefined, noLab);
      expect(t.hypervisors[0]!.vms.map((v) => [v.deployment, v.lab])).to.deep.equal([[A, A]]);
      // Still found by the lab's name: the key has its form.
      expect(names(findVm(t, 'tutorial/h1'))).to.deep.equal([`${A}/h1`]);
    });

    it('action results name the lab and, where it differs, the key', () => {
      const base = { ok: true as const, udn: 'uuid:x', serviceType: 'urn:x:service:Y:1', action: 'Stop', verified: true, result: {} };
      expect(renderActionResult({ ...base, vm: 'h1', deployment: A, lab: 'tutorial' })).to.equal(`Stop on tutorial/h1 (${A}): ok\n`);
      expect(renderActionResult({ ...base, vm: 'r1', deployment: 'old', lab: 'old' })).to.equal('Stop on old/r1: ok\n');
      expect(vmLabel({ deployment: 'old', name: 'r1' })).to.equal('old/r1');
    });
  });

  describe('references', () => {
    it('one lab: LAB/VM, KEY/VM, the VM name and the UDN all name its VM', async () => {
      const t = await treeOf({ '198.18.6.11': ['h1', [[A, 'h1', 'tutorial'], [A, 'h2', 'tutorial']]] });
      for (const ref of ['tutorial/h1', `${A}/h1`, 'h1', vmUdn(A, 'h1')]) {
        expect(names(findVm(t, ref)), ref).to.deep.equal([`${A}/h1`]);
        expect(actionTarget(findVm(t, ref), ref, 'Stop').vm.udn, ref).to.equal(vmUdn(A, 'h1'));
      }
      for (const ref of ['tutorial/h9', 'tutor/h1', 'tutorial.ab2cdf/h1', `${A}.ab2cde/h1`]) expect(findVm(t, ref), ref).to.deep.equal([]);
    });

    it('two labs of one name: LAB/VM names both and the error lists their keys; KEY/VM and the UDN name one', async () => {
      const t = await treeOf({ '198.18.6.11': ['h1', [[A, 'h1', 'tutorial']]], '198.18.6.12': ['h2', [[B, 'h1', 'tutorial']]] });
      expect(names(findVm(t, 'tutorial/h1'))).to.deep.equal([`${A}/h1`, `${B}/h1`]);
      expect(() => actionTarget(findVm(t, 'tutorial/h1'), 'tutorial/h1', 'Stop')).to.throw(
        InputError,
        `"tutorial/h1" names 2 VMs (${A}/h1, ${B}/h1): give one of these deployment-key/vm forms or the VM's UDN`,
      );
      expect(() => actionTarget(findVm(t, 'h1'), 'h1', 'Stop')).to.throw(InputError, /names 2 VMs/);
      for (const [ref, key] of [[`${B}/h1`, B], [vmUdn(A, 'h1'), A]] as const) {
        expect(actionTarget(findVm(t, ref), ref, 'Stop').vm.deployment, ref).to.equal(key);
      }
    });

    it('a lab deployed before keys: its bare name names it, even beside a keyed lab of that name', async () => {
      const t = await treeOf({ '198.18.6.11': ['h1', [['old', 'r1'], ['tutorial', 'h1'], [A, 'h1', 'tutorial']]] });
      expect(actionTarget(findVm(t, 'old/r1'), 'old/r1', 'Stop').vm.deployment).to.equal('old');
      // Both are lab "tutorial"; the ref gives the old one's key, and the new one has its own.
      expect(names(findVm(t, 'tutorial/h1'))).to.deep.equal([`tutorial/h1`, `${A}/h1`]);
      expect(actionTarget(findVm(t, 'tutorial/h1'), 'tutorial/h1', 'Stop').vm.deployment).to.equal('tutorial');
      expect(actionTarget(findVm(t, `${A}/h1`), `${A}/h1`, 'Stop').vm.deployment).to.equal(A);
    });

    it('an unverified VM claiming the bare key never shadows the verified lab of that name', async () => {
      const record: LabRecord = { hosts: new Map([['h1', ['198.18.6.11']]]), vms: new Map([[`${A}/h1`, { host: 'h1', address: '198.18.6.11' }]]) };
      const t = await treeOf({ '198.18.6.11': ['h1', [[A, 'h1', 'tutorial']]], '198.18.6.66': ['h1', [['tutorial', 'h1']]] }, record);
      const { vm } = actionTarget(findVm(t, 'tutorial/h1'), 'tutorial/h1', 'Stop');
      expect([vm.deployment, vm.verified]).to.deep.equal([A, true]);
      // The record knows lab/vm refs, so a call waits for the verified VM.
      const onlyRogue = { ...t, hypervisors: t.hypervisors.filter((h) => !h.verified) };
      expect(targetSeen(onlyRogue, 'tutorial/h1', 'Stop', undefined, record)).to.equal(false);
      expect(targetSeen(t, 'tutorial/h1', 'Stop', undefined, record)).to.equal(true);
    });
  });

  describe('the record (keyed by deployment key)', () => {
    const record: LabRecord = {
      hosts: new Map(),
      vms: new Map([[`${A}/h1`, { host: 'h1', address: '198.18.6.11' }], ['old/r1', { host: 'h1', address: '198.18.6.11' }]]),
    };

    it('knows its VMs by lab/vm, key/vm, name and UDN', () => {
      for (const ref of ['tutorial/h1', `${A}/h1`, 'h1', vmUdn(A, 'h1'), 'old/r1', 'r1', vmUdn('old', 'r1')]) expect(recordKnows(record, ref), ref).to.equal(true);
      for (const ref of [`${B}/h1`, 'tutor/h1', 'tutorial/r1', 'old/h1', vmUdn('tutorial', 'h1'), 'h9']) expect(recordKnows(record, ref), ref).to.equal(false);
      expect(recordKnows(undefined, 'tutorial/h1')).to.equal(false);
    });

    it('a key is a lab\'s when it is the bare name or the name and a uid', () => {
      expect(isKeyOf(A, 'tutorial')).to.equal(true);
      expect(isKeyOf('tutorial', 'tutorial')).to.equal(true);
      expect(isKeyOf('a.b.ab2cde', 'a.b')).to.equal(true);
      for (const key of ['tutorial.ab2cd1', 'tutorial.ab2cdef', 'tutorial.x.ab2cde', 'tutorial2.ab2cde', 'tutorial.']) expect(isKeyOf(key, 'tutorial'), key).to.equal(false);
    });
  });
});
