// `ediv deploy` as one call: read and check the inputs (before anything is touched), choose the
// cluster (creating the emulated one when there is none), then deploy with the discovery hooks.
import path from 'node:path';
import { InputError } from '../common/errors.ts';
import { safeNameProblem } from '../common/names.ts';
import { parseScenarioFile } from '../scenario/index.ts';
import type { Scenario } from '../scenario/model.ts';
import { readXmlFile } from '../scenario/xml.ts';
import { agentStarts, connectionStats } from '../transport/index.ts';
import { deploy, type DeployDeps, type DeployReport } from './deploy.ts';
import { discoveryFollowUps } from './discovery-hooks.ts';
import { OperationError } from '../common/errors.ts';
import { describeOwner, sameOwner } from '../protocol/owner.ts';
import { callerOf } from './owners.ts';
import { accessibleLab, resolveCluster, withContext, type CommandContext, type CommonOptions } from './command-context.ts';
import type { Cluster } from '../protocol/cluster.ts';
import { makePlan } from './plan.ts';
import type { Progress } from './progress.ts';
import { restrictionsFromXml } from './restrictions.ts';
import type { TargetFilter } from './target-filter.ts';

export interface DeployCommand extends CommonOptions, TargetFilter {
  /** The scenario file. */
  file: string;
  cluster?: string;
  segmentator?: string;
  restrictions?: string;
  keepOnFailure?: boolean;
  /** --force: apply even where a host records another owner's deployment of this lab (logged there). */
  force?: boolean;
  /** The lab's name (default: the scenario's): one scenario deployed several times side by side. */
  name?: string;
  /** `file` already parsed (deploy --reconfigure reads it once). */
  parsed?: Scenario;
}

/** The scenario under the lab name asked for: `--name` must be a safe name (it names host-side resources). */
export function asLab(scenario: Scenario, name: string | undefined): Scenario {
  if (name === undefined || name === scenario.name) return scenario;
  const problem = safeNameProblem('lab', name);
  if (problem) throw InputError.commandLine('--name', problem);
  return { ...scenario, name };
}

/**
 * Where interrupts come from (the CLI: SIGINT/SIGTERM). Armed once the deploy is about to
 * start, with the scenario's name and the progress to warn on; released when it ends.
 */
export type InterruptSource = (scenario: string, progress: Progress) => { signal: AbortSignal; release(): void };

/** What a deploy (or redeploy) of the command's context needs: its store and sessions, the planner, the discovery hooks. */
export function deployDeps(ctx: CommandContext, cluster: Cluster): DeployDeps {
  return {
    store: ctx.store,
    user: ctx.owner.user,
    sessions: ctx.sessions,
    makePlan,
    progress: ctx.progress,
    version: ctx.version,
    discovery: discoveryFollowUps(cluster, ctx.stateDir), // the daemons' control key is kept in the state directory
  };
}

/** The deploy's report, with the SSH connections each host needed and the agent processes it started there (one each is the goal). */
export type DeployCommandReport = DeployReport & { connections: ReturnType<typeof connectionStats>['perHost']; agentProcesses: Record<string, number> };

export async function deployCommand(cmd: DeployCommand, interrupts?: InterruptSource): Promise<DeployCommandReport> {
  // Bad input is refused before anything is touched: the scenario, then the restrictions
  // (read once; checked against the scenario now, against the cluster once it is known).
  const scenario = asLab(cmd.parsed ?? (await parseScenarioFile(cmd.file)), cmd.name);
  const restrictionsDoc = cmd.restrictions ? await readXmlFile(cmd.restrictions) : undefined;
  if (restrictionsDoc) restrictionsFromXml(restrictionsDoc, scenario);
  return withContext(cmd, async (ctx) => {
    const existing = await ctx.store.getScenario(scenario.name);
    if (existing && !sameOwner(existing.owner, ctx.owner) && !callerOf(ctx.owner, ctx.clusterFile).admin) {
      // Lab names are the store's: on a shared store, another user's lab of this name is in the way.
      throw new OperationError(
        `a lab named ${scenario.name} is already deployed by ${describeOwner(existing.owner)}: deploy yours under another name (--name ${scenario.name}-${ctx.owner.user})`,
        { details: { reason: 'name-taken', lab: scenario.name, owner: existing.owner } },
      );
    }
    if (existing) await accessibleLab(ctx, scenario.name);
    const cluster = await resolveCluster({ cluster: cmd.cluster, stateDir: ctx.stateDir, progress: ctx.progress, create: true, loaded: ctx.clusterFile });
    const restrictions = restrictionsDoc ? restrictionsFromXml(restrictionsDoc, scenario, cluster) : undefined;
    const interrupt = interrupts?.(scenario.name, ctx.progress);
    try {
      const report = await deploy(
        {
          scenario,
          scenarioPath: path.resolve(cmd.file),
          cluster,
          restrictions,
          segmentator: cmd.segmentator,
          vms: cmd.vms,
          hosts: cmd.hosts,
          keepOnFailure: cmd.keepOnFailure,
          force: cmd.force,
          signal: interrupt?.signal,
        },
        deployDeps(ctx, cluster),
      );
      ctx.progress.done(); // the live progress lines end before the result
      return { ...report, connections: connectionStats().perHost, agentProcesses: agentStarts() };
    } finally {
      interrupt?.release();
    }
  });
}
