// The controller's state store: every deployed lab, its plan (mapping, fragments), the
// backplane ids it holds, its owner and the status of each host and VM. The same store runs on
// an embedded SQLite file (the default, one controller) or on a PostgreSQL server shared by
// every controller of a course cluster (the cluster file's `state:`), through SqlDb.
//
// Concurrency, on both: the planner runs outside any transaction on a snapshot of the ids in
// use, then the lab and its ids are recorded in one serializable transaction that re-checks
// them; the ids table's primary key on (pool, id) refuses a duplicate, and a plan whose ids were
// taken meanwhile is made again. The schema is versioned (migrations.ts).
import { AlreadyDeployedError, InputError, OperationError } from '../common/errors.ts';
import type { Cluster } from '../protocol/cluster.ts';
import type { Plan } from '../protocol/plan.ts';
import type { DeploymentOwner } from '../protocol/agent.ts';
import { deploymentKey, newDeploymentUid } from '../protocol/deployment-key.ts';
import { parseWithMaps, stringifyWithMaps } from '../common/json.ts';
import { migrate, type MigrationReport } from './migrations.ts';
import type { Row, SqlDb, SqlExecutor, SqlValue } from './sql.ts';

export type ScenarioStatus = 'planning' | 'deploying' | 'running' | 'failed' | 'undeploying';
export type HostStatus = 'pending' | 'applied' | 'failed' | 'destroyed';
export type VmStatus = 'pending' | 'running' | 'failed' | 'destroyed';

export interface ScenarioRecord {
  name: string;
  /** The lab's unique id (undefined: recorded before owners existed). */
  uid?: string;
  /** What the hosts know the lab by: `<name>.<uid>` (deployment-key.ts). */
  key: string;
  owner: DeploymentOwner;
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

/**
 * How often a plan is made outside any lock before the store makes it under the exclusive
 * lock instead: optimistic planning keeps a slow plan from holding a lock, but when many
 * controllers plan at once (a class deploying together) they keep picking the same free ids;
 * under the lock one plan at a time is made on the ids in use, and is recorded for sure.
 */
const OPTIMISTIC_PLAN_ATTEMPTS = 3;

export interface NewScenario {
  name: string;
  sourcePath: string;
  cluster: Cluster;
  segmentator: string;
  /** The store's id is added by the store. */
  user: string;
  makePlan: (idsInUse: Set<number>) => Promise<Plan> | Plan;
}

export class StateStore {
  /** The store's id: the `store` of every owner it records. */
  readonly id: string;
  /** What the store's first use migrated (empty when it was up to date). */
  readonly migration: MigrationReport;
  private readonly db: SqlDb;

  private constructor(db: SqlDb, id: string, migration: MigrationReport) {
    this.db = db;
    this.id = id;
    this.migration = migration;
  }

