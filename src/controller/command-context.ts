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
import { controllerOwner, migrationMessage, openStateStore, type StoreLocation } from '../state/open.ts';
import type { ScenarioRecord, StateStore } from '../state/store.ts';
import { callerOf, requireAccess } from './owners.ts';
import type { DeploymentOwner } from '../protocol/agent.ts';

export interface CommonOptions {
  json?: boolean;
  state?: string;
  acceptNewHostKeys?: boolean;
  /** -v: show what runs on each host (the agent ops sent, every command an agent runs). */
  verbose?: boolean;
  /** --progress: how progress is shown on stderr (default: json with --json, live on a terminal, else plain lines). */
  progress?: ProgressMode;
  /** --cluster: the cluster file (its `state:` names the state store). */
  cluster?: string;
}

export interface CommandContext {
  stateDir: string;
  store: StateStore;
  /** Who this controller acts as: the owner of the labs it records. */
  owner: DeploymentOwner;
  /** The cluster file in effect (--cluster, $EDIV_CLUSTER, /etc/ediv/cluster.conf), loaded; undefined: none (emulated). */
  clusterFile?: Cluster;
  sessions: HostSessions;
  progress: Progress;
  version: string;
}

export function stateDirOf(opts: CommonOptions): string {
  return path.resolve(opts.state ?? defaultStateDir());
}

/**
 * Where a command's records are: the state store the cluster file in effect names (`state:`),
 * else the SQLite file in the state directory. Also returns that cluster file, loaded.
 */
export async function storeLocationOf(opts: CommonOptions): Promise<{ location: StoreLocation; cluster?: Cluster }> {
  const file = clusterFileOf(opts.cluster);
  const cluster = file ? await loadCluster(file) : undefined;
  const location: StoreLocation = cluster?.state ? { kind: 'postgresql', url: cluster.state } : { kind: 'sqlite', dir: stateDirOf(opts) };
  return { location, cluster };
}

/** Opens the state store a command uses (migrating it on first use, said on `progress`). */
export async function openStoreFor(opts: CommonOptions, progress?: Pick<Progress, 'info'>, extra: { busyTimeoutMs?: number } = {}): Promise<{ store: StateStore; cluster?: Cluster }> {
  const { location, cluster } = await storeLocationOf(opts);
  const store = await openStateStore(location, { ...extra, onMigrated: (r, where) => progress?.info(migrationMessage(r, where)) });
  return { store, cluster };
}

/** Runs `fn` with a context; always closes every connection and the store. */
export async function withContext<T>(opts: CommonOptions, fn: (ctx: CommandContext) => Promise<T>): Promise<T> {
  const stateDir = stateDirOf(opts);
  const progress = progressFor({ json: opts.json, mode: opts.progress });
  let opened: Awaited<ReturnType<typeof openStoreFor>>;
  try {
    opened = await openStoreFor(opts, progress);
  } catch (err) {
    progress.done();
    throw err;
  }
  const { store, cluster } = opened;
  const verbose = Boolean(opts.verbose);
  const sessions = new HostSessions((host) => openTransport(host, { acceptNewHostKeys: Boolean(opts.acceptNewHostKeys), trace: verbose }), { verbose });
  try {
    return await fn({ stateDir, store, owner: controllerOwner(store), clusterFile: cluster, sessions, progress, version: version() });
  } finally {
    progress.done();
    await sessions.closeAll();
    await store.close();
  }
}

/**
 * The recorded lab `name`, when the caller may act on it: its owner, or an administrator of
 * the cluster file in effect (else of the cluster the lab was deployed on).
 */
export async function accessibleLab(ctx: Pick<CommandContext, 'store' | 'owner' | 'clusterFile'>, name: string): Promise<ScenarioRecord> {
  const rec = await ctx.store.requireScenario(name);
  requireAccess(rec, callerOf(ctx.owner, ctx.clusterFile ?? (await ctx.store.cluster(name))));
  return rec;
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
  /** That cluster file, when the context loaded it already (CommandContext.clusterFile). */
  loaded?: Cluster;
}): Promise<Cluster> {
  const file = clusterFileOf(opts.cluster);
  if (file) {
    if (file === EDIV_CLUSTER_CONF && opts.cluster === undefined && process.env.EDIV_CLUSTER === undefined) opts.progress.info(`cluster: ${EDIV_CLUSTER_CONF} (EDIV's)`);
    return opts.loaded ?? loadCluster(file);
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
