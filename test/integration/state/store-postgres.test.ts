// The state store on a real PostgreSQL server (a private one this suite starts and removes):
// the same tests as on SQLite, plus what only a shared server has — two controllers migrating
// one store at once, and the password staying out of every message.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { OperationError } from '../../../src/common/errors.ts';
import { SCHEMA_VERSION } from '../../../src/state/migrations.ts';
import { openStateStore } from '../../../src/state/open.ts';
import { createDatabase, startPostgresOrSkip, type PgServer } from '../../helpers/postgres.ts';
import { storeSuite } from '../../helpers/store-suite.ts';

const run = promisify(execFile);

describe('integration: state store on PostgreSQL', function () {
  this.timeout(120_000);
  let server: PgServer | undefined;
  let databases = 0;
  const savedPassword = process.env.PGPASSWORD;
  before(async function () {
    server = await startPostgresOrSkip(this);
    process.env.PGPASSWORD = server.password;
  });
  after(async () => {
    if (savedPassword === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = savedPassword;
    await server?.stop();
  });
  const freshUrl = (): Promise<string> => createDatabase(server!, `store_${++databases}`);

  storeSuite(async () => ({ kind: 'postgresql', url: await freshUrl() }));

  it('two controllers opening a new store at once migrate it once', async () => {
    const url = await freshUrl();
    const script = `import { openStateStore } from ${JSON.stringify(new URL('../../../src/state/open.ts', import.meta.url).pathname)};
      const s = await openStateStore({ kind: 'postgresql', url: process.argv[1] });
      process.stdout.write(JSON.stringify({ id: s.id, applied: s.migration.applied.length }));
      await s.close();`;
    const outs = await Promise.all([1, 2, 3].map(() => run(process.execPath, ['--no-warnings', '--input-type=module', '-e', script, url], { env: process.env })));
    const results = outs.map((o) => JSON.parse(o.stdout) as { id: string; applied: number });
    expect(new Set(results.map((r) => r.id)).size).to.equal(1);
    expect(results.map((r) => r.applied).sort()).to.deep.equal([0, 0, SCHEMA_VERSION]);
  });

  it('refuses a store written by a newer ediv, and leaves it as it was', async () => {
    const url = await freshUrl();
    await (await openStateStore({ kind: 'postgresql', url })).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)', [SCHEMA_VERSION + 1, 'from the future', 't']);
      const err = await openStateStore({ kind: 'postgresql', url }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(OperationError);
      expect((err as Error).message).to.match(new RegExp(`schema version ${SCHEMA_VERSION + 1}, written by a newer ediv`));
      const { rows } = await client.query('SELECT MAX(version) AS v FROM schema_migrations');
      expect(Number(rows[0].v)).to.equal(SCHEMA_VERSION + 1);
    } finally {
      await client.end();
    }
  });

  it('a wrong password is refused with a message that names the store but not the password', async () => {
    const url = await freshUrl();
    const right = process.env.PGPASSWORD;
    process.env.PGPASSWORD = 'not-the-password-x9';
    try {
      const err = await openStateStore({ kind: 'postgresql', url }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(OperationError);
      expect((err as Error).message).to.include('127.0.0.1').and.not.include('not-the-password-x9');
    } finally {
      process.env.PGPASSWORD = right;
    }
  });
});