  /** A store on an open database, migrated to this ediv's schema first. */
  static async on(db: SqlDb, user: string): Promise<StateStore> {
    try {
      const migration = await migrate(db, { user });
      const [row] = await db.all("SELECT value FROM store_meta WHERE key = 'store_id'");
      if (!row) throw new OperationError(`the state store ${db.location} has no store id (damaged?)`);
      return new StateStore(db, String(row.value), migration);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** Where the store is, for messages (never a password). */
  get location(): string {
    return this.db.location;
  }

  get dialect(): SqlDb['dialect'] {
    return this.db.dialect;
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ---- scenarios -------------------------------------------------------------------------

  async getScenario(name: string): Promise<ScenarioRecord | undefined> {
    return getScenario(this.db, name);
  }

  async listScenarios(): Promise<ScenarioRecord[]> {
    return (await this.db.all('SELECT * FROM scenarios ORDER BY created_at, name')).map(scenarioFromRow);
  }

  /** Throws a bad-input error (the user named it) when `name` is not recorded. */
  async requireScenario(name: string): Promise<ScenarioRecord> {
    const rec = await this.getScenario(name);
    if (!rec) {
      throw new InputError({ loc: { file: 'command line' }, message: `no scenario named ${JSON.stringify(name)} is recorded (see 'ediv status')` });
    }
    return rec;
  }

  async plan(name: string): Promise<Plan> {
    return parseWithMaps<Plan>(await this.column(name, 'plan_json'));
  }

  /** The cluster as it was when the scenario was deployed (undeploy works even if the file changed). */
  async cluster(name: string): Promise<Cluster> {
    return JSON.parse(await this.column(name, 'cluster_json')) as Cluster;
  }

  private async column(name: string, column: 'plan_json' | 'cluster_json'): Promise<string> {
    const [row] = await this.db.all(`SELECT ${column} FROM scenarios WHERE name = ?`, [name]);
    if (!row) throw new OperationError(`no scenario named ${JSON.stringify(name)} is deployed`);
    return String(row[column]);
  }

  /**
   * Records a new scenario with its plan, owner and a fresh uid. `makePlan` runs outside any
   * transaction, on a snapshot of the ids in use in the pool; the scenario, its hosts, VMs and
   * ids are then inserted in ONE transaction that re-checks the name and the ids. When another
   * controller took one of the plan's ids in between, the plan is made again on a fresh
   * snapshot (a few times). Throws when the name is already recorded.
   */
  async createScenario(input: NewScenario): Promise<Plan> {
    const pool = idPoolKey(input.cluster);
    const existing = await this.getScenario(input.name);
    if (existing) throw alreadyDeployed(existing); // before planning (recordScenario checks again)
    const uid = newDeploymentUid();
    return this.planUntilIdsHold(input.name, pool, input.makePlan, (tx, plan) => this.recordScenario(tx, input, uid, pool, plan));
  }

  /**
   * Makes a plan on a snapshot of the ids in use and records it (`record` returns the plan's
   * ids another process took meanwhile, having written nothing); again, after a randomised
   * back-off, a few times; then once more inside one exclusive transaction, where the ids
   * read are the ids in use when the plan is recorded.
   */
  private async planUntilIdsHold(
    name: string,
    pool: string,
    makePlan: (idsInUse: Set<number>) => Promise<Plan> | Plan,
    record: (tx: SqlExecutor, plan: Plan) => Promise<Plan['spanning']>,
  ): Promise<Plan> {
    for (let attempt = 1; attempt <= OPTIMISTIC_PLAN_ATTEMPTS; attempt++) {
      const plan = await makePlan(await this.idsInUse(pool));
      if ((await this.db.transaction((tx) => record(tx, plan))).length === 0) return plan;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * 2 ** attempt));
    }
    return this.db.transaction(async (tx) => {
      const plan = await makePlan(await idsInUse(tx, pool));
      const taken = await record(tx, plan);
      if (taken.length === 0) return plan;
      // Only a planner that ignores the ids it is given gets here.
      const list = taken.map((s) => `${s.id} (net ${s.net})`).join(', ');
      throw new OperationError(`backplane id ${list} is held by another deployment: the plan of ${name} did not avoid the ids in use`, {
        details: { reason: 'ids-taken', ids: taken.map((s) => s.id) },
      });
    }, { exclusive: true });
  }

  /** In `tx`: inserts the scenario with its plan, or returns the plan's ids already held (then nothing is written). */
  private recordScenario(tx: SqlExecutor, input: NewScenario, uid: string, pool: string, plan: Plan): Promise<Plan['spanning']> {
    const fresh = async (tx: SqlExecutor): Promise<Plan['spanning']> => {
      const existing = await getScenario(tx, input.name);
      if (existing) throw alreadyDeployed(existing);
      return plan.spanning;
    };
    return recordIfIdsFree(tx, pool, fresh, async (newIds) => {
      const t = now();
      await tx.run(
        `INSERT INTO scenarios (name, uid, owner_user, owner_store, source_path, cluster_file, cluster_json, segmentator, plan_json,
           status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'planning', ?, ?)`,
        [
          input.name,
          uid,
          input.user,
          this.id,
          input.sourcePath,
          input.cluster.source.path,
          JSON.stringify(input.cluster),
          plan.segmentator || input.segmentator,
          stringifyWithMaps(plan),
          t,
          t,
        ],
      );
      await insertRows(tx, 'hosts', ['scenario', 'host', 'fragment_name', 'status', 'updated_at'],
        Object.values(plan.hosts).map((hp) => [input.name, hp.host, hp.fragmentName, 'pending', t]));
      await insertRows(tx, 'vms', ['scenario', 'vm', 'host', 'status', 'updated_at'],
        Object.entries(plan.mapping).map(([vm, host]) => [input.name, vm, host, 'pending', t]));
      await insertIds(tx, pool, input.name, newIds);
    });
  }

  /**
   * Records the plan of a redeploy (an edited scenario applied to a recorded lab), in one
   * transaction: the new plan, source and cluster, status 'deploying'; a host row for each host
   * of the plan (rows of hosts it no longer has stay until finishRedeploy, so that undeploy
   * still cleans them if the redeploy fails); the VM rows follow the mapping (a VM that moved
   * is pending again); the new spanning ids are inserted. Ids the lab no longer needs stay held
   * until finishRedeploy: no other lab can reuse one while a host still has its link.
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
    return this.planUntilIdsHold(input.name, pool, input.makePlan, (tx, plan) => this.recordReplan(tx, input, pool, plan));
  }

  private recordReplan(tx: SqlExecutor, input: { name: string; sourcePath: string; cluster: Cluster }, pool: string, plan: Plan): Promise<Plan['spanning']> {
    const fresh = async (tx: SqlExecutor): Promise<Plan['spanning']> => {
      if (!(await getScenario(tx, input.name))) throw new OperationError(`no scenario named ${JSON.stringify(input.name)} is recorded (undeployed meanwhile?)`);
      const held = new Set((await ids(tx, input.name)).map((i) => `${i.id}|${i.net}`));
      return plan.spanning.filter((s) => !held.has(`${s.id}|${s.net}`));
    };
    return recordIfIdsFree(tx, pool, fresh, async (newIds) => {
      const t = now();
      await tx.run(
        `UPDATE scenarios SET source_path = ?, cluster_file = ?, cluster_json = ?, segmentator = ?, plan_json = ?,
           status = 'deploying', error = NULL, updated_at = ? WHERE name = ?`,
        [input.sourcePath, input.cluster.source.path, JSON.stringify(input.cluster), plan.segmentator, stringifyWithMaps(plan), t, input.name],
      );
      for (const hp of Object.values(plan.hosts)) {
        await tx.run(
          `INSERT INTO hosts (scenario, host, fragment_name, status, updated_at) VALUES (?, ?, ?, 'pending', ?)
             ON CONFLICT (scenario, host) DO UPDATE SET fragment_name = excluded.fragment_name, status = 'pending', error = NULL,
             updated_at = excluded.updated_at`,
          [input.name, hp.host, hp.fragmentName, t],
        );
      }
      for (const v of await vms(tx, input.name)) {
        if (!(v.vm in plan.mapping)) await tx.run('DELETE FROM vms WHERE scenario = ? AND vm = ?', [input.name, v.vm]);
      }
      for (const [vm, host] of Object.entries(plan.mapping)) {
        await tx.run(
          `INSERT INTO vms (scenario, vm, host, status, updated_at) VALUES (?, ?, ?, 'pending', ?)
             ON CONFLICT (scenario, vm) DO UPDATE SET host = excluded.host, updated_at = excluded.updated_at,
             status = CASE WHEN vms.host = excluded.host THEN vms.status ELSE 'pending' END`,
          [input.name, vm, host, t],
        );
      }
      await insertIds(tx, pool, input.name, newIds);
    });
  }

  /**
   * A redeploy reached every host: the ids its plan no longer has are freed and the rows of
   * hosts it no longer uses (cleaned by then) removed, in one transaction; the lab is running.
   * Returns the ids freed.
   */
  async finishRedeploy(name: string): Promise<number[]> {
    const plan = await this.plan(name);
    const keep = new Set(plan.spanning.map((s) => `${s.id}|${s.net}`));
    return this.db.transaction(async (tx) => {
      const freed = (await ids(tx, name)).filter((i) => !keep.has(`${i.id}|${i.net}`));
      for (const i of freed) await tx.run('DELETE FROM ids WHERE pool = ? AND id = ? AND scenario = ?', [i.pool, i.id, name]);
      for (const h of await hosts(tx, name)) if (!plan.hosts[h.host]) await tx.run('DELETE FROM hosts WHERE scenario = ? AND host = ?', [name, h.host]);
      await tx.run("UPDATE scenarios SET status = 'running', error = NULL, updated_at = ? WHERE name = ?", [now(), name]);
      return freed.map((i) => i.id);
    });
  }

  async setScenarioStatus(name: string, status: ScenarioStatus, error?: string): Promise<void> {
    await this.db.run('UPDATE scenarios SET status = ?, error = ?, updated_at = ? WHERE name = ?', [status, error ?? null, now(), name]);
  }

  /** Removes the record and frees its ids (its hosts, VMs and ids go by the foreign keys' cascade). */
  async deleteScenario(name: string): Promise<void> {
    await this.db.run('DELETE FROM scenarios WHERE name = ?', [name]);
  }

  // ---- hosts, VMs, ids -------------------------------------------------------------------

  hosts(name: string): Promise<HostRecord[]> {
    return hosts(this.db, name);
  }

  /** Marks that an apply is about to be sent to `host` (before it is sent). */
  async markHostTouched(name: string, host: string): Promise<void> {
    await this.db.run('UPDATE hosts SET touched = 1, updated_at = ? WHERE scenario = ? AND host = ?', [now(), name, host]);
  }

  async setHostStatus(name: string, host: string, status: HostStatus, error?: string): Promise<void> {
    await this.db.run('UPDATE hosts SET status = ?, error = ?, updated_at = ? WHERE scenario = ? AND host = ?', [status, error ?? null, now(), name, host]);
  }

  vms(name: string): Promise<VmRecord[]> {
    return vms(this.db, name);
  }

  async setVmStatus(name: string, vmNames: string[], status: VmStatus): Promise<void> {
    if (vmNames.length === 0) return;
    const t = now();
    await this.db.transaction(async (tx) => {
      for (const part of chunks(vmNames, ROWS_PER_STATEMENT)) {
        await tx.run(`UPDATE vms SET status = ?, updated_at = ? WHERE scenario = ? AND vm IN (${part.map(() => '?').join(', ')})`, [status, t, name, ...part]);
      }
    });
  }

  ids(name: string): Promise<IdRecord[]> {
    return ids(this.db, name);
  }

  idsInUse(pool: string): Promise<Set<number>> {
    return idsInUse(this.db, pool);
  }
}

export function alreadyDeployed(rec: ScenarioRecord): AlreadyDeployedError {
  return new AlreadyDeployedError(rec);
}

// ---- queries shared by the store's methods and its transactions -----------------------------

/**
 * In `tx`: `newIds` (may throw) says which ids the plan takes; when another deployment holds
 * one, nothing is written and those are returned; else `write` records the plan and [] is returned.
 */
async function recordIfIdsFree(
  tx: SqlExecutor,
  pool: string,
  newIds: (tx: SqlExecutor) => Promise<Plan['spanning']>,
  write: (ids: Plan['spanning']) => Promise<void>,
): Promise<Plan['spanning']> {
  const ids = await newIds(tx);
  const inUse = await idsInUse(tx, pool);
  const taken = ids.filter((s) => inUse.has(s.id));
  if (taken.length) return taken;
  await write(ids);
  return [];
}

async function getScenario(q: SqlExecutor, name: string): Promise<ScenarioRecord | undefined> {
  const [row] = await q.all('SELECT * FROM scenarios WHERE name = ?', [name]);
  return row ? scenarioFromRow(row) : undefined;
}

async function hosts(q: SqlExecutor, name: string): Promise<HostRecord[]> {
  return (await q.all('SELECT * FROM hosts WHERE scenario = ? ORDER BY host', [name])).map((r) => ({
    host: String(r.host),
    fragmentName: String(r.fragment_name),
    status: String(r.status) as HostStatus,
    touched: Number(r.touched) === 1,
    error: r.error == null ? undefined : String(r.error),
    updatedAt: String(r.updated_at),
  }));
}

async function vms(q: SqlExecutor, name: string): Promise<VmRecord[]> {
  return (await q.all('SELECT * FROM vms WHERE scenario = ? ORDER BY host, vm', [name])).map((r) => ({
    vm: String(r.vm),
    host: String(r.host),
    status: String(r.status) as VmStatus,
    updatedAt: String(r.updated_at),
  }));
}

async function ids(q: SqlExecutor, name: string): Promise<IdRecord[]> {
  return (await q.all('SELECT pool, id, net FROM ids WHERE scenario = ? ORDER BY id', [name])).map((r) => ({
    pool: String(r.pool),
    id: Number(r.id),
    net: String(r.net),
  }));
}

async function idsInUse(q: SqlExecutor, pool: string): Promise<Set<number>> {
  return new Set((await q.all('SELECT id FROM ids WHERE pool = ?', [pool])).map((r) => Number(r.id)));
}

async function insertIds(q: SqlExecutor, pool: string, scenario: string, spanning: Plan['spanning']): Promise<void> {
  await insertRows(q, 'ids', ['pool', 'id', 'scenario', 'net'], spanning.map((s) => [pool, s.id, scenario, s.net]));
}

/** Rows per multi-row statement: a 1 000-VM lab is a few round trips to a PostgreSQL server, not a thousand. */
const ROWS_PER_STATEMENT = 200;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function insertRows(q: SqlExecutor, table: string, columns: string[], rows: SqlValue[][]): Promise<void> {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (const part of chunks(rows, ROWS_PER_STATEMENT)) {
    await q.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${part.map(() => tuple).join(', ')}`, part.flat());
  }
}

function scenarioFromRow(r: Row): ScenarioRecord {
  const name = String(r.name);
  const uid = r.uid == null ? undefined : String(r.uid);
  return {
    name,
    uid,
    key: deploymentKey(name, uid),
    owner: { user: String(r.owner_user ?? ''), store: String(r.owner_store ?? '') },
    sourcePath: String(r.source_path),
    clusterFile: String(r.cluster_file),
    segmentator: String(r.segmentator),
    status: String(r.status) as ScenarioStatus,
    error: r.error == null ? undefined : String(r.error),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}
