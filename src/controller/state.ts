// The controller's state store: an embedded SQLite database (node:sqlite) holding every
// deployed scenario, its plan (mapping, fragments), the backplane ids it holds, and the status
// of each host and VM. Transactions make concurrent `ediv` processes safe: id allocation and
// the scenario insert happen in one BEGIN IMMEDIATE transaction, and the ids table has a
// primary key on (pool, id), so two deploys can never hold the same id.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { InputError, OperationError } from '../common/errors.ts';
import type { Cluster } from '../protocol/cluster.ts';
import type { Plan } from '../protocol/plan.ts';

export type ScenarioStatus = 'planning' | 'deploying' | 'running' | 'failed' | 'undeploying';
export type HostStatus = 'pending' | 'applied' | 'failed' | 'destroyed';
export type VmStatus = 'pending' | 'running' | 'failed' | 'destroyed';

export interface ScenarioRecord {
  name: string;
  sourcePath: string;
  clusterFile: string;
  segmentator: string;
  status: ScenarioStatus;
  error?: string;
  createdAt: string;
  updatedAt: string;
}

export interface HostRecord {
  host: string;
  fragmentName: string;
  status: HostStatus;
  /** True once an apply was sent to the host (rollback and undeploy must destroy there). */
  touched: boolean;
  error?: string;
  updatedAt: string;
}

export interface VmRecord {
  vm: string;
  host: string;
  status: VmStatus;
  updatedAt: string;
}

export interface IdRecord {
  pool: string;
  id: number;
  net: string;
}

export const STATE_FILE = 'ediv.sqlite';

const SCHEMA = `
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
`;

/**
 * The id pool a cluster allocates from. Deliberately keyed by backplane kind only, not by
 * cluster file: two cluster files may describe the same hosts and trunk, and a VLAN id or
 * VNI reused on a shared trunk would join two labs. Everything this state store deploys
 * therefore draws from one pool per backplane kind.
 */
export function idPoolKey(cluster: Pick<Cluster, 'backplane'>): string {
  return cluster.backplane;
}

const now = (): string => new Date().toISOString();

type Row = Record<string, unknown>;

export class StateStore {
  readonly file: string;
  private readonly db: DatabaseSync;

  private constructor(file: string, db: DatabaseSync) {
    this.file = file;
    this.db = db;
  }

