// The backplane ids in use on a host (backplane-ids.ts): which of an apply's ids another
// deployment of the state directory uses, what the refusal says, and what facts lists.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorObject } from '../../../src/common/errors.ts';
import { backplaneIdsInUse, checkBackplaneIds, idCollisions, IdsTakenError, idsTakenError } from '../../../src/host-agent/backplane-ids.ts';
import { writeApplied, writeOwner } from '../../../src/host-agent/store.ts';
import type { BackplaneIdUse } from '../../../src/protocol/agent.ts';
import type { BackplaneLink } from '../../../src/protocol/plan.ts';

const alice = { user: 'alice', store: '1f2e3d4c-5b6a-4789-8abc-def012345678' };
const vxlan = (net: string, id: number): BackplaneLink => ({ kind: 'vxlan', net, id, trunk: 'eth0', localAddress: '198.18.0.1', remotes: ['198.18.0.2'] });
const vlan = (net: string, id: number): BackplaneLink => ({ kind: 'vlan', net, id, trunk: 'eth0', remotes: [] });

describe('host-agent backplane ids in use', () => {
  it('an id collides with the same id of the same kind only', () => {
    const inUse: BackplaneIdUse[] = [
      { kind: 'vxlan', id: 1001, net: 'Net0', deployment: 'tutorial.ab2cde', owner: alice },
      { kind: 'vlan', id: 200, net: 'Net1', deployment: 'old-lab' },
    ];
    expect(idCollisions([vxlan('N', 1002), vxlan('M', 200), vlan('V', 1001)], inUse)).to.deep.equal([]);
    const c = idCollisions([vxlan('Net0', 1001), vlan('X', 200), vxlan('Y', 7)], inUse);
    expect(c.map((x) => [x.link.net, x.use.deployment])).to.deep.equal([
      ['Net0', 'tutorial.ab2cde'],
      ['X', 'old-lab'],
    ]);
  });

  it('the refusal names each id, its kind and net, the deployment using it and its owner; code ids-taken', () => {
    const use: BackplaneIdUse = { kind: 'vxlan', id: 1001, net: 'Net0', deployment: 'tutorial.ab2cde', owner: alice };
    const err = idsTakenError('h2', [{ link: vxlan('Net0', 1001), use }]);
    expect(err).to.be.instanceOf(IdsTakenError);
    expect(err.message).to.equal(
      'host h2: backplane id 1001 (vxlan, net Net0) is in use here by deployment tutorial.ab2cde (owner alice, state store 1f2e3d4c…): ' +
        'refusing to join the two labs; nothing was made',
    );
    const obj = errorObject(err);
    expect(obj.code).to.equal('ids-taken');
    expect(obj.details).to.deep.include({ ids: [{ kind: 'vxlan', id: 1001, net: 'Net0' }], deployment: 'tutorial.ab2cde', owner: alice });
    // Another net name, no recorded owner; two collisions in one message.
    const two = idsTakenError('h2', [
      { link: vxlan('A', 5), use: { kind: 'vxlan', id: 5, net: 'B', deployment: 'old' } },
      { link: vlan('C', 6), use: { kind: 'vlan', id: 6, net: 'C', deployment: 'old' } },
    ]);
    expect(two.message).to.equal(
      'host h2: backplane id 5 (vxlan, net A) is in use here by deployment old, net B (no recorded owner); ' +
        'backplane id 6 (vlan, net C) is in use here by deployment old (no recorded owner): refusing to join the two labs; nothing was made',
    );
  });

  describe('on a state directory', () => {
    let stateDir: string;
    const applied = (deployment: string, backplane: BackplaneLink[]) =>
      writeApplied(stateDir, { deployment, host: 'h1', fragmentXml: '<vnx/>', backplane, driver: 'netns' });
    beforeEach(() => {
      stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-ids-'));
      applied('tutorial.aaaaaa', [vxlan('Net0', 1001), vxlan('Net1', 1002)]);
      writeOwner(stateDir, 'tutorial.aaaaaa', alice);
      applied('legacy', [vlan('N', 300)]);
      applied('local.cccccc', []);
      fs.mkdirSync(path.join(stateDir, 'deployments', 'half-made'), { recursive: true }); // no applied.json
    });
    afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));

    it('lists every deployment\'s ids with kind, net, deployment and owner (what facts says)', () => {
      expect(backplaneIdsInUse(stateDir)).to.deep.equal([
        { kind: 'vlan', id: 300, net: 'N', deployment: 'legacy' },
        { kind: 'vxlan', id: 1001, net: 'Net0', deployment: 'tutorial.aaaaaa', owner: alice },
        { kind: 'vxlan', id: 1002, net: 'Net1', deployment: 'tutorial.aaaaaa', owner: alice },
      ]);
      expect(backplaneIdsInUse(stateDir, 'tutorial.aaaaaa').map((u) => u.id)).to.deep.equal([300]);
    });

    it('an apply may use its own ids again, not another deployment\'s', () => {
      expect(() => checkBackplaneIds(stateDir, { deployment: 'tutorial.aaaaaa', host: 'h1', backplane: [vxlan('Net0', 1001)] })).to.not.throw();
      expect(() => checkBackplaneIds(stateDir, { deployment: 'tutorial.bbbbbb', host: 'h1', backplane: [vxlan('Net0', 1003)] })).to.not.throw();
      expect(() => checkBackplaneIds(stateDir, { deployment: 'tutorial.bbbbbb', host: 'h1', backplane: [vxlan('Net0', 1002)] }))
        .to.throw(IdsTakenError, /backplane id 1002 \(vxlan, net Net0\) is in use here by deployment tutorial\.aaaaaa, net Net1 \(owner alice/);
      expect(() => checkBackplaneIds(stateDir, { deployment: 'x', host: 'h1', backplane: [vlan('N', 300)] })).to.throw(IdsTakenError, /legacy/);
    });
  });
});
