// A VM's private view of the file system. A VM that has filetrees gets a small long-lived
// process (the "holder": `sleep infinity`) in the VM's network namespace and in its own mount
// and UTS namespaces (hostname = VM name). In that mount namespace a tmpfs is mounted on the
// VM's private directory, and every directory a filetree writes to is covered by an overlay
// whose lower layer is the host's directory and whose upper layer lives on that tmpfs: the VM
// sees the host's files plus its own, and nothing it writes reaches the host's files. The
// views live as long as the holder; killing it (stop, destroy) releases them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { InputError, OperationError } from '../../../common/errors.ts';
import { processStart } from '../../sys.ts';
import { signalQuietly } from '../../../common/process.ts';
import { traceCommand } from '../../../common/run.ts';

/** The directory an overlay must cover so that `root` can exist in the VM's view. */
export function overlayAnchor(root: string, exists: (p: string) => boolean = fs.existsSync): string {
  let dir = path.posix.normalize(root);
  while (dir !== '/' && !exists(dir)) dir = path.posix.dirname(dir);
  return dir;
}

/** Checks a filetree root for the VM's private view; returns the problem or undefined. */
export function filetreeRootProblem(root: string): string | undefined {
  if (!root.startsWith('/')) return `filetree root ${JSON.stringify(root)} must be an absolute path`;
  if (/[,:\\\s]/.test(root)) return `filetree root ${JSON.stringify(root)} may not contain ',', ':', '\\' or white space`;
  return undefined;
}

/**
 * Distinct overlay anchors for a VM's filetree roots: nested anchors are covered by their
 * ancestor. The host's `/` cannot be overlaid (the VM would lose its view of everything).
 */
export function overlayAnchors(roots: string[], exists?: (p: string) => boolean): string[] {
  const anchors = [...new Set(roots.map((r) => overlayAnchor(r, exists)))].sort();
  if (anchors.includes('/')) {
    throw new InputError({
      loc: { file: 'fragment' },
      message:
        `a filetree root (${roots.join(', ')}) lies in a top-level directory that does not exist on the host; ` +
        `the netns driver can only give a VM private views of existing directories (below '/')`,
    });
  }
  return anchors.filter((a) => !anchors.some((b) => b !== a && a.startsWith(b + '/')));
}

// Runs as the holder: $1 = VM name, $2 = private directory, $3... = overlay anchors.
const HOLDER_SCRIPT = [
  'set -e',
  'hostname "$1"',
  'p=$2',
  'shift 2',
  'mount -t tmpfs -o mode=0700 ediv-vm "$p"',
  'i=0',
  'for a in "$@"; do',
  '  i=$((i+1))',
  '  mkdir -p "$p/$i/upper" "$p/$i/work"',
  '  mount -t overlay overlay -o "lowerdir=$a,upperdir=$p/$i/upper,workdir=$p/$i/work" "$a"',
  'done',
  'exec sleep infinity',
].join('\n');

/** Starts a holder for a VM; resolves with its pid once its namespaces are ready. */
export async function startHolder(netns: string, vm: string, privateDir: string, anchors: string[]): Promise<number> {
  fs.mkdirSync(privateDir, { recursive: true });
  const errFile = path.join(path.dirname(privateDir), `${path.basename(privateDir)}.holder.err`);
  const errFd = fs.openSync(errFile, 'w');
  const argv = ['netns', 'exec', netns, 'unshare', '--mount', '--uts', '--propagation', 'private', '--', 'sh', '-c', HOLDER_SCRIPT, 'ediv-vm', vm, privateDir, ...anchors];
  traceCommand(['ip', ...argv]);
  const child = spawn('ip', argv, { detached: true, stdio: ['ignore', 'ignore', errFd] });
  fs.closeSync(errFd);
  const pid = child.pid;
  if (pid === undefined) throw new OperationError(`could not start the holder process of VM ${vm}`);
  let exited = false;
  child.on('exit', () => (exited = true));
  child.unref();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    let comm = '';
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      /* not yet / gone */
    }
    if (comm === 'sleep' && processStart(pid) !== undefined) {
      fs.rmSync(errFile, { force: true });
      return pid;
    }
    if (exited) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const why = fs.existsSync(errFile) ? fs.readFileSync(errFile, 'utf8').trim() : '';
  signalQuietly(pid);
  throw new OperationError(`the private file-system view of VM ${vm} could not be made${why ? `: ${why}` : ''}`);
}
