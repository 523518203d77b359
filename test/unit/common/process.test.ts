// pidAlive: a running child is alive, an exited-but-unreaped child (a zombie) is not, a reaped
// one is not.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pidAlive } from '../../../src/common/process.ts';

const stateOf = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
};

describe('pidAlive', () => {
  it('is true for a running process, false once it has exited, even before it is reaped', async function () {
    this.timeout(10_000);
    // A shell that starts `sleep` in the background and execs into a long sleep of its own: the
    // background sleep exits after 0.2 s and stays a zombie, because its parent never waits.
    const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const childPid = Number(await new Promise<string>((resolve) => parent.stdout!.once('data', (d) => resolve(String(d).trim()))));
      expect(pidAlive(childPid)).to.equal(true);
      const deadline = Date.now() + 5000;
      while (stateOf(childPid) !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(stateOf(childPid)).to.equal('Z');
      expect(pidAlive(childPid)).to.equal(false);
      expect(pidAlive(parent.pid!)).to.equal(true);
    } finally {
      parent.kill('SIGKILL');
      await new Promise((r) => parent.once('exit', r));
    }
    expect(pidAlive(parent.pid!)).to.equal(false);
  });
});
