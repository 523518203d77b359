// Deployment owners on a shared host: who may act on a deployment (owner.ts), what a refusal
// and a forced request say and log, and the agent's checks of the new request fields (owner,
// force, lab, deployment keys `<lab>.<uid>`).
import { requestProblems } from '../../helpers/fake-agent.ts';
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorObject } from '../../../src/common/errors.ts';
import { checkOwner, NotOwnerError, notOwnerError, OWNERSHIP_LOG, ownerConflict, type OwnershipLogEntry } from '../../../src/host-agent/owner.ts';
import { describeOwner, sameOwner } from '../../../src/protocol/owner.ts';
import { readOwner, writeOwner } from '../../../src/host-agent/store.ts';
import type { AgentOp } from '../../../src/protocol/agent.ts';
import { MAX_DEPLOYMENT_KEY } from '../../../src/protocol/deployment-key.ts';

const alice = { user: 'alice', store: '1f2e3d4c-5b6a-4789-8abc-def012345678' };
const bob = { user: 'bob', store: '9a8b7c6d-0000-4000-8000-000000000000' };
const DEP = 'tutorial.ab2cde';

const problems = requestProblems;

describe('host-agent deployment owners', () => {
  it('an owner is its user and its store: either differing is another owner; none recorded conflicts with no one', () => {
    expect(sameOwner(alice, { ...alice })).to.equal(true);
    expect(ownerConflict(alice, { ...alice })).to.equal(false);
    expect(ownerConflict(alice, { ...alice, user: 'bob' })).to.equal(true); // same store, another user
    expect(ownerConflict(alice, { ...alice, store: bob.store })).to.equal(true); // same login, another controller's store
    expect(ownerConflict(alice, undefined)).to.equal(true); // an older controller, on an owned deployment
    expect(ownerConflict(undefined, bob)).to.equal(false); // made by an older controller: anyone
    expect(ownerConflict(undefined, undefined)).to.equal(false);
    expect(describeOwner(alice)).to.equal('alice (state store 1f2e3d4c…)');
    expect(describeOwner({ user: 'u', store: 'short' })).to.equal('u (state store short)');
  });

  it('a refusal names the recorded owner, the requester and the --force command of the op; code not-owner', () => {
    const err = notOwnerError('destroy', { deployment: DEP, host: 'h2', owner: bob }, alice);
    expect(err).to.be.instanceOf(NotOwnerError);
    expect(err.message).to.equal(
      'host h2: deployment tutorial.ab2cde belongs to alice (state store 1f2e3d4c…), not to bob (state store 9a8b7c6d…): ' +
        'refusing to remove it; nothing was changed. An administrator may take it over with `ediv undeploy … --force`',
    );
    expect(errorObject(err)).to.deep.include({ code: 'not-owner', details: { deployment: DEP, owner: alice } });
    expect(notOwnerError('apply', { deployment: DEP, host: 'h2' }, alice).message)
      .to.match(/not to a request that names no owner/)
      .and.match(/`ediv redeploy … --force`/);
    expect(notOwnerError('exec', { deployment: DEP, host: 'h2', owner: bob }, alice).message).to.match(/`ediv exec … --force`/);
  });

  describe('checkOwner on a state directory', () => {
    let stateDir: string;
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    beforeEach(() => {
      stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-owner-'));
      warnings.length = 0;
    });
    afterEach(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const log = () => path.join(stateDir, OWNERSHIP_LOG);

    it('a deployment without owner.json (an older controller made it) takes every request', () => {
      expect(checkOwner(stateDir, 'exec', { deployment: DEP, host: 'h1', owner: bob }, warn)).to.equal(undefined);
      expect(checkOwner(stateDir, 'destroy', { deployment: DEP, host: 'h1' }, warn)).to.equal(undefined);
      expect(warnings).to.deep.equal([]);
      expect(fs.existsSync(log())).to.equal(false);
    });

    it('its owner passes; another owner, or none, is refused and nothing is written', () => {
      writeOwner(stateDir, DEP, alice);
      expect(readOwner(stateDir, DEP)).to.deep.equal(alice);
      expect(checkOwner(stateDir, 'vm', { deployment: DEP, host: 'h1', owner: { ...alice } }, warn)).to.deep.equal(alice);
      expect(() => checkOwner(stateDir, 'vm', { deployment: DEP, host: 'h1', owner: bob }, warn)).to.throw(NotOwnerError, /belongs to alice/);
      expect(() => checkOwner(stateDir, 'capture', { deployment: DEP, host: 'h1' }, warn)).to.throw(NotOwnerError, /names no owner/);
      // force: false is no force.
      expect(() => checkOwner(stateDir, 'connect', { deployment: DEP, host: 'h1', owner: bob, force: false }, warn)).to.throw(NotOwnerError);
      expect(warnings).to.deep.equal([]);
      expect(fs.existsSync(log())).to.equal(false);
    });

    it('force: the request passes, is appended to ownership.log and said as a warning', () => {
      writeOwner(stateDir, DEP, alice);
      expect(checkOwner(stateDir, 'destroy', { deployment: DEP, host: 'h1', owner: bob, force: true }, warn)).to.deep.equal(alice);
      checkOwner(stateDir, 'apply', { deployment: DEP, host: 'h1', force: true }, warn);
      const lines = fs.readFileSync(log(), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as OwnershipLogEntry);
      expect(lines).to.have.length(2);
      expect(lines[0]).to.deep.include({ op: 'destroy', deployment: DEP, host: 'h1', owner: alice, by: bob });
      expect(Date.parse(lines[0]!.time)).to.be.closeTo(Date.now(), 60_000);
      expect(lines[1]).to.deep.include({ op: 'apply', owner: alice, by: null });
      expect(warnings[0]).to.match(/belongs to alice \(state store 1f2e3d4c…\): `ediv undeploy` forced by bob/).and.contain(log());
      // The owner recorded is the apply's to change (agent.ts), not the check's.
      expect(readOwner(stateDir, DEP)).to.deep.equal(alice);
    });

    it('a forced apply with an owner says that it takes the deployment over', () => {
      writeOwner(stateDir, DEP, alice);
      checkOwner(stateDir, 'apply', { deployment: DEP, host: 'h1', owner: bob, force: true }, warn);
      expect(warnings[0]).to.match(/it belongs to bob \(state store 9a8b7c6d…\) from now on/);
    });
  });

  describe('request fields', () => {
    const apply = { deployment: DEP, host: 'h1', fragmentXml: '<vnx/>', backplane: [] };
    const requests: [AgentOp, Record<string, unknown>][] = [
      ['apply', apply],
      ['exec', { deployment: DEP, host: 'h1', seq: 'start' }],
      ['destroy', { deployment: DEP, host: 'h1' }],
      ['vm', { deployment: DEP, host: 'h1', action: 'stop', vms: ['r1'] }],
      ['connect', { deployment: DEP, host: 'h1', vm: 'r1' }],
      ['capture', { deployment: DEP, host: 'h1', net: 'Net0' }],
    ];

    it('every request on a deployment may carry owner {user, store} and force', () => {
      for (const [op, r] of requests) {
        expect(problems(op, { ...r, owner: alice, force: true }), op).to.deep.equal([]);
        expect(problems(op, { ...r, owner: { user: 'jdoe@example.org', store: 'store-1' } }), op).to.deep.equal([]);
        expect(problems(op, { ...r, force: 'yes' }).join(), op).to.match(/force: must be true or false/);
        expect(problems(op, { ...r, owner: 'alice' }).join(), op).to.match(/owner: must be a JSON object/);
      }
      expect(problems('status', { host: 'h1', owner: alice }).join()).to.match(/request\.owner: unknown field/);
      expect(problems('facts', { force: true }).join()).to.match(/request\.force: unknown field/);
    });

    it('an owner has exactly a bounded, printable user and store', () => {
      const bad = (owner: unknown) => problems('exec', { ...requests[1]![1], owner }).join('\n');
      expect(bad({ user: 'alice' })).to.match(/owner\.store/);
      expect(bad({ store: 's' })).to.match(/owner\.user/);
      expect(bad({ ...alice, admin: true })).to.match(/owner\.admin: unknown field/);
      expect(bad({ user: '', store: 's' })).to.match(/owner\.user/);
      expect(bad({ user: 'a'.repeat(65), store: 's' })).to.match(/owner\.user/);
      expect(bad({ user: 'a'.repeat(64), store: 's'.repeat(64) })).to.equal('');
      expect(bad({ user: 'a', store: 's'.repeat(65) })).to.match(/owner\.store/);
      expect(bad({ user: 'al\u001b[2Jice', store: 's' })).to.match(/owner\.user/);
      expect(bad({ user: 'alice smith', store: 's' })).to.match(/owner\.user/);
      expect(bad({ user: '-alice', store: 's' })).to.match(/owner\.user/);
      expect(bad({ user: 'alice', store: '../x' })).to.match(/owner\.store/);
      expect(bad({ user: 7, store: 's' })).to.match(/owner\.user/);
    });

    it('apply: lab is a safe name', () => {
      expect(problems('apply', { ...apply, lab: 'tutorial' })).to.deep.equal([]);
      expect(problems('apply', { ...apply, lab: 'a b' }).join()).to.match(/lab: must be a name/);
      expect(problems('apply', { ...apply, lab: 'x'.repeat(64) }).join()).to.match(/lab: must be a name/);
      expect(problems('exec', { ...requests[1]![1], lab: 'tutorial' }).join()).to.match(/request\.lab: unknown field/);
    });

    it(`deployment keys: a name's characters, up to ${MAX_DEPLOYMENT_KEY}, never '..' or a leading '.'`, () => {
      const key = `${'l'.repeat(63)}.ab2cde`;
      expect(key).to.have.length(MAX_DEPLOYMENT_KEY);
      for (const [op, r] of [...requests, ['status', { host: 'h1' }] as [AgentOp, Record<string, unknown>]]) {
        expect(problems(op, { ...r, deployment: key }), op).to.deep.equal([]);
        expect(problems(op, { ...r, deployment: 'legacy-lab' }), op).to.deep.equal([]);
        for (const bad of [`${key}x`, '..', 'a..b', '.hidden', '-x', 'a/b', '', 'tut orial.ab2cde']) {
          expect(problems(op, { ...r, deployment: bad }).join(), `${op} ${bad}`).to.match(/deployment: must be a name of 1-70/);
        }
      }
    });
  });
});