  /** Opens (creating if needed) the store in `dir`. */
  static open(dir: string, opts: { busyTimeoutMs?: number } = {}): StateStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, STATE_FILE);
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(file);
    } catch (err) {
      throw new OperationError(`cannot open the state store ${file}: ${(err as Error).message}`, { cause: err });
    }
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 30000))}`);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA foreign_keys = ON');
    db.exec(SCHEMA);
    return new StateStore(file, db);
  }

  close(): void {
    this.db.close();
  }

  // ---- scenarios -------------------------------------------------------------------------

  getScenario(name: string): ScenarioRecord | undefined {
    const row = this.db.prepare('SELECT * FROM scenarios WHERE name = ?').get(name) as Row | undefined;
    return row ? scenarioFromRow(row) : undefined;
  }

  listScenarios(): ScenarioRecord[] {
    return (this.db.prepare('SELECT * FROM scenarios ORDER BY created_at, name').all() as Row[]).map(scenarioFromRow);
  }

  /** Throws a bad-input error (the user named it) when `name` is not recorded. */
  requireScenario(name: string): ScenarioRecord {
    const rec = this.getScenario(name);
    if (!rec) {
      throw new InputError({ loc: { file: 'command line' }, message: `no scenario named ${JSON.stringify(name)} is recorded (see 'ediv status')` });
    }
    return rec;
  }

  plan(name: string): Plan {
    const row = this.db.prepare('SELECT plan_json FROM scenarios WHERE name = ?').get(name) as Row | undefined;
    if (!row) throw new OperationError(`no scenario named ${JSON.stringify(name)} is deployed`);
    return JSON.parse(String(row.plan_json)) as Plan;
  }

  /** The cluster as it was when the scenario was deployed (undeploy works even if the file changed). */
  cluster(name: string): Cluster {
    const row = this.db.prepare('SELECT cluster_json FROM scenarios WHERE name = ?').get(name) as Row | undefined;
    if (!row) throw new OperationError(`no scenario named ${JSON.stringify(name)} is deployed`);
    return JSON.parse(String(row.cluster_json)) as Cluster;
  }

  /**
   * Records a new scenario with its plan. In ONE `BEGIN IMMEDIATE` transaction: reads the ids
   * in use in the pool, calls `makePlan(idsInUse)`, inserts the scenario, its hosts, VMs and
   * ids. Concurrent processes serialise on the write lock (busy_timeout), and the (pool, id)
   * primary key would refuse a duplicate anyway. Throws when the name is already recorded.
   */
  async createScenario(input: {
    name: string;
    sourcePath: string;
    cluster: Cluster;
    segmentator: string;
    makePlan: (idsInUse: Set<number>) => Promise<Plan> | Plan;
  }): Promise<Plan> {
    const pool = idPoolKey(input.cluster);
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const existing = this.getScenario(input.name);
      if (existing) throw alreadyDeployed(existing);
      const plan = await input.makePlan(this.idsInUse(pool));
      const t = now();
      this.db
        .prepare(
          `INSERT INTO scenarios (name, source_path, cluster_file, cluster_json, segmentator, plan_json, status,
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'planning', ?, ?)`,
        )
        .run(
          input.name,
          input.sourcePath,
          input.cluster.source.path,
          JSON.stringify(input.cluster),
          plan.segmentator || input.segmentator,
          JSON.stringify(plan),
          t,
          t,
        );
      const insHost = this.db.prepare(
        `INSERT INTO hosts (scenario, host, fragment_name, status, updated_at) VALUES (?, ?, ?, 'pending', ?)`,
      );
      for (const hp of Object.values(plan.hosts)) insHost.run(input.name, hp.host, hp.fragmentName, t);
      const insVm = this.db.prepare(
        `INSERT INTO vms (scenario, vm, host, status, updated_at) VALUES (?, ?, ?, 'pending', ?)`,
      );
      for (const [vm, host] of Object.entries(plan.mapping)) insVm.run(input.name, vm, host, t);
      const insId = this.db.prepare('INSERT INTO ids (pool, id, scenario, net) VALUES (?, ?, ?, ?)');
      for (const s of plan.spanning) {
        try {
          insId.run(pool, s.id, input.name, s.net);
        } catch (err) {
          throw new OperationError(
            `backplane id ${s.id} (net ${s.net}) is already held by another scenario; the planner must skip ids in use`,
            { cause: err },
          );
        }
      }
      this.db.exec('COMMIT');
      return plan;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  setScenarioStatus(name: string, status: ScenarioStatus, error?: string): void {
    this.db
      .prepare('UPDATE scenarios SET status = ?, error = ?, updated_at = ? WHERE name = ?')
      .run(status, error ?? null, now(), name);
  }

  /** Removes the record and frees its ids (cascade). */
  deleteScenario(name: string): void {
    this.db.prepare('DELETE FROM scenarios WHERE name = ?').run(name);
  }

  // ---- hosts, VMs, ids -------------------------------------------------------------------

  hosts(name: string): HostRecord[] {
    return (this.db.prepare('SELECT * FROM hosts WHERE scenario = ? ORDER BY host').all(name) as Row[]).map((r) => ({
      host: String(r.host),
      fragmentName: String(r.fragment_name),
      status: String(r.status) as HostStatus,
      touched: Number(r.touched) === 1,
      error: r.error == null ? undefined : String(r.error),
      updatedAt: String(r.updated_at),
    }));
  }

  /** Marks that an apply is about to be sent to `host` (before it is sent). */
  markHostTouched(name: string, host: string): void {
    this.db
      .prepare('UPDATE hosts SET touched = 1, updated_at = ? WHERE scenario = ? AND host = ?')
      .run(now(), name, host);
  }

  setHostStatus(name: string, host: string, status: HostStatus, error?: string): void {
    this.db
      .prepare('UPDATE hosts SET status = ?, error = ?, updated_at = ? WHERE scenario = ? AND host = ?')
      .run(status, error ?? null, now(), name, host);
  }

  vms(name: string): VmRecord[] {
    return (this.db.prepare('SELECT * FROM vms WHERE scenario = ? ORDER BY host, vm').all(name) as Row[]).map((r) => ({
      vm: String(r.vm),
      host: String(r.host),
      status: String(r.status) as VmStatus,
      updatedAt: String(r.updated_at),
    }));
  }

  setVmStatus(name: string, vms: string[], status: VmStatus): void {
    const st = this.db.prepare('UPDATE vms SET status = ?, updated_at = ? WHERE scenario = ? AND vm = ?');
    const t = now();
    this.transaction(() => {
      for (const vm of vms) st.run(status, t, name, vm);
    });
  }

  ids(name: string): IdRecord[] {
    return (this.db.prepare('SELECT pool, id, net FROM ids WHERE scenario = ? ORDER BY id').all(name) as Row[]).map(
      (r) => ({ pool: String(r.pool), id: Number(r.id), net: String(r.net) }),
    );
  }

  idsInUse(pool: string): Set<number> {
    const rows = this.db.prepare('SELECT id FROM ids WHERE pool = ?').all(pool) as Row[];
    return new Set(rows.map((r) => Number(r.id)));
  }

  private transaction(fn: () => void): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }
}

export function alreadyDeployed(rec: ScenarioRecord): OperationError {
  return new OperationError(
    `a scenario named ${JSON.stringify(rec.name)} is already recorded (status ${rec.status} since ${rec.updatedAt}); ` +
      `run 'ediv undeploy ${rec.name}' first`,
    { details: { reason: 'already-deployed', scenario: rec.name, status: rec.status } },
  );
}

function scenarioFromRow(r: Row): ScenarioRecord {
  return {
    name: String(r.name),
    sourcePath: String(r.source_path),
    clusterFile: String(r.cluster_file),
    segmentator: String(r.segmentator),
    status: String(r.status) as ScenarioStatus,
    error: r.error == null ? undefined : String(r.error),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}
