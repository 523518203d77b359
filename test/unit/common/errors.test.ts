// The typed errors and the one mapping from an error to its exit code and JSON error object.
import { expect } from 'chai';
import {
  AlreadyDeployedError,
  COMMAND_LINE,
  CommandFailedError,
  HostFailedError,
  HostUnreachableError,
  InputError,
  InterruptedError,
  OperationError,
  errorCodeOf,
  errorObject,
  exitCodeOf,
} from '../../../src/common/errors.ts';

describe('errors: codes, exit codes, JSON objects', () => {
  it('every kind has a stable code; bad input exits 2, everything else 1', () => {
    const cases: [unknown, string, number][] = [
      [InputError.at('lab.xml', 3, 7, 'bad'), 'invalid-input', 2],
      [new OperationError('failed'), 'operation-failed', 1],
      [new InterruptedError(), 'interrupted', 1],
      [new AlreadyDeployedError({ name: 'lab', status: 'running', updatedAt: 't' }), 'already-deployed', 1],
      [new HostUnreachableError('host2', 'cannot deploy on host2'), 'host-unreachable', 1],
      [new HostFailedError('deploy of lab failed on host2'), 'host-failed', 1],
      [new CommandFailedError('exec x: 1 command(s) failed'), 'command-failed', 1],
      [new Error('a bug'), 'internal', 1],
      ['a string', 'internal', 1],
    ];
    for (const [err, code, exit] of cases) {
      expect(errorCodeOf(err), String(err)).to.equal(code);
      expect(exitCodeOf(err), String(err)).to.equal(exit);
      expect(errorObject(err).code).to.equal(code);
    }
  });

  it('subclasses are OperationErrors carrying host and details', () => {
    const e = new HostUnreachableError('host3', 'cannot deploy on host3: down', { details: { why: 'down' } });
    expect(e).to.be.instanceOf(OperationError);
    expect(e.host).to.equal('host3');
    expect(e.name).to.equal('HostUnreachableError');
    expect(errorObject(e)).to.deep.equal({ message: 'cannot deploy on host3: down', code: 'host-unreachable', details: { why: 'down' } });
    expect(new InterruptedError().message).to.equal('interrupted');
  });

  it('AlreadyDeployedError keeps the documented details (reason already-deployed)', () => {
    const e = new AlreadyDeployedError({ name: 'lab', status: 'running', updatedAt: '2026-01-01T00:00:00Z' });
    expect(e.message).to.match(/"lab" is already recorded \(status running since 2026-01-01T00:00:00Z\); run 'ediv undeploy lab' first/);
    expect(e.details).to.deep.equal({ reason: 'already-deployed', scenario: 'lab', status: 'running' });
  });

  it("an InputError's JSON object lists its problems, each located", () => {
    const e = new InputError([
      { loc: { file: 'lab.xml', line: 3, column: 7 }, message: 'unknown net NetX' },
      { loc: { file: 'lab.xml' }, message: 'no VM' },
    ]);
    expect(errorObject(e)).to.deep.equal({
      message: 'lab.xml:3:7: unknown net NetX\nlab.xml: no VM',
      code: 'invalid-input',
      details: [
        { file: 'lab.xml', line: 3, column: 7, where: 'lab.xml:3:7', message: 'unknown net NetX' },
        { file: 'lab.xml', where: 'lab.xml', message: 'no VM' },
      ],
    });
  });

  it('an error without details has none in its object; a non-Error is its string', () => {
    expect(errorObject(new OperationError('x'))).to.deep.equal({ message: 'x', code: 'operation-failed' });
    expect(errorObject(42)).to.deep.equal({ message: '42', code: 'internal' });
  });

  it('command-line problems have one spelling: "command line", the option then the message', () => {
    const e = InputError.commandLine('--vm h9', 'no such VM in lab');
    expect(e.problems).to.deep.equal([{ loc: { file: COMMAND_LINE }, message: '--vm h9: no such VM in lab' }]);
    expect(e.message).to.equal('command line: --vm h9: no such VM in lab');
    expect(InputError.commandLine(undefined, 'no cluster').message).to.equal('command line: no cluster');
    expect(exitCodeOf(e)).to.equal(2);
  });
});
