// Where the controller's records are, and opening them: the embedded SQLite file in the
// state directory (one controller), or a PostgreSQL server every controller of a shared
// cluster uses (the cluster file's `state: postgresql://…`). The PostgreSQL client is loaded
// only when a store needs it.
import os from 'node:os';
import type { MigrationReport } from './migrations.ts';
import { openSqlite } from './sqlite.ts';
import { StateStore } from './store.ts';
import type { SqlDb } from './sql.ts';
import type { DeploymentOwner } from '../protocol/agent.ts';

export type StoreLocation = { kind: 'sqlite'; dir: string } | { kind: 'postgresql'; url: string };

/** The URL schemes a cluster file's `state:` may use. */
export const POSTGRES_SCHEMES = ['postgresql:', 'postgres:'];

export function isPostgresUrl(text: string): boolean {
  return POSTGRES_SCHEMES.some((s) => text.startsWith(`${s}//`));
}

/** The login name of the user running this controller: the `user` of the owners it records. */
export function currentUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? `uid${process.getuid?.() ?? 'unknown'}`;
  }
}

export interface OpenOptions {
  /** SQLite: how long to wait for another process's lock (ms). */
  busyTimeoutMs?: number;
  /** Told when the first use migrated the store. */
  onMigrated?: (report: MigrationReport, location: string) => void;
}

/** The database at `location`, as it is (not migrated). */
export async function openDatabase(location: StoreLocation, opts: Pick<OpenOptions, 'busyTimeoutMs'> = {}): Promise<SqlDb> {
  return location.kind === 'sqlite'
    ? openSqlite(location.dir, { busyTimeoutMs: opts.busyTimeoutMs })
    : (await import('./postgres.ts')).openPostgres(location.url);
}

export async function openStateStore(location: StoreLocation, opts: OpenOptions = {}): Promise<StateStore> {
  const db = await openDatabase(location, opts);
  const store = await StateStore.on(db, currentUser());
  if (store.migration.applied.length > 0) opts.onMigrated?.(store.migration, store.location);
  return store;
}

/** This controller as the owner of the labs it records in `store`. */
export function controllerOwner(store: Pick<StateStore, 'id'>): DeploymentOwner {
  return { user: currentUser(), store: store.id };
}

/** One line saying what a first use migrated. */
export function migrationMessage(report: MigrationReport, location: string): string {
  const what = report.applied.map((m) => `${m.version}: ${m.description}`).join('; ');
  return report.from === 0 && report.applied.length > 1
    ? `state store ${location}: created (schema version ${report.to})`
    : `state store ${location}: migrated from schema version ${report.from} to ${report.to} (${what})`;
}
