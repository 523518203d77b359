// The process runner: argument vectors, stdin, the whole of stdout and stderr, exit status; a
// program that cannot start or dies of a signal is a failure with a reason, never a throw.
import { expect } from 'chai';
import { mustRun, run } from '../../../src/common/run.ts';

describe('run', () => {
  it('feeds stdin and returns stdout, stderr and the exit status', async () => {
    expect(await run('sh', ['-c', 'cat; echo err >&2; exit 3'], { input: 'hello\n' })).to.deep.equal({ exitCode: 3, stdout: 'hello\n', stderr: 'err\n' });
  });

  it('passes arguments as they are (no shell)', async () => {
    const args = ["a'b; rm -rf /x $(id)", '$HOME `id`', '', ' '];
    expect((await run('printf', ['%s\\0', ...args])).stdout.split('\0').slice(0, -1)).to.deep.equal(args);
  });

  it('a program that cannot start, or is killed, fails with why', async () => {
    const missing = await run('/nonexistent/ediv-x', []);
    expect(missing.exitCode).to.equal(1);
    expect(missing.stderr).to.match(/\/nonexistent\/ediv-x: spawn .*ENOENT/);
    expect(await run('sh', ['-c', 'kill -9 $$'])).to.deep.equal({ exitCode: 1, stdout: '', stderr: 'sh was killed by SIGKILL' });
  });

  it('keeps large output whole', async () => {
    const r = await run('head', ['-c', String(8 * 1024 * 1024), '/dev/zero']);
    expect(r.stdout.length).to.equal(8 * 1024 * 1024);
  });

  it('mustRun throws with the stderr of a failed program', async () => {
    expect(await mustRun('echo', ['ok'])).to.equal('ok\n');
    const err = await mustRun('sh', ['-c', 'echo broken >&2; exit 1']).catch((e: unknown) => e as Error);
    expect((err as Error).message).to.match(/^sh -c echo broken >&2; exit 1 failed: broken$/);
  });
});
