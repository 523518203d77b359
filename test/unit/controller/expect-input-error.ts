// Test helper: runs fn, expects an InputError (exit code 2) and returns its problems.
import { expect } from 'chai';
import { InputError, exitCodeOf, type InputProblem } from '../../../src/common/errors.ts';

export interface ExpectedProblem {
  file?: string;
  line?: number;
  column?: number;
  message: RegExp;
}

function caught(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  return undefined;
}

function check(err: unknown, expected: ExpectedProblem[]): InputProblem[] {
  expect(err, 'expected an InputError').to.be.instanceOf(InputError);
  const e = err as InputError;
  expect(exitCodeOf(e)).to.equal(2);
  for (const want of expected) {
    const hit = e.problems.find((p) => want.message.test(p.message));
    expect(hit, `no problem matching ${want.message} in:\n${e.message}`).to.not.equal(undefined);
    if (want.file !== undefined) expect(hit!.loc.file).to.equal(want.file);
    if (want.line !== undefined) expect(hit!.loc.line, `line of: ${hit!.message}`).to.equal(want.line);
    if (want.column !== undefined) expect(hit!.loc.column, `column of: ${hit!.message}`).to.equal(want.column);
  }
  return e.problems;
}

export function expectInputError(run: () => unknown, ...expected: ExpectedProblem[]): InputProblem[] {
  return check(caught(run), expected);
}

export async function expectInputErrorAsync(run: () => Promise<unknown>, ...expected: ExpectedProblem[]): Promise<InputProblem[]> {
  let err: unknown;
  try {
    await run();
  } catch (e) {
    err = e;
  }
  return check(err, expected);
}
