// The state store's database on a shared PostgreSQL server (the `pg` driver), behind the same
// SqlDb interface as embedded SQLite, so that controllers on several machines share one store.
// SQL comes with `?` placeholders, numbered here ($1, $2, ...). Every transaction is
// SERIALIZABLE and is run again from the start when the server reports a conflict with a
// concurrent one (serialization failure, deadlock, or a unique violation: the store checks
// before it inserts, so a duplicate means someone else got there first); exclusive ones
// (migrations) also hold one advisory lock for ediv. Everything is bounded: connecting
// (10 s by default), each statement (60 s), an idle open transaction, and the retries. A
// connection failure is an OperationError naming the server by its URL without the password;
// the password comes from the URL, PGPASSWORD or a pgpass file, as for psql (looked up here,
// not by the driver, whose own pgpass support is deprecated), and is never in a message.
//
// URLs: postgresql://user@host:port/db (or postgres://), and a Unix socket as
// postgresql://user@/db?host=/socket/dir&port=5432.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { InputError, OperationError } from '../common/errors.ts';
import type { Row, SqlDb, SqlExecutor, SqlValue } from './sql.ts';

/** The key of ediv's advisory lock (exclusive transactions): "edivstat" in ASCII. */
export const EDIV_ADVISORY_LOCK = 0x65646976_73746174n;
/** How often a conflicting transaction is tried before giving up. */
export const MAX_TRANSACTION_ATTEMPTS = 20;
const STATEMENT_TIMEOUT_MS = 60_000;
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;
/**
 * A loaded server (a class deploying at once) may take a while to accept: a controller had
 * better wait than fail a deploy. An unreachable one is refused at once anyway.
 */
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
/**
 * Connections per controller. A controller's store work is mostly one statement at a time;
 * two keep a transaction from waiting behind a status update. Small, because a course's
 * controllers share the server's max_connections (100 by default): 30 at once use 60.
 */
const POOL_SIZE = 2;
/** SQLSTATEs after which a transaction runs again: serialization_failure, deadlock_detected, unique_violation. */
const RETRY_SQLSTATES = new Set(['40001', '40P01', '23505']);

export interface PostgresOptions {
  /** Bound on establishing a connection (TCP, TLS, authentication); 10 s by default. */
  connectTimeoutMs?: number;
}

