// `ediv plan` as one call: the plan `ediv deploy` would make now, without touching any host —
// for the cluster file given, else the emulated cluster of `localHosts` hosts; skipping the ids
// that scenarios deployed from this machine hold; optionally writing the per-host fragments.
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { InputError } from '../common/errors.ts';
import path from 'node:path';
import { defaultStateDir } from '../common/paths.ts';
import { emulatedCluster, localClusterDir } from '../emulated/layout.ts';
import type { Cluster } from '../protocol/cluster.ts';
import type { Plan } from '../protocol/plan.ts';
import { parseScenarioFile, writeScenario } from '../scenario/index.ts';
import { withLabPathsFrom } from '../scenario/lab-paths.ts';
import { loadCluster } from './cluster.ts';
import { clusterFileOf } from './command-context.ts';
import { makePlan } from './plan.ts';
import { loadRestrictions } from './restrictions.ts';
import { idPoolKey } from '../state/store.ts';
import { STATE_FILE } from '../state/sqlite.ts';
import { openStateStore } from '../state/open.ts';

export interface PlanPreviewRequest {
  /** The scenario file. */
  file: string;
  cluster?: string;
  /** Hosts of the emulated cluster planned for when no cluster file is given. */
  localHosts: number;
  segmentator?: string;
  restrictions?: string;
  /** Write each host's fragment to <out>/<host>.xml. */
  out?: string;
}

export async function planPreview(req: PlanPreviewRequest): Promise<Plan> {
  const scenario = await parseScenarioFile(req.file);
  const stateDir = defaultStateDir();
  const clusterFile = clusterFileOf(req.cluster);
  const cluster = clusterFile ? await loadCluster(clusterFile) : emulatedCluster(req.localHosts, localClusterDir(stateDir));
  const restrictions = req.restrictions ? await loadRestrictions(req.restrictions, scenario, cluster) : undefined;
  const plan = await makePlan({ scenario, cluster, segmentator: req.segmentator, restrictions, idsInUse: await idsInUse(stateDir, cluster) });
  if (req.out) writeFragments(plan, req.out, path.dirname(path.resolve(req.file)));
  return plan;
}

/** Where `--out DIR` puts a host's fragment. */
export function fragmentFile(dir: string, host: string): string {
  return path.join(dir, `${host}.xml`);
}

/**
 * Writes each host's fragment, its lab-file paths made absolute (they are relative to
 * `scenarioDir`). Each file is written atomically through an exclusively created temporary
 * file, so a link planted at DIR/<host>.xml is replaced, never followed; a path that cannot be
 * written is bad input on --out, with why.
 */
function writeFragments(plan: Plan, dir: string, scenarioDir: string): void {
  for (const hp of Object.values(plan.hosts)) {
    const file = fragmentFile(dir, hp.host);
    try {
      writeFileAtomic(file, writeScenario(withLabPathsFrom(hp.fragment, scenarioDir)));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw InputError.commandLine('--out', `cannot write ${file}: ${e.code === 'EISDIR' ? 'it is a directory' : (e.message ?? String(err)).replace(/^[A-Z]+: /, '')}`);
    }
  }
}

/** Ids in use by deployed labs: in the cluster's shared store, else in this machine's (never created to find it empty). */
async function idsInUse(dir: string, cluster: Cluster): Promise<Set<number>> {
  if (!cluster.state && !existsSync(path.join(dir, STATE_FILE))) return new Set();
  const store = await openStateStore(cluster.state ? { kind: 'postgresql', url: cluster.state } : { kind: 'sqlite', dir });
  try {
    return await store.idsInUse(idPoolKey(cluster));
  } finally {
    await store.close();
  }
}
