// Where `ediv graph` takes its plan from: a scenario file gets the plan `ediv plan` would make
// now; any other argument names a deployed lab, whose plan the state store recorded.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../common/errors.ts';
import { defaultStateDir } from '../common/paths.ts';
import type { Plan } from '../protocol/plan.ts';
import { graphOfPlan, type LabGraph } from './graph.ts';
import { planPreview, type PlanPreviewRequest } from './plan-preview.ts';
import { STATE_FILE } from '../state/sqlite.ts';
import { openStateStore, type StoreLocation } from '../state/open.ts';
import { storeLocationOf } from './command-context.ts';

export type GraphRequest = Omit<PlanPreviewRequest, 'file' | 'out'> & {
  /** A scenario file, or the name of a deployed lab. */
  target: string;
  /** The controller state directory a lab is recorded in (default: the usual one). */
  state?: string;
};

export function isScenarioFile(target: string): boolean {
  return existsSync(target) && statSync(target).isFile();
}

export async function labGraph(req: GraphRequest): Promise<LabGraph> {
  if (isScenarioFile(req.target)) return graphOfPlan(await planPreview({ ...req, file: req.target }));
  const stateDir = path.resolve(req.state ?? defaultStateDir());
  const { location } = await storeLocationOf({ state: stateDir, cluster: req.cluster });
  const plan = await recordedPlan(req.target, location);
  if (!plan) {
    throw InputError.commandLine(
      undefined,
      `${JSON.stringify(req.target)} is neither a scenario file (${existsSync(req.target) ? 'not a regular file' : 'no such file'}) ` +
        `nor a deployed lab (none of that name is recorded in ${stateDir}; see 'ediv status')`,
    );
  }
  return graphOfPlan(plan);
}

/** The plan recorded for a deployed lab, if there is one (never creates a state store to find it empty). */
export async function recordedPlan(name: string, location: StoreLocation): Promise<Plan | undefined> {
  if (location.kind === 'sqlite' && !existsSync(path.join(location.dir, STATE_FILE))) return undefined;
  const store = await openStateStore(location);
  try {
    return (await store.getScenario(name)) ? await store.plan(name) : undefined;
  } finally {
    await store.close();
  }
}
