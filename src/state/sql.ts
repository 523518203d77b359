// The one database interface the state store is written against, so that the same store (and
// the same migrations) run on embedded SQLite and on a shared PostgreSQL server. SQL is written
// once, in the subset both understand, with `?` placeholders (the PostgreSQL driver numbers
// them); values are strings, numbers or null.
export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  /** The rows of a query. */
  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Runs one statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs one or more statements without parameters (schema changes). */
  exec(sql: string): Promise<void>;
}

export type SqlDialect = 'sqlite' | 'postgresql';

export interface SqlDb extends SqlExecutor {
  readonly dialect: SqlDialect;
  /** Where the database is, for messages: a file, or a URL without its password. */
  readonly location: string;
  /**
   * Runs `fn` in one serializable transaction and commits; rolls back when it throws. When the
   * database reports a conflict with a concurrent transaction, `fn` runs again from the start
   * (a bounded number of times), so it must do nothing but database work. `exclusive`: no other
   * exclusive transaction runs meanwhile, on any connection (migrations).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts?: { exclusive?: boolean }): Promise<T>;
  close(): Promise<void>;
}
