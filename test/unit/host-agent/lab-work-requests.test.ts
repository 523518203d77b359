// The agent's checks of the requests `ediv exec --`, `vm`, `connect` and `capture` send: every
// field bounded and named, before anything is touched; and the base64 argument of the
// streaming ops.
import { requestProblems } from '../../helpers/fake-agent.ts';
import { expect } from 'chai';
import { InputError } from '../../../src/common/errors.ts';
import { decodeArgRequest } from '../../../src/host-agent/arg-request.ts';
import { encodeArgRequest, MAX_COMMAND_WORDS } from '../../../src/protocol/agent.ts';

const problems = requestProblems;
const base = { deployment: 'lab', host: 'h1' };

describe('agent requests of working inside a lab', () => {
  it('exec: exactly one of seq and command; a command is 1.. words, the first not empty', () => {
    expect(problems('exec', { ...base, seq: 's' })).to.deep.equal([]);
    expect(problems('exec', { ...base, command: ['ip', 'route'] })).to.deep.equal([]);
    expect(problems('exec', { ...base })).to.have.length(1);
    expect(problems('exec', { ...base, seq: 's', command: ['x'] })).to.have.length(1);
    expect(problems('exec', { ...base, command: [] }).join()).to.match(/command/);
    expect(problems('exec', { ...base, command: [''] }).join()).to.match(/empty word/);
    expect(problems('exec', { ...base, command: Array(MAX_COMMAND_WORDS + 1).fill('a') }).join()).to.match(/command/);
    expect(problems('exec', { ...base, command: ['echo', 'x'.repeat(200 * 1024)] }).join()).to.match(/bytes/);
  });

  it('vm: a known action and at least one VM name', () => {
    expect(problems('vm', { ...base, action: 'restart', vms: ['r1'] })).to.deep.equal([]);
    expect(problems('vm', { ...base, action: 'reboot', vms: ['r1'] }).join()).to.match(/action/);
    expect(problems('vm', { ...base, action: 'stop', vms: [] }).join()).to.match(/vms/);
    expect(problems('vm', { ...base, action: 'stop', vms: ['a;rm -rf /'] }).join()).to.match(/vms\[0\]/);
  });

  it('connect and capture: names checked; the request travels as base64 and comes back the same', () => {
    const req = { ...base, vm: 'r1', command: ["echo 'a b'; $(x)"] };
    expect(decodeArgRequest('connect', encodeArgRequest(req))).to.deep.equal(req);
    expect(() => decodeArgRequest('connect', 'not base64!')).to.throw(InputError, /base64/);
    expect(() => decodeArgRequest('capture', encodeArgRequest({ ...base, net: 'N 0' }))).to.throw(InputError, /net/);
    expect(problems('capture', { ...base, net: 'Net0', count: 0 }).join()).to.match(/count/);
    expect(problems('capture', { ...base, net: 'Net0', count: 5, extra: 1 }).join()).to.match(/extra/);
  });
});
