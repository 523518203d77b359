// The PostgreSQL SqlDb against a real, private server (test/helpers/postgres.ts): queries and
// placeholders, rollback, serializable retries under concurrency, the exclusive lock, and the
// failures (unreachable, timed out, wrong password) as OperationErrors that never show a password.
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { OperationError } from '../../../src/common/errors.ts';
import { EDIV_ADVISORY_LOCK, MAX_TRANSACTION_ATTEMPTS, numberPlaceholders, openPostgres, redactUrl } from '../../../src/state/postgres.ts';
import type { SqlDb } from '../../../src/state/sql.ts';
import { createDatabase, freePort, startPostgresOrSkip, type PgServer } from '../../helpers/postgres.ts';

/** The rejection of `p` (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('state store on PostgreSQL (SqlDb)', function () {
  let server: PgServer | undefined;
  let db: SqlDb;
  const opened: SqlDb[] = [];
  const savedEnv = { PGPASSWORD: process.env.PGPASSWORD, PGPASSFILE: process.env.PGPASSFILE };

  /** A handle on `url` closed after the suite. */
  async function open(url: string, opts?: { connectTimeoutMs?: number }): Promise<SqlDb> {
    const d = await openPostgres(url, opts);
    opened.push(d);
    return d;
  }

  function restoreEnv(): void {
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }

  before(async function () {
    this.timeout(90_000);
    server = await startPostgresOrSkip(this);
    process.env.PGPASSWORD = server.password;
    delete process.env.PGPASSFILE;
    db = await open(server.url);
  });

  after(async function () {
    this.timeout(60_000);
    for (const d of opened) await d.close().catch(() => {});
    restoreEnv();
    await server?.stop();
  });

  afterEach(() => {
    if (server) {
      process.env.PGPASSWORD = server.password;
      delete process.env.PGPASSFILE;
    }
  });

  it('runs queries: exec (several statements), run (rows changed), all (rows, numbers as numbers)', async () => {
    expect(db.dialect).to.equal('postgresql');
    await db.exec(`
      CREATE TABLE basic (id INTEGER PRIMARY KEY, name TEXT NOT NULL, big BIGINT);
      CREATE INDEX basic_name ON basic (name);
      INSERT INTO basic (id, name, big) VALUES (1, 'one', 10000000000);
    `);
    expect(await db.run('INSERT INTO basic (id, name, big) VALUES (?, ?, ?)', [2, 'two', null])).to.equal(1);
    expect(await db.run('INSERT INTO basic (id, name) VALUES (?, ?)', [3, 'three'])).to.equal(1);
    expect(await db.run('UPDATE basic SET name = name || ? WHERE id >= ?', ['!', 2])).to.equal(2);
    expect(await db.run('DELETE FROM basic WHERE id = ?', [99])).to.equal(0);
    const rows = await db.all('SELECT id, name, big FROM basic ORDER BY id');
    expect(rows).to.deep.equal([
      { id: 1, name: 'one', big: 10000000000 },
      { id: 2, name: 'two!', big: null },
      { id: 3, name: 'three!', big: null },
    ]);
    // COUNT(*) is a BIGINT: a number, as on SQLite.
    expect(await db.all('SELECT COUNT(*) AS n FROM basic WHERE name LIKE ?', ['t%'])).to.deep.equal([{ n: 2 }]);
  });

  it('numbers many placeholders, and leaves a ? in quoted text and comments alone', async () => {
    const cols = Array.from({ length: 40 }, (_, i) => `c${i}`);
    await db.exec(`CREATE TABLE wide (${cols.map((c) => `${c} TEXT`).join(', ')})`);
    const values = cols.map((_, i) => (i % 3 === 0 ? i : i % 3 === 1 ? `v${i}?` : null));
    const sql = `INSERT INTO wide (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`;
    expect(await db.run(sql, values)).to.equal(1);
    const [row] = await db.all(`SELECT * FROM wide WHERE c1 = ? AND c38 IS NULL AND c0 = ?`, ['v1?', '0']);
    expect(row).to.deep.equal(Object.fromEntries(cols.map((c, i) => [c, values[i] === null ? null : String(values[i])])));

    const quoted = await db.all(`SELECT 'why?' AS a, ? AS b, 'it''s ?' AS c /* not ? */, "x?" FROM (SELECT 1 AS "x?") t -- or ?\n WHERE ? = 1`, ['b', 1]);
    expect(quoted).to.deep.equal([{ a: 'why?', b: 'b', c: "it's ?", 'x?': 1 }]);

    expect(numberPlaceholders(`SELECT ?, '?', "?", ? -- ?\n, ?`)).to.deep.equal({ text: `SELECT $1, '?', "?", $2 -- ?\n, $3`, count: 3 });
    const err = await rejection(db.all('SELECT ?, ?', [1]));
    expect(err.message).to.match(/2 placeholders but 1 values/);
  });

  it('rolls a transaction back when it throws, and commits when it returns', async () => {
    await db.exec('CREATE TABLE tx (k TEXT PRIMARY KEY)');
    const boom = new Error('boom');
    const err = await rejection(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO tx (k) VALUES (?)', ['lost']);
        expect(await tx.all('SELECT k FROM tx')).to.deep.equal([{ k: 'lost' }]);
        throw boom;
      }),
    );
    expect(err).to.equal(boom);
    expect(await db.all('SELECT k FROM tx')).to.deep.equal([]);

    const got = await db.transaction(async (tx) => {
      await tx.run('INSERT INTO tx (k) VALUES (?)', ['kept']);
      return (await tx.all('SELECT COUNT(*) AS n FROM tx'))[0]!.n;
    });
    expect(got).to.equal(1);
    expect(await db.all('SELECT k FROM tx')).to.deep.equal([{ k: 'kept' }]);

    // A non-conflict database error is not retried, and rolls back too.
    let calls = 0;
    const sqlErr = await rejection(
      db.transaction(async (tx) => {
        calls++;
        await tx.run('INSERT INTO tx (k) VALUES (?)', ['half']);
        await tx.all('SELECT * FROM no_such_table');
      }),
    );
    expect(calls).to.equal(1);
    expect((sqlErr as { code?: string }).code).to.equal('42P01');
    expect(await db.all('SELECT k FROM tx ORDER BY k')).to.deep.equal([{ k: 'kept' }]);
  });

  it('8 parallel read-then-write transactions on one counter (two pools, as two controllers) add exactly 8', async () => {
    const url = await createDatabase(server!, 'counter_db');
    const a = await open(url);
    const b = await open(url);
    await a.exec('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter VALUES (1, 100)');
    let attempts = 0;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).transaction(async (tx) => {
          attempts++;
          const [row] = await tx.all('SELECT n FROM counter WHERE id = ?', [1]);
          await tx.all('SELECT pg_sleep(0.02)'); // let the others read the same value
          await tx.run('UPDATE counter SET n = ? WHERE id = ?', [(row!.n as number) + 1, 1]);
          return row!.n as number;
        }),
      ),
    );
    expect(await a.all('SELECT n FROM counter')).to.deep.equal([{ n: 108 }]);
    // Each saw a different value: no two committed on the same read.
    expect([...results].sort()).to.deep.equal([100, 101, 102, 103, 104, 105, 106, 107]);
    // And the conflicts really happened (and were retried).
    expect(attempts).to.be.greaterThan(8);
  });

  it('runs exclusive transactions one at a time, across pools, each seeing what the one before committed', async () => {
    const url = await createDatabase(server!, 'exclusive_db');
    const a = await open(url);
    const b = await open(url);
    await a.exec('CREATE TABLE version (v INTEGER NOT NULL); INSERT INTO version VALUES (0)');
    const spans: Array<{ start: number; end: number; saw: number }> = [];
    let calls = 0;
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (i % 2 ? a : b).transaction(
          async (tx) => {
            calls++;
            const start = Date.now();
            const v = (await tx.all('SELECT v FROM version'))[0]!.v as number;
            // Migration-like: the schema change a stale snapshot would make twice.
            await tx.exec(`CREATE TABLE mig_${v + 1} (x INTEGER)`);
            await tx.all('SELECT pg_sleep(0.05)');
            await tx.run('UPDATE version SET v = ?', [v + 1]);
            spans.push({ start, end: Date.now(), saw: v });
          },
          { exclusive: true },
        ),
      ),
    );
    expect(await a.all('SELECT v FROM version')).to.deep.equal([{ v: 6 }]);
    expect(calls, 'no exclusive transaction had to be retried').to.equal(6);
    spans.sort((x, y) => x.start - y.start);
    expect(spans.map((s) => s.saw)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    for (let i = 1; i < spans.length; i++) {
      expect(spans[i]!.start, `transaction ${i} started before ${i - 1} ended`).to.be.at.least(spans[i - 1]!.end);
    }
    // The lock is released: a plain lock attempt from elsewhere gets it at once.
    const free = await a.all('SELECT pg_try_advisory_lock(?) AS got', [EDIV_ADVISORY_LOCK.toString()]);
    expect(free).to.deep.equal([{ got: true }]);
    await a.all('SELECT pg_advisory_unlock(?)', [EDIV_ADVISORY_LOCK.toString()]);
  });

  it('retries on a unique violation (someone else inserted first), then looks again', async () => {
    await db.exec("CREATE TABLE names (name TEXT PRIMARY KEY, owner TEXT NOT NULL); INSERT INTO names VALUES ('taken', 'other')");
    // Deterministic: the first try inserts without looking (as if it had looked before the
    // other committed); the retry looks and finds the row. What the first try wrote is gone.
    let calls = 0;
    const got = await db.transaction(async (tx) => {
      calls++;
      if (calls === 1) {
        await tx.run("INSERT INTO names VALUES ('side', 'me')");
        await tx.run("INSERT INTO names VALUES ('taken', 'me')");
        return 'inserted';
      }
      const [row] = await tx.all('SELECT owner FROM names WHERE name = ?', ['taken']);
      return `found ${row!.owner as string}`;
    });
    expect(got).to.equal('found other');
    expect(calls).to.equal(2);
    expect(await db.all('SELECT name FROM names ORDER BY name')).to.deep.equal([{ name: 'taken' }]);

    // Concurrent check-then-insert of one name: exactly one inserts, the others find it.
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        db.transaction(async (tx) => {
          const found = await tx.all('SELECT owner FROM names WHERE name = ?', ['race']);
          if (found.length) return 'existed';
          await tx.all('SELECT pg_sleep(0.01)');
          await tx.run('INSERT INTO names (name, owner) VALUES (?, ?)', ['race', `t${i}`]);
          return 'inserted';
        }),
      ),
    );
    expect(outcomes.filter((o) => o === 'inserted')).to.have.length(1);
    expect(outcomes.filter((o) => o === 'existed')).to.have.length(5);
  });

  it('gives up after a bounded number of conflicts with an OperationError saying the store is busy', async function () {
    this.timeout(30_000);
    await db.exec("CREATE TABLE always (k TEXT PRIMARY KEY); INSERT INTO always VALUES ('x')");
    let calls = 0;
    const err = await rejection(
      db.transaction(async (tx) => {
        calls++;
        await tx.run("INSERT INTO always VALUES ('x')");
      }),
    );
    expect(err).to.be.instanceOf(OperationError);
    expect(err.message).to.contain(`the state store ${server!.url} is too busy`);
    expect(calls).to.equal(MAX_TRANSACTION_ATTEMPTS);
  });

  it('bounds statements and idle transactions on every connection', async () => {
    const [s] = await db.all('SHOW statement_timeout');
    const [t] = await db.all('SHOW idle_in_transaction_session_timeout');
    expect(s).to.deep.equal({ statement_timeout: '1min' });
    expect(t).to.deep.equal({ idle_in_transaction_session_timeout: '1min' });
  });

  it('survives its connections being killed (idle in the pool, and inside a transaction)', async () => {
    const url = await createDatabase(server!, 'kill_db');
    const victim = await open(url);
    await victim.exec('CREATE TABLE k (x INTEGER)');
    const killer = new pg.Client({ host: server!.socketDir, port: server!.port, user: 'ediv', database: 'kill_db' });
    await killer.connect();
    try {
      const killAll = () => killer.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'kill_db' AND pid <> pg_backend_pid()");
      // Idle pooled connections die: the pool's 'error' event must not end the process.
      await killAll();
      await sleep(200);
      expect(await victim.all('SELECT 1 AS one')).to.deep.equal([{ one: 1 }]);

      // Killed inside a transaction, between statements: an OperationError, not a crash.
      const err = await rejection(
        victim.transaction(async (tx) => {
          await tx.run('INSERT INTO k VALUES (1)');
          await killAll();
          await sleep(200);
          await tx.run('INSERT INTO k VALUES (2)');
        }),
      );
      expect(err).to.be.instanceOf(OperationError);
      expect(err.message).to.contain(`cannot reach the state store ${url}`);
      expect(await victim.all('SELECT COUNT(*) AS n FROM k')).to.deep.equal([{ n: 0 }]);
    } finally {
      await killer.end();
    }
  });

  it('fails fast with an OperationError naming the location when nothing listens (loopback)', async () => {
    const port = await freePort();
    const url = `postgresql://ediv@127.0.0.1:${port}/ediv`;
    const t0 = Date.now();
    const err = await rejection(openPostgres(url));
    expect(Date.now() - t0).to.be.below(5000);
    expect(err).to.be.instanceOf(OperationError);
    expect(err.message).to.match(new RegExp(`^cannot reach the state store ${url.replace(/[.?]/g, '\\$&')}: .*ECONNREFUSED`));
  });

  it('bounds connecting to a server that accepts and never answers (connectTimeoutMs)', async function () {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const url = `postgres://ediv@127.0.0.1:${port}/ediv`;
      const t0 = Date.now();
      const err = await rejection(openPostgres(url, { connectTimeoutMs: 500 }));
      expect(Date.now() - t0).to.be.within(400, 4000);
      expect(err).to.be.instanceOf(OperationError);
      expect(err.message).to.contain(`cannot reach the state store ${url}: `);
      expect(err.message).to.match(/timeout/i);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('says when authentication failed, hints at PGPASSWORD and ~/.pgpass, and never shows the password', async () => {
    const wrong = 'Wr0ng-Secret-xyzzy';
    process.env.PGPASSWORD = wrong;
    const err = await rejection(openPostgres(server!.url));
    expect(err).to.be.instanceOf(OperationError);
    expect(err.message).to.contain(`cannot reach the state store ${server!.url}: authentication failed`);
    expect(err.message).to.contain('PGPASSWORD').and.contain('.pgpass');
    expect(err.message).not.to.contain(wrong);
    expect(JSON.stringify({ m: err.message, s: err.stack })).not.to.contain(wrong);

    // No password at all (none in the environment, no pgpass file).
    delete process.env.PGPASSWORD;
    process.env.PGPASSFILE = path.join(os.tmpdir(), 'ediv-no-such-pgpass');
    const none = await rejection(openPostgres(server!.url));
    expect(none).to.be.instanceOf(OperationError);
    expect(none.message).to.contain('authentication failed').and.contain('PGPASSWORD');

    // A wrong password in the URL itself: neither the location nor the message shows it.
    const inUrl = server!.url.replace('ediv@', `ediv:${wrong}@`);
    const err2 = await rejection(openPostgres(inUrl));
    expect(err2.message).to.contain(`cannot reach the state store ${server!.url}: authentication failed`);
    expect(err2.message).not.to.contain(wrong);
  });

  it('takes the password from the URL, PGPASSWORD or a pgpass file; the location never has it', async () => {
    const pw = server!.password;
    delete process.env.PGPASSWORD;
    const withPw = await open(server!.url.replace('ediv@', `ediv:${encodeURIComponent(pw)}@`));
    expect(withPw.location).to.equal(server!.url);
    expect(withPw.location).not.to.contain(pw);
    expect(await withPw.all('SELECT current_user AS u')).to.deep.equal([{ u: 'ediv' }]);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-pgpass-'));
    try {
      const file = path.join(dir, 'pgpass');
      const lines = [
        '# comment',
        `127.0.0.1:${server!.port}:otherdb:ediv:not-this-one`,
        `127.0.0.1:${server!.port + 1}:*:ediv:nor-this-one`,
        `127.0.0.1:${server!.port}:*:ediv:${pw.replace(/[\\:]/g, '\\$&')}`,
      ];
      fs.writeFileSync(file, lines.join('\n') + '\n', { mode: 0o644 });
      process.env.PGPASSFILE = file;
      // Readable by others: ignored, as libpq does.
      const ignored = await rejection(openPostgres(server!.url));
      expect(ignored.message).to.contain('authentication failed');
      fs.chmodSync(file, 0o600);
      const viaFile = await open(server!.url);
      expect(await viaFile.all('SELECT 1 AS one')).to.deep.equal([{ one: 1 }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }

    expect(redactUrl('postgresql://u:s3cret@db.example:5432/ediv')).to.equal('postgresql://u@db.example:5432/ediv');
    expect(redactUrl('postgres://u:p%40ss@h/d?sslmode=require&password=zz')).to.equal('postgres://u@h/d?sslmode=require');
    expect(redactUrl('postgresql://u@h/d?password=zz&sslmode=require')).to.equal('postgresql://u@h/d?sslmode=require');
    expect(redactUrl('postgresql://u@/d?host=/run/postgresql')).to.equal('postgresql://u@/d?host=/run/postgresql');
  });

  it('connects over a Unix socket (?host=/dir)', async () => {
    const viaSocket = await open(server!.socketUrl);
    expect(viaSocket.location).to.equal(server!.socketUrl);
    expect(await viaSocket.all("SELECT COALESCE(inet_client_addr()::text, 'local') AS via")).to.deep.equal([{ via: 'local' }]);
  });

  it('close() ends the pool: its connections go, and later calls fail', async () => {
    const url = await createDatabase(server!, 'close_db');
    const d = await openPostgres(url);
    await Promise.all([d.all('SELECT pg_sleep(0.05)'), d.all('SELECT pg_sleep(0.05)')]);
    const count = async () => (await db.all("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = 'close_db'"))[0]!.n as number;
    expect(await count()).to.equal(2);
    await d.close();
    await sleep(100);
    expect(await count()).to.equal(0);
    const err = await rejection(d.all('SELECT 1'));
    expect(err).to.be.instanceOf(OperationError);
    expect(err.message).to.contain('closed');
  });
});
