// How the CLI prints errors and reports: the --json error document, a report with its error
// merged in, and printReport (text on stdout, the error on stderr, the exit code).
import { expect } from 'chai';
import { HostFailedError, InputError, OperationError } from '../../../src/common/errors.ts';
import { errorDocument, renderError, reportDocument } from '../../../src/cli/render/error.ts';
import { printReport } from '../../../src/cli/output.ts';

/** Runs fn with stdout and stderr captured. */
function capture<T>(fn: () => T): { value: T; stdout: string; stderr: string } {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    return { value: fn(), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe('CLI error output', () => {
  it('the JSON error document keeps the documented fields (error kind, message, host, details; problems for bad input)', () => {
    expect(errorDocument(new OperationError('host2 failed', { host: 'host2', details: { rolledBack: true } }))).to.deep.equal({
      ok: false, error: 'operation-failed', message: 'host2 failed', code: 'operation-failed', details: { rolledBack: true }, host: 'host2',
    });
    const bad = errorDocument(InputError.at('lab.xml', 2, 5, 'unknown net'));
    expect(bad).to.include({ ok: false, error: 'invalid-input', code: 'invalid-input' });
    expect(bad.problems).to.deep.equal([{ file: 'lab.xml', line: 2, column: 5, where: 'lab.xml:2:5', message: 'unknown net' }]);
    expect(errorDocument(new Error('boom'))).to.deep.equal({ ok: false, error: 'internal', message: 'boom', code: 'internal' });
  });

  it('expected errors read as one message; bugs keep their stack', () => {
    expect(renderError(new OperationError('no host is reachable'))).to.equal('ediv: no host is reachable\n');
    expect(renderError(new Error('boom'))).to.match(/^ediv: internal error: Error: boom\n\s+at /);
  });

  it("a failed report's JSON is its fields with the error's document merged in", () => {
    const error = new HostFailedError('undeploy of lab failed on 1 host(s)', { host: 'host2', details: { record: 'kept' } });
    const doc = reportDocument({ ok: false, scenario: 'lab', record: 'kept', error });
    expect(doc).to.deep.equal({
      ok: false, scenario: 'lab', record: 'kept',
      error: 'operation-failed', message: 'undeploy of lab failed on 1 host(s)', code: 'host-failed', details: { record: 'kept' }, host: 'host2',
    });
    expect(reportDocument({ ok: true, scenario: 'lab' })).to.deep.equal({ ok: true, scenario: 'lab' });
  });

  it('printReport prints a failure like a success (report on stdout), adds the error on stderr, returns its exit code', () => {
    const render = (r: { scenario: string }) => `report of ${r.scenario}\n`;
    const failed = { ok: false, scenario: 'lab', error: new HostFailedError('failed on host2', { host: 'host2' }) };
    const text = capture(() => printReport(failed, {}, render));
    expect(text).to.deep.equal({ value: 1, stdout: 'report of lab\n', stderr: 'ediv: failed on host2\n' });
    const json = capture(() => printReport(failed, { json: true }, render));
    expect(json.value).to.equal(1);
    expect(json.stderr).to.equal('');
    expect(JSON.parse(json.stdout)).to.include({ ok: false, scenario: 'lab', error: 'operation-failed', code: 'host-failed', host: 'host2' });
    const ok = capture(() => printReport({ ok: true, scenario: 'lab' }, {}, render));
    expect(ok).to.deep.equal({ value: 0, stdout: 'report of lab\n', stderr: '' });
    const noError = capture(() => printReport({ ok: false, scenario: 'lab' }, {}, render));
    expect(noError.value, 'a report that is not ok without an error (cluster check) exits 1').to.equal(1);
  });
});
