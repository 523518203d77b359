// The state store's schema and its versioned migrations. Each migration runs once, in order,
// inside one transaction with its entry in `schema_migrations`; a store whose newest entry is
// beyond what this ediv knows was written by a newer ediv and is refused, never changed.
// Migrations are SQL plus, where data must be rewritten, a function of the open database.
import type { DatabaseSync } from 'node:sqlite';
import { OperationError } from '../common/errors.ts';
import { parseWithMaps, stringifyWithMaps } from '../common/json.ts';

export interface Migration {
  version: number;
  description: string;
  up(db: DatabaseSync): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'scenarios, hosts, vms and ids',
    // IF NOT EXISTS: stores made before versioning have these tables already.
    up: (db) => db.exec(`
    CREATE TABLE IF NOT EXISTS scenarios (
      name TEXT PRIMARY KEY,
      source_path TEXT NOT NULL,
      cluster_file TEXT NOT NULL,
      cluster_json TEXT NOT NULL,
      segmentator TEXT NOT NULL,
      plan_json TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('planning','deploying','running','failed','undeploying')),
      error TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS hosts (
      scenario TEXT NOT NULL REFERENCES scenarios(name) ON DELETE CASCADE,
      host TEXT NOT NULL,
      fragment_name TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending','applied','failed','destroyed')),
      touched INTEGER NOT NULL DEFAULT 0,
      error TEXT,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (scenario, host)
    );
    CREATE TABLE IF NOT EXISTS vms (
      scenario TEXT NOT NULL REFERENCES scenarios(name) ON DELETE CASCADE,
      vm TEXT NOT NULL,
      host TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending','running','failed','destroyed')),
      updated_at TEXT NOT NULL,
      PRIMARY KEY (scenario, vm)
    );
    CREATE TABLE IF NOT EXISTS ids (
      pool TEXT NOT NULL,
      id INTEGER NOT NULL,
      scenario TEXT NOT NULL REFERENCES scenarios(name) ON DELETE CASCADE,
      net TEXT NOT NULL,
      PRIMARY KEY (pool, id)
    );
    `),
  },
  {
    version: 2,
    description: 'cmd-seq tables in stored plans are Maps',
    up: (db) => {
      const rows = db.prepare('SELECT name, plan_json FROM scenarios').all() as { name: string; plan_json: string }[];
      const update = db.prepare('UPDATE scenarios SET plan_json = ? WHERE name = ?');
      for (const row of rows) {
        const plan = parseWithMaps<{ hosts?: Record<string, { fragment?: { cmdSeqs?: unknown; cmdSeqLoc?: unknown } }> }>(row.plan_json);
        for (const hp of Object.values(plan.hosts ?? {})) {
          const f = hp.fragment;
          if (!f) continue;
          if (f.cmdSeqs && !(f.cmdSeqs instanceof Map)) f.cmdSeqs = new Map(Object.entries(f.cmdSeqs));
          if (f.cmdSeqLoc && !(f.cmdSeqLoc instanceof Map)) f.cmdSeqLoc = new Map(Object.entries(f.cmdSeqLoc));
        }
        update.run(stringifyWithMaps(plan), row.name);
      }
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The store's schema version (0 = new, or made before versioning). */
export function schemaVersion(db: DatabaseSync): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** Brings the store to SCHEMA_VERSION; returns the migrations applied. */
export function migrate(db: DatabaseSync, file: string, migrations: readonly Migration[] = MIGRATIONS): Migration[] {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new OperationError(
      `the state store ${file} has schema version ${current}, written by a newer ediv (this one knows up to ${latest}); ` +
        'upgrade ediv, or use another --state directory',
      { details: { reason: 'store-too-new', version: current, known: latest } },
    );
  }
  const applied: Migration[] = [];
  for (const m of migrations.filter((x) => x.version > current)) {
    db.exec('BEGIN IMMEDIATE');
    try {
      // Another process may have migrated while we waited for the lock.
      if (schemaVersion(db) >= m.version) {
        db.exec('ROLLBACK');
        continue;
      }
      m.up(db);
      db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(m.version, m.description, new Date().toISOString());
      db.exec('COMMIT');
      applied.push(m);
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }
  return applied;
}
