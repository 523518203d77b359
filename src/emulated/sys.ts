// System commands used to build the emulated cluster: iproute2 and friends, always run with
// argument arrays (never through a shell), with failures turned into OperationErrors.
import { mustRun, run as runProgram } from '../common/run.ts';
import { existsSync } from 'node:fs';
import { OperationError } from '../common/errors.ts';
import { requireRoot } from '../common/root.ts';

/** Runs a command; throws an OperationError with its stderr when it fails. Output without the final newline. */
export async function run(cmd: string, args: string[], input?: string): Promise<string> {
  return (await mustRun(cmd, args, { input })).replace(/\n$/, '');
}

/** Runs a command and reports whether it succeeded (for "remove if present" steps). */
export async function tryRun(cmd: string, args: string[]): Promise<boolean> {
  return (await runProgram(cmd, args)).exitCode === 0;
}

export async function netnsList(): Promise<Set<string>> {
  const out = await run('ip', ['-o', 'netns', 'list']).catch(() => '');
  // Lines look like "name" or "name (id: 3)".
  return new Set(out.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean));
}

export async function linkExists(name: string, netns?: string): Promise<boolean> {
  const args = netns ? ['-n', netns, 'link', 'show', 'dev', name] : ['link', 'show', 'dev', name];
  return tryRun('ip', args);
}

/** Pids of the processes whose network namespace is `netns`. */
export async function netnsPids(netns: string): Promise<number[]> {
  const out = await run('ip', ['netns', 'pids', netns]).catch(() => '');
  return out.split(/\s+/).filter(Boolean).map(Number).filter(Number.isInteger);
}

/**
 * Whether the kernel can make 802.1q VLAN subinterfaces: tries one on a throw-away dummy
 * link named after the instance (removed again at once).
 */
export async function kernelHasVlan(probeName: string): Promise<boolean> {
  if (existsSync('/proc/net/vlan/config')) return true;
  if (!(await tryRun('ip', ['link', 'add', probeName, 'type', 'dummy']))) return false;
  try {
    return await tryRun('ip', ['link', 'add', 'link', probeName, 'name', `${probeName}.2`, 'type', 'vlan', 'id', '2']);
  } finally {
    await tryRun('ip', ['link', 'del', probeName]);
  }
}

/** Tools `cluster up` needs, with the Debian package that provides each. */
const REQUIRED_TOOLS: [string, string][] = [
  ['/usr/sbin/sshd', 'openssh-server'],
  ['ssh-keygen', 'openssh-client'],
  ['ip', 'iproute2'],
  ['nsenter', 'util-linux'],
  ['unshare', 'util-linux'],
];

export async function checkTools(): Promise<void> {
  const missing: string[] = [];
  for (const [tool, pkg] of REQUIRED_TOOLS) {
    const found = tool.startsWith('/') ? existsSync(tool) : await tryRun('sh', ['-c', 'command -v "$1"', 'sh', tool]);
    if (!found) missing.push(`${tool} (Debian package ${pkg})`);
  }
  if (missing.length) {
    throw new OperationError(`the emulated cluster needs these programs, which are missing: ${missing.join(', ')}`);
  }
}

export function requireEmulatedRoot(what: string): void {
  requireRoot(what, 'it creates network namespaces, a bridge and veth links and runs an sshd per host');
}
