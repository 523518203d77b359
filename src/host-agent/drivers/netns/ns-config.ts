// The inside of the VMs' network namespaces (links up, addresses, routes, net sysctls: the ops of
// commands.ts vmInnerOps), made by ns-config.py: one process that joins each namespace in turn
// and speaks netlink there, instead of an nsenter + ip (+ sysctl) process pair per VM, whose
// start-up was most of a large apply's time. Without python3 on the host the same ops run the
// old way: one `ip -batch` per namespace (nsBatches) and one sysctl process per router.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OperationError } from '../../../common/errors.ts';
import { mapLimit } from '../../../common/parallel.ts';
import { traceCommand } from '../../../common/run.ts';
import { NETNS_DIR, mustRun, nsBatches, python3Present, run } from '../../sys.ts';
import { nsOpLine, type NsOp } from './commands.ts';

export interface NsConfig {
  netns: string;
  ops: NsOp[];
}

export const NS_CONFIG = fileURLToPath(new URL('./ns-config.py', import.meta.url));

/** At most this many failures are named in the error. */
const NAMED_FAILURES = 10;

/**
 * Runs every namespace's ops (each namespace's in order, stopping at its first failure); fails
 * naming the namespaces that failed and why. `how`: the helper (default, when python3 is there)
 * or a process per namespace; `dir` is a scratch directory of the latter's batch files, `workers`
 * its parallelism.
 */
export async function configureNamespaces(items: NsConfig[], o: { dir: string; workers: number; how?: 'helper' | 'processes' }): Promise<void> {
  const todo = items.filter((i) => i.ops.length > 0);
  if (todo.length === 0) return;
  const how = o.how ?? (python3Present() ? 'helper' : 'processes');
  if (how === 'processes') return configureByProcesses(todo, o.dir, o.workers);
  traceCommand(['python3', '-I', NS_CONFIG], `${todo.length} namespaces, ${todo.reduce((n, i) => n + i.ops.length, 0)} ops (JSON on stdin)`);
  const r = await run('python3', ['-I', NS_CONFIG], JSON.stringify({ namespaces: todo }));
  const failures: string[] = [];
  let done = false;
  for (const line of r.stdout.split('\n')) {
    if (!line.trim()) continue;
    let m: { netns?: unknown; error?: unknown; done?: unknown };
    try {
      m = JSON.parse(line) as typeof m;
    } catch {
      failures.push(line.slice(0, 500));
      continue;
    }
    if (typeof m.done === 'number') done = true;
    else if (typeof m.error === 'string') failures.push(typeof m.netns === 'string' ? `namespace ${m.netns}: ${m.error}` : m.error);
  }
  if (failures.length) {
    const more = failures.length > NAMED_FAILURES ? ` (and ${failures.length - NAMED_FAILURES} more)` : '';
    throw new OperationError(`configuring VM namespaces failed: ${failures.slice(0, NAMED_FAILURES).join('; ')}${more}`);
  }
  if (r.exitCode !== 0 || !done) {
    throw new OperationError(`configuring VM namespaces failed: ns-config.py exited with status ${r.exitCode}: ${r.stderr.trim().slice(-2000)}`);
  }
}

/** The same ops without the helper: an `ip -batch` per namespace, then a sysctl process per namespace that has some. */
async function configureByProcesses(items: NsConfig[], dir: string, workers: number): Promise<void> {
  const batches = items.map((i) => ({ netns: i.netns, lines: i.ops.flatMap((op) => nsOpLine(op) ?? []) }));
  await nsBatches(batches.filter((b) => b.lines.length), dir, workers);
  const sysctls = items.map((i) => ({ netns: i.netns, settings: i.ops.flatMap((op) => (op.op === 'sysctl' ? [`${op.key}=${op.value}`] : [])) }));
  await mapLimit(
    sysctls.filter((s) => s.settings.length),
    workers,
    // /proc/sys/net belongs to the namespace of the process that opens it.
    (s) => mustRun('nsenter', [`--net=${path.join(NETNS_DIR, s.netns)}`, 'sysctl', '-q', '-w', ...s.settings]),
  );
}
