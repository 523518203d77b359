// The mount namespace every container VM's own is copied from. `unshare --mount` copies the
// whole mount table of the namespace it runs in, and the host's holds one nsfs mount per network
// namespace (/run/netns/<ns>): copying it for every VM made starting N VMs cost O(N²). The
// template is a mount namespace without them (nothing else differs from the host's), held by
// one idle process that dies with the agent (parent-death signal), so nothing outlives it.
import { spawn } from 'node:child_process';
import { OperationError } from '../../../common/errors.ts';
import { NETNS_DIR } from '../../sys.ts';
import { signalQuietly } from '../../../common/process.ts';
import { traceCommand } from '../../../common/run.ts';

// $1 = the network-namespace directory. Prints "ready" once the namespace is trimmed. A lazy
// unmount of the directory's own mount (iproute2 makes it one) detaches every nsfs mount below it
// in one system call; `umount -R` would take them one by one, re-reading the mount table each
// time (3 s for 1 000 namespaces).
const TEMPLATE_SCRIPT = 'umount -l "$1" 2>/dev/null || true; echo ready; exec sleep 2147483647';

export interface MountTemplate {
  /** `/proc/<pid>/ns/mnt` of the holding process: what `nsenter --mount=` takes. */
  readonly nsPath: string;
  stop(): void;
}

/** Starts a template mount namespace; resolves once it is ready. */
export function startMountTemplate(): Promise<MountTemplate> {
  return new Promise((resolve, reject) => {
    const argv = ['--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', TEMPLATE_SCRIPT, 'ediv-mnt', NETNS_DIR];
    traceCommand(['setpriv', ...argv]);
    const child = spawn('setpriv', argv, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    const fail = (why: string) => reject(new OperationError(`the container VMs' mount namespace could not be made: ${why}`));
    child.on('error', (e) => fail(e.message));
    child.on('exit', (code) => fail(`exit ${code}`));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (!out.includes('ready\n')) return;
      child.removeAllListeners('exit');
      child.stdout!.destroy();
      const pid = child.pid!;
      resolve({
        nsPath: `/proc/${pid}/ns/mnt`,
        stop: () => signalQuietly(pid),
      });
    });
  });
}

/** A template started on first use (an apply that makes no VM starts none), stopped by stop(). */
export function lazyMountTemplate(): { get(): Promise<MountTemplate>; stop(): void } {
  let started: Promise<MountTemplate> | undefined;
  return {
    get: () => (started ??= startMountTemplate()),
    stop: () => void started?.then((t) => t.stop(), () => {}),
  };
}

/** Runs `fn` with a template mount namespace, stopped afterwards. */
export async function withMountTemplate<T>(fn: (t: MountTemplate) => Promise<T>): Promise<T> {
  const t = await startMountTemplate();
  try {
    return await fn(t);
  } finally {
    t.stop();
  }
}
