import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { OperationError } from '../../../src/common/errors.ts';
import { SCHEMA_VERSION } from '../../../src/state/migrations.ts';
import { openStateStore } from '../../../src/state/open.ts';
import { STATE_FILE } from '../../../src/state/sqlite.ts';
import { planWith, storeSuite } from '../../helpers/store-suite.ts';

describe('state store on SQLite', () => {
  const dirs: string[] = [];
  const freshDir = (): string => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-state-'));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  storeSuite(async () => ({ kind: 'sqlite', dir: freshDir() }));

  function version(dir: string): number {
    const db = new DatabaseSync(path.join(dir, STATE_FILE));
    try {
      return Number((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v);
    } finally {
      db.close();
    }
  }

  it('migrates a store made before schema versions: cmd-seq tables become Maps, labs get their owner', async () => {
    const dir = freshDir();
    const db = new DatabaseSync(path.join(dir, STATE_FILE));
    db.exec(`CREATE TABLE scenarios (name TEXT PRIMARY KEY, source_path TEXT NOT NULL, cluster_file TEXT NOT NULL, cluster_json TEXT NOT NULL,
      segmentator TEXT NOT NULL, plan_json TEXT NOT NULL, status TEXT NOT NULL, error TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
    const old = planWith('old', [1003]);
    old.hosts.host1!.fragment = { cmdSeqs: { all: ['x', 'y'] } } as never;
    db.prepare(`INSERT INTO scenarios VALUES ('old', 'o.xml', 'c.yaml', '{}', 'rr', ?, 'running', NULL, 't', 't')`).run(JSON.stringify(old));
    db.close();
    const store = await openStateStore({ kind: 'sqlite', dir });
    try {
      expect(store.migration).to.deep.include({ from: 0, to: SCHEMA_VERSION });
      expect([...(await store.plan('old')).hosts.host1!.fragment.cmdSeqs]).to.deep.equal([['all', ['x', 'y']]]);
      expect(await store.hosts('old')).to.deep.equal([]);
      // Recorded before owners: the migrating user owns it, and its hosts still know it by its bare name.
      const rec = (await store.getScenario('old'))!;
      expect(rec.owner).to.deep.equal({ user: os.userInfo().username, store: store.id });
      expect(rec.uid).to.equal(undefined);
      expect(rec.key).to.equal('old');
    } finally {
      await store.close();
    }
    expect(version(dir)).to.equal(SCHEMA_VERSION);
  });

  it('refuses a store written by a newer ediv, and leaves it as it was', async () => {
    const dir = freshDir();
    await (await openStateStore({ kind: 'sqlite', dir })).close();
    const db = new DatabaseSync(path.join(dir, STATE_FILE));
    db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'from the future', 't');
    db.close();
    const err = await openStateStore({ kind: 'sqlite', dir }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(OperationError);
    expect((err as Error).message).to.match(new RegExp(`schema version ${SCHEMA_VERSION + 1}, written by a newer ediv`));
    expect(version(dir)).to.equal(SCHEMA_VERSION + 1);
  });

  it('says what a first use migrated, once', async () => {
    const dir = freshDir();
    const seen: number[] = [];
    const first = await openStateStore({ kind: 'sqlite', dir }, { onMigrated: (r) => seen.push(r.applied.length) });
    await first.close();
    const second = await openStateStore({ kind: 'sqlite', dir }, { onMigrated: (r) => seen.push(r.applied.length) });
    await second.close();
    expect(seen).to.deep.equal([SCHEMA_VERSION]);
  });
});