/** Opens a pool on the server at `url` and checks that it answers (OperationError if not). */
export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<SqlDb> {
  const location = redactUrl(url);
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw InputError.commandLine(undefined, `the state store URL ${JSON.stringify(location)} must start with postgresql:// or postgres://`);
  }
  const db = new PostgresDb(url, location, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  try {
    await db.all('SELECT 1');
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/** `url` without its password (user info or `password=` parameter), for messages. */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_m, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      return `${scheme}${colon < 0 ? userinfo : userinfo.slice(0, colon)}@`;
    })
    .replace(/([?&])password=[^&#]*(&?)/gi, (_m, sep: string, next: string) => (next ? sep : ''));
}

/**
 * `sql` with each `?` outside quoted text and comments replaced by $1, $2, ... (quoted:
 * '...' literals, "..." identifiers; comments: -- to the end of the line, and /* ... *\/).
 */
export function numberPlaceholders(sql: string): { text: string; count: number } {
  let out = '';
  let count = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      // A doubled quote inside is an escaped one: the scan leaves and re-enters the literal.
      const end = sql.indexOf(c, i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      out += `$${++count}`;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return { text: out, count };
}

/**
 * Values as the SQLite side gives them: strings, numbers or null. 64-bit integers (COUNT(*),
 * BIGINT columns) and NUMERIC become numbers (ids and counts fit in 2^53); dates and times stay
 * the server's text instead of becoming Date objects.
 */
function valueTypes(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  const { INT8, NUMERIC, DATE, TIMESTAMP, TIMESTAMPTZ, TIME, TIMETZ, INTERVAL } = pg.types.builtins;
  types.setTypeParser(INT8, 'text', (v: string) => {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  });
  types.setTypeParser(NUMERIC, 'text', (v: string) => Number(v));
  for (const oid of [DATE, TIMESTAMP, TIMESTAMPTZ, TIME, TIMETZ, INTERVAL]) types.setTypeParser(oid, 'text', (v: string) => v);
  return types;
}

class PostgresDb implements SqlDb {
  readonly dialect = 'postgresql' as const;
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly url: string;
  private closed = false;

  constructor(url: string, location: string, connectTimeoutMs: number) {
    this.url = url;
    this.location = location;
    let config: pg.ClientConfig;
    try {
      config = parseIntoClientConfig(url);
    } catch {
      throw InputError.commandLine(undefined, `the state store URL ${JSON.stringify(location)} is not a valid PostgreSQL URL`);
    }
    this.pool = new pg.Pool({
      ...config,
      // The URL's own password, else PGPASSWORD, else the pgpass file: looked up per connection.
      password: config.password ? config.password : (passwordLookup as unknown as () => Promise<string>),
      max: POOL_SIZE,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: connectTimeoutMs,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      // Client-side bound too, for a server that stops answering without closing the connection.
      query_timeout: STATEMENT_TIMEOUT_MS + 10_000,
      keepAlive: true,
      application_name: 'ediv',
      types: valueTypes(),
    });
    // An idle pooled connection that breaks (server restart) is dropped by the pool; without a
    // listener the 'error' event would end the process.
    this.pool.on('error', () => {});
  }

  all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.withClient(async (c) => (await query(c, sql, params)).rows);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.withClient(async (c) => (await query(c, sql, params)).rowCount ?? 0);
  }

  exec(sql: string): Promise<void> {
    return this.withClient(async (c) => {
      await serial(c, sql);
    });
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts: { exclusive?: boolean } = {}): Promise<T> {
    let last: unknown;
    for (let attempt = 1; attempt <= MAX_TRANSACTION_ATTEMPTS; attempt++) {
      if (attempt > 1) await backOff(attempt - 1);
      try {
        return await this.withClient((c) => this.attempt(c, fn, opts.exclusive === true));
      } catch (err) {
        if (!RETRY_SQLSTATES.has(sqlState(err) ?? '')) throw err;
        last = err;
      }
    }
    throw new OperationError(
      `the state store ${this.location} is too busy: a transaction conflicted with concurrent ones ${MAX_TRANSACTION_ATTEMPTS} times in a row (last: ${this.reason(last)})`,
      { cause: last },
    );
  }

  /**
   * One try of a transaction on client `c`. An exclusive one takes ediv's advisory lock before
   * BEGIN, for the session: a lock taken inside the transaction would be waited for after the
   * transaction's snapshot was taken, so it would not see what the previous holder committed.
   * The lock is released after COMMIT or ROLLBACK (or with the session, if the connection breaks).
   */
  private async attempt<T>(c: Client, fn: (tx: SqlExecutor) => Promise<T>, exclusive: boolean): Promise<T> {
    if (exclusive) await serial(c, 'SELECT pg_advisory_lock($1)', [EDIV_ADVISORY_LOCK.toString()]);
    try {
      await serial(c, 'BEGIN ISOLATION LEVEL SERIALIZABLE');
      let result: T;
      try {
        result = await fn(executor(c));
        await serial(c, 'COMMIT');
      } catch (err) {
        if (isConnectionError(err)) c.broken = true;
        else {
          // A connection whose transaction could not be rolled back is not reused: closing it
          // rolls back. The error that ended the transaction is the one to report (or retry).
          await serial(c, 'ROLLBACK').catch(() => {
            c.broken = true;
          });
        }
        throw err;
      }
      return result;
    } finally {
      if (exclusive && !c.broken) {
        // A connection that may still hold the lock is never handed back to the pool: it is
        // closed, which releases the lock (what was committed stays committed).
        try {
          const r = await serial(c, 'SELECT pg_advisory_unlock($1) AS unlocked', [EDIV_ADVISORY_LOCK.toString()]);
          if (r.rows[0]?.unlocked !== true) c.broken = true;
        } catch {
          c.broken = true;
        }
      }
    }
  }

  /** Runs `fn` on a pooled connection; turns connection failures into OperationErrors. */
  private async withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    if (this.closed) throw new OperationError(`the state store ${this.location} is closed`);
    let c: Client;
    try {
      c = (await this.pool.connect()) as Client;
    } catch (err) {
      throw this.wrap(err);
    }
    // A connection that breaks while checked out but between queries emits 'error': keep it
    // from ending the process, and note it so the connection is not reused.
    const onError = () => {
      c.broken = true;
    };
    c.on('error', onError);
    let failure: unknown;
    try {
      return await fn(c);
    } catch (err) {
      failure = err;
      if (isConnectionError(err)) c.broken = true;
      throw this.wrap(err);
    } finally {
      c.removeListener('error', onError);
      // release(true) destroys the connection instead of returning it to the pool.
      c.release(c.broken ? (failure instanceof Error ? failure : true) : undefined);
    }
  }

  /** The error to throw for `err`: OperationErrors for unreachable, timed out; others as they are. */
  private wrap(err: unknown): unknown {
    if (err instanceof OperationError || err instanceof InputError) return err;
    const code = sqlState(err);
    if (isInvalidUrl(err)) {
      return InputError.commandLine(undefined, `the state store URL ${JSON.stringify(this.location)} is not a valid PostgreSQL URL`);
    }
    if (isAuthError(err)) {
      return new OperationError(
        `cannot reach the state store ${this.location}: authentication failed (${sqlState(err) ? this.reason(err) : 'the server asks for a password and none was found'}); ` +
          `give the password in PGPASSWORD or in a pgpass file (~/.pgpass, or the file PGPASSFILE names)`,
        { cause: err, details: { reason: 'state-store-auth', location: this.location } },
      );
    }
    if (isConnectionError(err)) {
      return new OperationError(`cannot reach the state store ${this.location}: ${this.reason(err)}`, {
        cause: err,
        details: { reason: 'state-store-unreachable', location: this.location },
      });
    }
    if (code === '57014') {
      return new OperationError(`the state store ${this.location} did not finish a statement in ${STATEMENT_TIMEOUT_MS / 1000} s: ${this.reason(err)}`, {
        cause: err,
        details: { reason: 'state-store-timeout', location: this.location },
      });
    }
    return err;
  }

  /** An error's message, with any password the connection may use taken out. */
  private reason(err: unknown): string {
    let msg = messageOf(err);
    for (const secret of secretsOf(this.url)) msg = msg.split(secret).join('***');
    return msg;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** A pooled connection; `broken`: not to be reused; `queue`: its queries, one after another. */
type Client = pg.PoolClient & { broken?: boolean; queue?: Promise<unknown> };

function executor(c: Client): SqlExecutor {
  return {
    all: async (sql, params = []) => (await query(c, sql, params)).rows,
    run: async (sql, params = []) => (await query(c, sql, params)).rowCount ?? 0,
    exec: async (sql) => {
      await serial(c, sql);
    },
  };
}

function query(c: Client, sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult<Row>> {
  const { text, count } = numberPlaceholders(sql);
  if (count !== params.length) {
    throw new Error(`SQL has ${count} placeholders but ${params.length} values were given: ${sql}`);
  }
  return serial(c, text, [...params]);
}

/**
 * Sends a query on `c` once the ones before it are done (a transaction's fn may start several
 * at once; the driver wants one at a time). Without values: the simple protocol (several
 * statements allowed).
 */
function serial(c: Client, text: string, values?: SqlValue[]): Promise<pg.QueryResult<Row>> {
  const run = () => (values && values.length ? c.query<Row>(text, values) : c.query<Row>(text));
  const next = (c.queue ?? Promise.resolve()).then(run);
  c.queue = next.catch(() => {});
  return next;
}

/**
 * The password for a connection without one in its URL, as libpq finds it: PGPASSWORD, else
 * the first matching line of the pgpass file (PGPASSFILE, else ~/.pgpass; ignored unless only
 * its owner may read it). Undefined when there is none: the server then says what it wants.
 */
async function passwordLookup(cp: { host?: string; port?: number; database?: string; user?: string }): Promise<string | undefined> {
  if (process.env.PGPASSWORD) return process.env.PGPASSWORD;
  const file = process.env.PGPASSFILE || path.join(os.homedir(), '.pgpass');
  let text: string;
  try {
    const st = await fs.promises.stat(file);
    if (!st.isFile() || (st.mode & 0o077) !== 0) return undefined;
    text = await fs.promises.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  // A Unix socket connection matches "localhost", as in libpq.
  const host = !cp.host || cp.host.startsWith('/') ? 'localhost' : cp.host;
  const want = [host, String(cp.port ?? 5432), cp.database ?? '', cp.user ?? ''];
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const fields = pgpassFields(line);
    if (fields.length < 5) continue;
    if (want.every((w, i) => fields[i] === '*' || fields[i] === w)) return fields[4];
  }
  return undefined;
}

/** A pgpass line's five fields: separated by colons; a backslash makes the next character plain. */
function pgpassFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && i + 1 < line.length) cur += line[++i];
    else if (ch === ':' && out.length < 4) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Waits a random time below 5 ms · 2^n, at most 500 ms (n = failures so far). */
function backOff(n: number): Promise<void> {
  const ceiling = Math.min(500, 5 * 2 ** n);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** The SQLSTATE of a PostgreSQL error, looked for along the `cause` chain too. */
export function sqlState(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (e instanceof pg.DatabaseError && typeof code === 'string') return code;
  }
  return undefined;
}

function isAuthError(err: unknown): boolean {
  const code = sqlState(err);
  if (code === '28P01' || code === '28000') return true;
  // The driver's own: a server that asks for a password when none was found.
  return !code && /\bSASL\b|password must be a string|no password/i.test(messageOf(err));
}

/** A failure to connect, or a connection lost: the server was not reached or went away. */
function isConnectionError(err: unknown): boolean {
  const code = sqlState(err);
  if (code) return code.startsWith('08') || code.startsWith('28') || code.startsWith('53') || code === '3D000' || /^57P0[1-4]$/.test(code) || code === '25P03';
  if (!(err instanceof Error)) return false;
  const sys = (err as { code?: unknown }).code;
  // errno codes (ECONNREFUSED, ENOENT for a socket, EAI_AGAIN), not Node's own ERR_* codes.
  if (typeof sys === 'string' && /^E[A-Z0-9_]+$/.test(sys) && !sys.startsWith('ERR_')) return true;
  if (err instanceof AggregateError) return true;
  return /timeout exceeded when trying to connect|Connection terminated|timeout expired|Query read timeout|connection is closed|Client has encountered a connection error|SASL|password must be a string/i.test(
    err.message,
  );
}

function isInvalidUrl(err: unknown): boolean {
  return err instanceof Error && (err as { code?: unknown }).code === 'ERR_INVALID_URL';
}

function messageOf(err: unknown): string {
  if (err instanceof AggregateError && !err.message) {
    return [...new Set(err.errors.map(messageOf))].join('; ') || 'connection failed';
  }
  if (err instanceof Error) {
    const causeMsg = err.cause instanceof Error && err.cause.message !== err.message ? ` (${messageOf(err.cause)})` : '';
    return (err.message || err.name) + causeMsg;
  }
  return String(err);
}

/** The passwords a connection to `url` may use: the URL's own, and PGPASSWORD. */
function secretsOf(url: string): string[] {
  const out: string[] = [];
  const user = /^[a-z][a-z0-9+.-]*:\/\/([^@/?#]*)@/i.exec(url)?.[1];
  const colon = user?.indexOf(':') ?? -1;
  if (user && colon >= 0) out.push(user.slice(colon + 1));
  const param = /[?&]password=([^&#]*)/i.exec(url)?.[1];
  if (param) out.push(param);
  if (process.env.PGPASSWORD) out.push(process.env.PGPASSWORD);
  const all = out.flatMap((s) => {
    let decoded = s;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      /* not percent-encoded */
    }
    return [s, decoded];
  });
  // Longest first, so that a password containing another is taken out whole.
  return [...new Set(all.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
}
