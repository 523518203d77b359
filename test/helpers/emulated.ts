// Mocha helper: an emulated cluster for one test suite. Call inside `describe`:
//
//   const ec = useEmulatedCluster({ instance: 5, hosts: 2 });
//   it('...', async () => { ec.cluster.hosts[0] ... });
//
// `before` removes whatever an earlier crashed run of the same instance left (by exact names),
// then builds the cluster in a fresh temp directory; `after` tears it down and removes the
// directory, even when the suite or the `before` hook failed. Needs root (the suite is skipped
// with a message otherwise).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cluster } from '../../src/protocol/cluster.ts';
import { clusterDown, clusterUp } from '../../src/emulated/cluster.ts';
import type { ClusterStatus } from '../../src/emulated/cluster.ts';
import { emulatedCluster } from '../../src/emulated/layout.ts';

export interface EmulatedFixture {
  instance: number;
  /** Temp directory holding keys, known_hosts, cluster file (`clusterFile`) and agent state. */
  dir: string;
  clusterFile: string;
  /** The cluster model (same content as the cluster file). */
  cluster: Cluster;
  status: ClusterStatus;
  /**
   * Registers clean-up that needs the cluster (undeploying what a failed test left): run at the
   * start of the fixture's `after`, before the cluster goes (an `after` of the suite's own would
   * run once the cluster is gone, leaving the labs' VMs on the machine).
   */
  beforeTeardown(fn: () => Promise<void>): void;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Removes leftovers of instance k from an earlier run that could not clean up (no manifest needed). */
export async function removeStaleInstance(instance: number): Promise<void> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), `ediv${instance}-stale-`));
  try {
    await clusterDown({ instance, dir: scratch });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `bare`: host numbers made bare (src/emulated/cluster.ts, ClusterUpOptions). */
export function useEmulatedCluster(opts: { instance: number; hosts: number; timeoutMs?: number; bare?: number[] }): EmulatedFixture {
  const cleanups: (() => Promise<void>)[] = [];
  const fx = { beforeTeardown: (fn: () => Promise<void>) => void cleanups.push(fn) } as EmulatedFixture;
  let dir: string | undefined;
  before(async function () {
    if (!isRoot()) {
      console.warn('    (skipped: the emulated cluster needs root)');
      this.skip();
    }
    this.timeout(opts.timeoutMs ?? 60_000);
    await removeStaleInstance(opts.instance);
    dir = mkdtempSync(path.join(os.tmpdir(), `ediv${opts.instance}-cluster-`));
    const status = await clusterUp({ hosts: opts.hosts, instance: opts.instance, dir, ...(opts.bare ? { bare: opts.bare } : {}) });
    const cluster = emulatedCluster(opts.hosts, dir, opts.instance, opts.bare);
    if (status.backplane) cluster.backplane = status.backplane;
    Object.assign(fx, { instance: opts.instance, dir, clusterFile: status.clusterFile, cluster, status });
  });
  after(async function () {
    this.timeout(opts.timeoutMs ?? 60_000);
    if (!dir) return;
    for (const fn of cleanups) await fn().catch((err: unknown) => console.warn(`    (clean-up before the cluster goes: ${(err as Error).message})`));
    try {
      await clusterDown({ instance: opts.instance, dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return fx;
}

/**
 * What of emulated cluster instance k exists on the machine (namespaces, links, bridge), by its
 * exact names; empty when it is all gone.
 */
export async function emulatedLeftovers(instance: number): Promise<string[]> {
  const { execa } = await import('execa');
  const ns = (await execa('ip', ['-o', 'netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(/\s+/)[0]!)
    .filter((n) => n.startsWith(`ediv${instance}-host`) || (instance === 0 && n.startsWith('ediv-host')));
  const links = (await execa('ip', ['-o', 'link', 'show'])).stdout
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter((n) => n === `edivbr${instance}` || new RegExp(`^ediv${instance}h\\d+$`).test(n));
  return [...ns.map((n) => `netns ${n}`), ...links.map((l) => `link ${l}`)];
}
