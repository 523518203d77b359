// Where `ediv graph` takes its plan from: a scenario file gets the plan `ediv plan` would make
// now; any other argument names a deployed lab, whose plan the state store recorded.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../common/errors.ts';
import { defaultStateDir } from '../common/paths.ts';
import type { Plan } from '../protocol/plan.ts';
import { graphOfPlan, type LabGraph } from './graph.ts';
import { planPreview, type PlanPreviewRequest } from './plan-preview.ts';
import { STATE_FILE, StateStore } from './state.ts';

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
  const plan = recordedPlan(req.target, stateDir);
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
export function recordedPlan(name: string, stateDir: string): Plan | undefined {
  if (!existsSync(path.join(stateDir, STATE_FILE))) return undefined;
  const store = StateStore.open(stateDir);
  try {
    return store.getScenario(name) ? store.plan(name) : undefined;
  } finally {
    store.close();
  }
}
