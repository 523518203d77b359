// The state store's schema and its versioned migrations, the same on SQLite and PostgreSQL.
// All pending migrations run in ONE exclusive transaction with their entries in
// `schema_migrations`, so two controllers opening a store at once migrate it once; a store
// whose newest entry is beyond what this ediv knows was written by a newer ediv and is
// refused, never changed. Migrations are SQL plus, where data must be rewritten, a function.
import { randomUUID } from 'node:crypto';
import { OperationError } from '../common/errors.ts';
import { parseWithMaps, stringifyWithMaps } from '../common/json.ts';
import type { SqlDb, SqlExecutor } from './sql.ts';

export interface Migration {
  version: number;
  description: string;
  up(tx: SqlExecutor, ctx: MigrationContext): Promise<void>;
}

export interface MigrationContext {
  /** The user running the migration: the owner given to labs recorded before owners existed. */
  user: string;
}

/** Runs statements one at a time (SQLite's exec takes several, PostgreSQL's prepared ones not). */
async function execAll(tx: SqlExecutor, statements: string[]): Promise<void> {
  for (const s of statements) await tx.exec(s);
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'scenarios, hosts, vms and ids',
    // IF NOT EXISTS: stores made before versioning have these tables already.
    up: (tx) => execAll(tx, [
      `CREATE TABLE IF NOT EXISTS scenarios (
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
    )`,
      `CREATE TABLE IF NOT EXISTS hosts (
      scenario TEXT NOT NULL REFERENCES scenarios(name) ON DELETE CASCADE,
      host TEXT NOT NULL,
      fragment_name TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending','applied','failed','destroyed')),
      touched INTEGER NOT NULL DEFAULT 0,
      error TEXT,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (scenario, host)
    )`,
      `CREATE TABLE IF NOT EXISTS vms (
      scenario TEXT NOT NULL REFERENCES scenarios(name) ON DELETE CASCADE,
      vm TEXT NOT NULL,
      host TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending','running','failed','destroyed')),
      updated_at TEXT NOT NULL,
      PRIMARY KEY (scenario, vm)
    )`,
      `CREATE TABLE IF NOT EXISTS ids (
      pool TEXT NOT NULL,
      id INTEGER NOT NULL,
      scenario TEXT NOT NULL REFERENCES scenarios(name) ON DELETE CASCADE,
      net TEXT NOT NULL,
      PRIMARY KEY (pool, id)
    )`,
    ]),
  },
  {
    version: 2,
    description: 'cmd-seq tables in stored plans are Maps',
    up: async (tx) => {
      const rows = await tx.all('SELECT name, plan_json FROM scenarios');
      for (const row of rows) {
        const plan = parseWithMaps<{ hosts?: Record<string, { fragment?: { cmdSeqs?: unknown; cmdSeqLoc?: unknown } }> }>(String(row.plan_json));
        for (const hp of Object.values(plan.hosts ?? {})) {
          const f = hp.fragment;
          if (!f) continue;
          if (f.cmdSeqs && !(f.cmdSeqs instanceof Map)) f.cmdSeqs = new Map(Object.entries(f.cmdSeqs));
          if (f.cmdSeqLoc && !(f.cmdSeqLoc instanceof Map)) f.cmdSeqLoc = new Map(Object.entries(f.cmdSeqLoc));
        }
        await tx.run('UPDATE scenarios SET plan_json = ? WHERE name = ?', [stringifyWithMaps(plan), String(row.name)]);
      }
    },
  },
  {
    version: 3,
    description: 'the store id, and each lab\'s owner and unique id',
    // Labs recorded before keep uid NULL: their hosts know them by their bare name.
    up: async (tx, ctx) => {
      await execAll(tx, [
        'CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
        'ALTER TABLE scenarios ADD COLUMN uid TEXT',
        'ALTER TABLE scenarios ADD COLUMN owner_user TEXT',
        'ALTER TABLE scenarios ADD COLUMN owner_store TEXT',
      ]);
      const storeId = randomUUID();
      await tx.run("INSERT INTO store_meta (key, value) VALUES ('store_id', ?)", [storeId]);
      await tx.run('UPDATE scenarios SET owner_user = ?, owner_store = ?', [ctx.user, storeId]);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

const MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)';

/** The store's schema version (0 = new, or made before versioning). */
export async function schemaVersion(tx: SqlExecutor): Promise<number> {
  await tx.exec(MIGRATIONS_TABLE);
  const [row] = await tx.all('SELECT MAX(version) AS v FROM schema_migrations');
  return row?.v == null ? 0 : Number(row.v);
}

/** The version without changing anything (undefined when the store has no schema table yet). */
async function peekVersion(db: SqlDb): Promise<number | undefined> {
  try {
    const [row] = await db.all('SELECT MAX(version) AS v FROM schema_migrations');
    return row?.v == null ? 0 : Number(row.v);
  } catch {
    return undefined;
  }
}

function tooNew(db: SqlDb, version: number, known: number): OperationError {
  return new OperationError(
    `the state store ${db.location} has schema version ${version}, written by a newer ediv (this one knows up to ${known}); ` +
      'upgrade ediv, or use another state store',
    { details: { reason: 'store-too-new', version, known } },
  );
}

export interface MigrationReport {
  from: number;
  to: number;
  applied: { version: number; description: string }[];
}

/** Brings the store to the newest version this ediv knows; says what it applied. */
export async function migrate(db: SqlDb, ctx: MigrationContext, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const seen = await peekVersion(db);
  if (seen !== undefined && seen > latest) throw tooNew(db, seen, latest);
  if (seen === latest) return { from: seen, to: seen, applied: [] };
  return db.transaction(async (tx) => {
    // Another controller may have migrated while we waited for the lock: read again inside it.
    const from = await schemaVersion(tx);
    if (from > latest) throw tooNew(db, from, latest);
    const applied: MigrationReport['applied'] = [];
    for (const m of migrations.filter((x) => x.version > from)) {
      await m.up(tx, ctx);
      await tx.run('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)', [m.version, m.description, new Date().toISOString()]);
      applied.push({ version: m.version, description: m.description });
    }
    return { from, to: Math.max(from, latest), applied };
  }, { exclusive: true });
}

/** What a migration would do, changing nothing (`db` undefined: a store not made yet). */
export async function pendingMigrations(db: SqlDb | undefined, migrations: readonly Migration[] = MIGRATIONS): Promise<MigrationReport> {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const from = db ? ((await peekVersion(db)) ?? 0) : 0;
  if (db && from > latest) throw tooNew(db, from, latest);
  return { from, to: latest, applied: migrations.filter((m) => m.version > from).map((m) => ({ version: m.version, description: m.description })) };
}
