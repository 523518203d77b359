// Process helpers shared by the parts that track long-lived processes by pid (emulated sshd,
// discovery daemons).
import { readFileSync } from 'node:fs';

/**
 * Whether a process with this pid exists and has not exited (EPERM: it exists but belongs to
 * someone else). A zombie counts as exited: it runs nothing any more, and its parent (in a
 * sandbox or an emulated host, often a slow PID 1) may take seconds to reap it.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** Whether /proc says the process is a zombie (state Z, after the parenthesised command). */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false; // no /proc (or gone meanwhile): kill(0) already said it exists
  }
}

/** Sends `signal` to `pid`; a process already gone is not an error. */
export function signalQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}
