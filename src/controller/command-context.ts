// What every controller command needs around its logic: the state store, one transport per
// host (SSH, or local), a progress renderer, the cluster to use, and clean closing.
import { existsSync } from 'node:fs';
import { InputError } from '../common/errors.ts';
import path from 'node:path';
import { defaultStateDir } from '../common/paths.ts';
import { version } from '../protocol/version.ts';
import { openTransport } from '../transport/index.ts';
import type { Cluster } from '../protocol/cluster.ts';
import { loadCluster } from './cluster.ts';
import { clusterUp } from '../emulated/cluster.ts';
import { localClusterDir } from '../emulated/layout.ts';
import { progressFor, type Progress, type ProgressMode } from './progress.ts';
import { HostSessions } from './sessions.ts';
import { StateStore } from './state.ts';

export interface CommonOptions {
  json?: boolean;
  state?: string;
  acceptNewHostKeys?: boolean;
  /** -v: show what runs on each host (the agent ops sent, every command an agent runs). */
  verbose?: boolean;
  /** --progress: how progress is shown on stderr (default: json with --json, live on a terminal, else plain lines). */
  progress?: ProgressMode;
}

export interface CommandContext {
  stateDir: string;
  store: StateStore;
  sessions: HostSessions;
  progress: Progress;
  version: string;
}

export function stateDirOf(opts: CommonOptions): string {
  return path.resolve(opts.state ?? defaultStateDir());
}

/** Runs `fn` with a context; always closes every connection and the store. */
export async function withContext<T>(opts: CommonOptions, fn: (ctx: CommandContext) => Promise<T>): Promise<T> {
  const stateDir = stateDirOf(opts);
  const store = StateStore.open(stateDir);
  const verbose = Boolean(opts.verbose);
  const sessions = new HostSessions((host) => openTransport(host, { acceptNewHostKeys: Boolean(opts.acceptNewHostKeys), trace: verbose }), { verbose });
  const progress = progressFor({ json: opts.json, mode: opts.progress });
  try {
    return await fn({ stateDir, store, sessions, progress, version: version() });
  } finally {
    progress.done();
    await sessions.closeAll();
    store.close();
  }
}

/** EDIV's own place for the cluster file, read when a command names none. */
export const EDIV_CLUSTER_CONF = '/etc/ediv/cluster.conf';

/**
 * The cluster file a command runs on: --cluster, else $EDIV_CLUSTER, else EDIV's
 * /etc/ediv/cluster.conf when it exists (else none: the emulated cluster).
 */
export function clusterFileOf(option: string | undefined, exists: (p: string) => boolean = existsSync): string | undefined {
  return option ?? process.env.EDIV_CLUSTER ?? (exists(EDIV_CLUSTER_CONF) ? EDIV_CLUSTER_CONF : undefined);
}

/**
 * The cluster a command runs on: --cluster, else $EDIV_CLUSTER, else /etc/ediv/cluster.conf,
 * else the emulated cluster in the state directory — created (3 hosts) when `create` and it
 * does not exist yet. Which one it is is said in one line.
 */
export async function resolveCluster(opts: {
  cluster?: string;
  stateDir: string;
  progress: Progress;
  create: boolean;
}): Promise<Cluster> {
  const file = clusterFileOf(opts.cluster);
  if (file) {
    if (file === EDIV_CLUSTER_CONF && opts.cluster === undefined && process.env.EDIV_CLUSTER === undefined) opts.progress.info(`cluster: ${EDIV_CLUSTER_CONF} (EDIV's)`);
    return loadCluster(file);
  }
  const dir = localClusterDir(opts.stateDir);
  const clusterFile = path.join(dir, 'cluster.yaml');
  if (!existsSync(clusterFile)) {
    if (!opts.create) {
      throw InputError.commandLine(undefined, `no cluster: give --cluster FILE, set $EDIV_CLUSTER, write ${EDIV_CLUSTER_CONF}, or create the emulated one ('ediv cluster up --local 3')`);
    }
    opts.progress.info(`no cluster given (--cluster, $EDIV_CLUSTER or ${EDIV_CLUSTER_CONF}): creating a 3-host emulated cluster in ${dir}`);
    await clusterUp({ hosts: 3, instance: 0, dir, onProgress: (m, h) => opts.progress.info(h ? `${h}: ${m}` : m) });
  } else {
    opts.progress.info(`cluster: the emulated one in ${dir} (no --cluster, $EDIV_CLUSTER or ${EDIV_CLUSTER_CONF})`);
  }
  return loadCluster(clusterFile);
}
