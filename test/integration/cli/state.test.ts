// `ediv state info|migrate`: on this machine's SQLite store (made on first use, said once), and
// on a PostgreSQL store named by a cluster file (a private server this suite starts).
import { expect } from 'chai';
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edivBin } from '../../../src/common/paths.ts';
import { SCHEMA_VERSION } from '../../../src/state/migrations.ts';
import { createDatabase, startPostgresOrSkip, type PgServer } from '../../helpers/postgres.ts';

async function ediv(args: string[], env: Record<string, string> = {}) {
  const r = await execa(process.execPath, [edivBin, ...args], { reject: false, env: { ...process.env, ...env } });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), json: args.includes('--json') ? JSON.parse(String(r.stdout) || 'null') : undefined };
}

describe('integration: ediv state info|migrate', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ediv-state-cli-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('SQLite: --dry-run lists every migration of a new store and changes nothing; migrate applies them once', async () => {
    const state = path.join(dir, 'sqlite');
    const env = { EDIV_CLUSTER: '' };
    const dry = await ediv(['state', 'migrate', '--dry-run', '--state', state, '--json'], env);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.json).to.deep.include({ dryRun: true, from: 0, to: SCHEMA_VERSION });
    expect(dry.json.applied.map((m: { version: number }) => m.version)).to.deep.equal([1, 2, 3]);
    expect(fs.existsSync(path.join(state, 'ediv.sqlite')), 'a dry run makes no store').to.equal(false);
    const first = await ediv(['state', 'migrate', '--state', state, '--json'], env);
    expect(first.json.applied).to.have.length(SCHEMA_VERSION);
    const again = await ediv(['state', 'migrate', '--state', state], env);
    expect(again.stdout).to.match(/: up to date \(schema version 3\)$/);
    const info = await ediv(['state', 'info', '--state', state, '--json'], env);
    expect(info.json).to.deep.include({ kind: 'sqlite', schemaVersion: SCHEMA_VERSION, knownVersion: SCHEMA_VERSION, labs: 0, migrated: [] });
    expect(info.json.storeId).to.match(/^[0-9a-f-]{36}$/);
    expect(info.json.location).to.equal(path.join(state, 'ediv.sqlite'));
  });

  it('a first use of a new store says so on stderr', async () => {
    const state = path.join(dir, 'first-use');
    const r = await ediv(['status', '--state', state], { EDIV_CLUSTER: '' });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include(`state store ${path.join(state, 'ediv.sqlite')}: created (schema version ${SCHEMA_VERSION})`);
    const second = await ediv(['status', '--state', state], { EDIV_CLUSTER: '' });
    expect(second.stderr).to.not.include('state store');
  });

  describe('on PostgreSQL', () => {
    let server: PgServer | undefined;
    before(async function () {
      server = await startPostgresOrSkip(this);
    });
    after(async () => server?.stop());

    it('the cluster file names the store; info shows it without a password; a wrong password is refused', async () => {
      const url = await createDatabase(server!, 'state_cli');
      const cluster = path.join(dir, 'cluster.yaml');
      fs.writeFileSync(cluster, `state: ${url}\nhosts:\n  - {name: h1, address: 192.0.2.1, trunk: eth0}\n`);
      const env = { PGPASSWORD: server!.password };
      const m = await ediv(['state', 'migrate', '--cluster', cluster, '--json'], env);
      expect(m.code, m.stderr).to.equal(0);
      expect(m.json).to.deep.include({ from: 0, to: SCHEMA_VERSION });
      const info = await ediv(['state', 'info', '--cluster', cluster, '--json'], env);
      expect(info.json).to.deep.include({ kind: 'postgresql', schemaVersion: SCHEMA_VERSION, labs: 0, location: url });
      const wrong = await ediv(['state', 'info', '--cluster', cluster], { PGPASSWORD: 'not-it-4711' });
      expect(wrong.code).to.equal(1);
      expect(wrong.stderr).to.match(/authentication failed/).and.not.include('not-it-4711');
    });
  });
});
