// The --vm / --host checks every command shares.
import { expect } from 'chai';
import { InputError } from '../../../src/common/errors.ts';
import { checkTargets } from '../../../src/controller/target-filter.ts';

describe('--vm / --host filter checks', () => {
  const scope = { vms: ['a', 'b'], unknownVm: 'no such VM in lab', hosts: ['host1'], unknownHost: 'lab has nothing on that host' };

  it('accepts names in scope and no filter at all', () => {
    expect(() => checkTargets({ vms: ['a'], hosts: ['host1'] }, scope)).to.not.throw();
    expect(() => checkTargets({}, scope)).to.not.throw();
  });

  it('lists every name out of scope, located on the command line', () => {
    let err: unknown;
    try {
      checkTargets({ vms: ['a', 'x', 'y'], hosts: ['host9'] }, scope);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(InputError);
    expect((err as InputError).problems).to.deep.equal([
      { loc: { file: 'command line' }, message: '--vm x: no such VM in lab' },
      { loc: { file: 'command line' }, message: '--vm y: no such VM in lab' },
      { loc: { file: 'command line' }, message: '--host host9: lab has nothing on that host' },
    ]);
  });

  it('does not check --host when the scope gives no hosts', () => {
    expect(() => checkTargets({ hosts: ['anything'] }, { vms: [], unknownVm: 'no such VM' })).to.not.throw();
  });
});
