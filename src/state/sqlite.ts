// The embedded store's database: one SQLite file (node:sqlite) in the controller's state
// directory. node:sqlite is synchronous and one connection serves the whole process, so every
// statement and transaction of this process is queued behind the one before (an async
// transaction must not see, or be rolled back with, another's statements). Other processes
// wait on SQLite's own lock (busy timeout); BEGIN IMMEDIATE takes the write lock up front, so
// transactions are serializable and never need a retry.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { OperationError } from '../common/errors.ts';
import type { Row, SqlDb, SqlExecutor, SqlValue } from './sql.ts';

export const STATE_FILE = 'ediv.sqlite';

export function openSqlite(dir: string, opts: { busyTimeoutMs?: number } = {}): SqlDb {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, STATE_FILE);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file);
  } catch (err) {
    throw new OperationError(`cannot open the state store ${file}: ${(err as Error).message}`, { cause: err });
  }
  const busyTimeoutMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 30000));
  db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
  toWal(db, file);
  db.exec('PRAGMA foreign_keys = ON');
  return new SqliteDb(file, db, busyTimeoutMs);
}

/**
 * Runs a statement that takes a lock, again when SQLite reports the database locked without
 * having waited: its busy timeout does not cover every case (the WAL switch of a new file meeting
 * another process opening it, a connection meeting another's WAL recovery), and two `ediv
 * deploy` started together on a fresh state directory met one under load. Bounded by `waitMs`.
 */
function whenUnlocked(db: DatabaseSync, sql: string, waitMs: number): void {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      db.exec(sql);
      return;
    } catch (err) {
      if (!/locked|busy/i.test((err as Error).message) || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20 + Math.random() * 80);
    }
  }
}

function toWal(db: DatabaseSync, file: string): void {
  try {
    whenUnlocked(db, 'PRAGMA journal_mode = WAL', 10_000);
  } catch (err) {
    throw new OperationError(`cannot open the state store ${file}: ${(err as Error).message}`, { cause: err });
  }
}

class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite' as const;
  readonly location: string;
  private readonly db: DatabaseSync;
  /** The tail of this process's queue of statements and transactions. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly direct: SqlExecutor;
  private readonly busyTimeoutMs: number;

  constructor(file: string, db: DatabaseSync, busyTimeoutMs: number) {
    this.location = file;
    this.db = db;
    this.busyTimeoutMs = busyTimeoutMs;
    this.direct = {
      all: async (sql, params = []) => this.db.prepare(sql).all(...(params as SQLInputValue[])) as Row[],
      run: async (sql, params = []) => Number(this.db.prepare(sql).run(...(params as SQLInputValue[])).changes),
      exec: async (sql) => void this.db.exec(sql),
    };
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn, fn);
    this.queue = result.catch(() => undefined);
    return result;
  }

  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.serialized(() => this.direct.all(sql, params));
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.serialized(() => this.direct.run(sql, params));
  }
  exec(sql: string): Promise<void> {
    return this.serialized(() => this.direct.exec(sql));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.serialized(async () => {
      whenUnlocked(this.db, 'BEGIN IMMEDIATE', this.busyTimeoutMs);
      try {
        const out = await fn(this.direct);
        this.db.exec('COMMIT');
        return out;
      } catch (err) {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  async close(): Promise<void> {
    await this.queue;
    this.db.close();
  }
}
