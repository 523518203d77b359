// The controller's state store: an embedded SQLite database (node:sqlite) holding every
// deployed scenario, its plan (mapping, fragments), the backplane ids it holds, and the status
// of each host and VM. Concurrent `ediv` processes are safe: the planner runs outside any
// transaction on a snapshot of the ids in use, then the scenario and its ids are recorded in
// one BEGIN IMMEDIATE transaction that re-checks them; the ids table's primary key on
// (pool, id) refuses a duplicate, and a plan whose ids were taken meanwhile is made again.
// The schema is versioned (state-migrations.ts).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { AlreadyDeployedError, InputError, OperationError } from '../common/errors.ts';
import type { Cluster } from '../protocol/cluster.ts';
import type { Plan } from '../protocol/plan.ts';
import { parseWithMaps, stringifyWithMaps } from '../common/json.ts';
import { migrate } from './state-migrations.ts';

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

/** How often a plan is made again when other deployments took its ids meanwhile. */
const MAX_PLAN_ATTEMPTS = 12;

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
    migrate(db, file);
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
    return parseWithMaps<Plan>(String(row.plan_json));
  }

  /** The cluster as it was when the scenario was deployed (undeploy works even if the file changed). */
  cluster(name: string): Cluster {
    const row = this.db.prepare('SELECT cluster_json FROM scenarios WHERE name = ?').get(name) as Row | undefined;
    if (!row) throw new OperationError(`no scenario named ${JSON.stringify(name)} is deployed`);
    return JSON.parse(String(row.cluster_json)) as Cluster;
  }

  /**
   * Records a new scenario with its plan. `makePlan` runs outside any transaction, on a snapshot
   * of the ids in use in the pool; the scenario, its hosts, VMs and ids are then inserted in ONE
   * `BEGIN IMMEDIATE` transaction that re-checks the name and the ids. When another process took
   * one of the plan's ids in between, the plan is made again on a fresh snapshot (a few times).
   * Throws when the name is already recorded.
   */
  async createScenario(input: {
    name: string;
    sourcePath: string;
    cluster: Cluster;
    segmentator: string;
    makePlan: (idsInUse: Set<number>) => Promise<Plan> | Plan;
  }): Promise<Plan> {
    const pool = idPoolKey(input.cluster);
    const existing = this.getScenario(input.name);
    if (existing) throw alreadyDeployed(existing); // before planning (recordScenario checks again)
    return this.planUntilIdsHold(input.name, pool, input.makePlan, (plan) => this.recordScenario(input, pool, plan));
  }

  /**
   * Makes a plan on a snapshot of the ids in use and records it (`record` returns the plan's
   * ids another process took meanwhile, having written nothing); again, after a randomised
   * back-off so that processes planning at once do not collide again, a few times.
   */
  private async planUntilIdsHold(
    name: string,
    pool: string,
    makePlan: (idsInUse: Set<number>) => Promise<Plan> | Plan,
    record: (plan: Plan) => Plan['spanning'],
  ): Promise<Plan> {
    for (let attempt = 1; ; attempt++) {
      const plan = await makePlan(this.idsInUse(pool));
      const taken = record(plan);
      if (taken.length === 0) return plan;
      if (attempt === MAX_PLAN_ATTEMPTS) {
        const list = taken.map((s) => `${s.id} (net ${s.net})`).join(', ');
        throw new OperationError(
          `backplane id ${list} is held by another deployment, and was again after planning ${name} ${MAX_PLAN_ATTEMPTS} times; try again`,
          { details: { reason: 'ids-taken', ids: taken.map((s) => s.id) } },
        );
      }
      await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** Math.min(attempt, 6)));
    }
  }

  /** One transaction: inserts the scenario with its plan, or returns the plan's ids already held (then nothing is written). */
  private recordScenario(input: { name: string; sourcePath: string; cluster: Cluster; segmentator: string }, pool: string, plan: Plan): Plan['spanning'] {
    const fresh = (): Plan['spanning'] => {
      const existing = this.getScenario(input.name);
      if (existing) throw alreadyDeployed(existing);
      return plan.spanning;
    };
    return this.recordIfIdsFree(pool, fresh, (newIds) => {
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
          stringifyWithMaps(plan),
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
      this.insertIds(pool, input.name, newIds);
    });
  }

  /**
   * One `BEGIN IMMEDIATE` transaction: `newIds` (run inside it, may throw) says which ids the
   * plan takes; when another deployment holds one, nothing is written and those are returned;
   * else `write` records the plan and [] is returned.
   */
  private recordIfIdsFree(pool: string, newIds: () => Plan['spanning'], write: (ids: Plan['spanning']) => void): Plan['spanning'] {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const ids = newIds();
      const inUse = this.idsInUse(pool);
      const taken = ids.filter((s) => inUse.has(s.id));
      if (taken.length) {
        this.db.exec('ROLLBACK');
        return taken;
      }
      write(ids);
      this.db.exec('COMMIT');
      return [];
    } catch (err) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  private insertIds(pool: string, scenario: string, spanning: Plan['spanning']): void {
    const insId = this.db.prepare('INSERT INTO ids (pool, id, scenario, net) VALUES (?, ?, ?, ?)');
    for (const s of spanning) insId.run(pool, s.id, scenario, s.net);
  }

  /**
   * Records the plan of a redeploy (an edited scenario applied to a recorded lab), in one
   * `BEGIN IMMEDIATE` transaction: the new plan, source and cluster, status 'deploying'; a host
   * row for each host of the plan (rows of hosts it no longer has stay until finishRedeploy, so
   * that undeploy still cleans them if the redeploy fails); the VM rows follow the mapping (a VM
   * that moved is pending again); the new spanning ids are inserted. Ids the lab no longer needs
   * stay held until finishRedeploy: no other lab can reuse one while a host still has its link.
   * `makePlan` runs on a snapshot of every id in use (the lab's own included); a plan whose new
   * ids were taken meanwhile is made again, as in createScenario.
   */
  async replacePlan(input: {
    name: string;
    sourcePath: string;
    cluster: Cluster;
    makePlan: (idsInUse: Set<number>) => Promise<Plan> | Plan;
  }): Promise<Plan> {
    const pool = idPoolKey(input.cluster);
    return this.planUntilIdsHold(input.name, pool, input.makePlan, (plan) => this.recordReplan(input, pool, plan));
  }

  private recordReplan(input: { name: string; sourcePath: string; cluster: Cluster }, pool: string, plan: Plan): Plan['spanning'] {
    const fresh = (): Plan['spanning'] => {
      if (!this.getScenario(input.name)) throw new OperationError(`no scenario named ${JSON.stringify(input.name)} is recorded (undeployed meanwhile?)`);
      const held = new Set(this.ids(input.name).map((i) => `${i.id}|${i.net}`));
      return plan.spanning.filter((s) => !held.has(`${s.id}|${s.net}`));
    };
    return this.recordIfIdsFree(pool, fresh, (newIds) => {
      const t = now();
      this.db
        .prepare(
          `UPDATE scenarios SET source_path = ?, cluster_file = ?, cluster_json = ?, segmentator = ?, plan_json = ?,
             status = 'deploying', error = NULL, updated_at = ? WHERE name = ?`,
        )
        .run(input.sourcePath, input.cluster.source.path, JSON.stringify(input.cluster), plan.segmentator, stringifyWithMaps(plan), t, input.name);
      const upsertHost = this.db.prepare(
        `INSERT INTO hosts (scenario, host, fragment_name, status, updated_at) VALUES (?, ?, ?, 'pending', ?)
           ON CONFLICT (scenario, host) DO UPDATE SET fragment_name = excluded.fragment_name, status = 'pending', error = NULL,
           updated_at = excluded.updated_at`,
      );
      for (const hp of Object.values(plan.hosts)) upsertHost.run(input.name, hp.host, hp.fragmentName, t);
      const dropVm = this.db.prepare('DELETE FROM vms WHERE scenario = ? AND vm = ?');
      for (const v of this.vms(input.name)) if (!(v.vm in plan.mapping)) dropVm.run(input.name, v.vm);
      const upsertVm = this.db.prepare(
        `INSERT INTO vms (scenario, vm, host, status, updated_at) VALUES (?, ?, ?, 'pending', ?)
           ON CONFLICT (scenario, vm) DO UPDATE SET host = excluded.host, updated_at = excluded.updated_at,
           status = CASE WHEN vms.host = excluded.host THEN vms.status ELSE 'pending' END`,
      );
      for (const [vm, host] of Object.entries(plan.mapping)) upsertVm.run(input.name, vm, host, t);
      this.insertIds(pool, input.name, newIds);
    });
  }

  /**
   * A redeploy reached every host: the ids its plan no longer has are freed and the rows of
   * hosts it no longer uses (cleaned by then) removed, in one transaction; the lab is running.
   * Returns the ids freed.
   */
  finishRedeploy(name: string): number[] {
    const plan = this.plan(name);
    const keep = new Set(plan.spanning.map((s) => `${s.id}|${s.net}`));
    const freed = this.ids(name).filter((i) => !keep.has(`${i.id}|${i.net}`));
    this.transaction(() => {
      const delId = this.db.prepare('DELETE FROM ids WHERE pool = ? AND id = ? AND scenario = ?');
      for (const i of freed) delId.run(i.pool, i.id, name);
      const delHost = this.db.prepare('DELETE FROM hosts WHERE scenario = ? AND host = ?');
      for (const h of this.hosts(name)) if (!plan.hosts[h.host]) delHost.run(name, h.host);
      this.db.prepare("UPDATE scenarios SET status = 'running', error = NULL, updated_at = ? WHERE name = ?").run(now(), name);
    });
    return freed.map((i) => i.id);
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

export function alreadyDeployed(rec: ScenarioRecord): AlreadyDeployedError {
  return new AlreadyDeployedError(rec);
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
