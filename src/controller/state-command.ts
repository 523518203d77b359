// `ediv state info|migrate`: where a controller's records are and which schema they have, and
// an explicit migration (every command also migrates on first use, saying so).
import type { CommonOptions } from './command-context.ts';
import { storeLocationOf } from './command-context.ts';
import { migrate, pendingMigrations, SCHEMA_VERSION, type MigrationReport } from '../state/migrations.ts';
import { currentUser, openDatabase, openStateStore, type StoreLocation } from '../state/open.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { STATE_FILE } from '../state/sqlite.ts';

export interface StateInfo {
  ok: true;
  kind: StoreLocation['kind'];
  location: string;
  storeId: string;
  schemaVersion: number;
  /** The newest schema this ediv knows. */
  knownVersion: number;
  labs: number;
  /** What opening it migrated (empty when it was up to date). */
  migrated: MigrationReport['applied'];
}

export async function stateInfoCommand(opts: CommonOptions): Promise<StateInfo> {
  const { location } = await storeLocationOf(opts);
  const store = await openStateStore(location);
  try {
    return {
      ok: true,
      kind: location.kind,
      location: store.location,
      storeId: store.id,
      schemaVersion: store.migration.to,
      knownVersion: SCHEMA_VERSION,
      labs: (await store.listScenarios()).length,
      migrated: store.migration.applied,
    };
  } finally {
    await store.close();
  }
}

export type StateMigrateReport = { ok: true; location: string; dryRun: boolean } & MigrationReport;

export async function stateMigrateCommand(opts: CommonOptions & { dryRun?: boolean }): Promise<StateMigrateReport> {
  const { location } = await storeLocationOf(opts);
  if (opts.dryRun && location.kind === 'sqlite' && !existsSync(path.join(location.dir, STATE_FILE))) {
    // Nothing to open: a dry run does not make the store to say what it would hold.
    return { ok: true, location: path.join(location.dir, STATE_FILE), dryRun: true, ...(await pendingMigrations(undefined)) };
  }
  const db = await openDatabase(location);
  try {
    const report = opts.dryRun ? await pendingMigrations(db) : await migrate(db, { user: currentUser() });
    return { ok: true, location: db.location, dryRun: Boolean(opts.dryRun), ...report };
  } finally {
    await db.close();
  }
}
