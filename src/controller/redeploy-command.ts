// `ediv redeploy LAB [FILE]` (and `ediv deploy FILE --reconfigure`) as one call: read and check
// the edited scenario (the recorded one's file when none is given) before anything is touched,
// then redeploy with the discovery hooks. The lab keeps the cluster it was recorded with unless
// --cluster names another.
import path from 'node:path';
import { parseScenarioFile } from '../scenario/index.ts';
import type { Scenario } from '../scenario/model.ts';
import { readXmlFile } from '../scenario/xml.ts';
import { loadCluster } from './cluster.ts';
import { accessibleLab, openStoreFor, withContext, type CommonOptions } from './command-context.ts';
import { asLab, deployCommand, deployDeps, type DeployCommand, type DeployCommandReport, type InterruptSource } from './deploy-command.ts';
import { redeploy, type RedeployReport } from './redeploy.ts';
import { restrictionsFromXml } from './restrictions.ts';
import { InputError } from '../common/errors.ts';

export interface RedeployCommand extends CommonOptions {
  lab: string;
  /** The edited scenario; default: the file the lab was deployed (or last redeployed) from. */
  file?: string;
  cluster?: string;
  segmentator?: string;
  restrictions?: string;
  dryRun?: boolean;
  force?: boolean;
  /** `file` already parsed (deploy --reconfigure reads it once). */
  parsed?: Scenario;
}

export async function redeployCommand(cmd: RedeployCommand, interrupts?: InterruptSource): Promise<RedeployReport> {
  return withContext(cmd, async (ctx) => {
    const rec = await accessibleLab(ctx, cmd.lab);
    const file = cmd.file ?? rec.sourcePath;
    const scenario = asLab(cmd.parsed ?? (await parseScenarioFile(file)), cmd.lab);
    const restrictionsDoc = cmd.restrictions ? await readXmlFile(cmd.restrictions) : undefined;
    const cluster = cmd.cluster ? await loadCluster(cmd.cluster) : await ctx.store.cluster(cmd.lab);
    const restrictions = restrictionsDoc ? restrictionsFromXml(restrictionsDoc, scenario, cluster) : undefined;
    const deps = deployDeps(ctx, cluster);
    const interrupt = cmd.dryRun ? undefined : interrupts?.(cmd.lab, ctx.progress);
    try {
      return await redeploy(
        {
          scenario,
          scenarioPath: path.resolve(file),
          cluster: cmd.cluster ? cluster : undefined,
          restrictions,
          segmentator: cmd.segmentator,
          dryRun: cmd.dryRun,
          force: cmd.force,
          signal: interrupt?.signal,
        },
        deps,
      );
    } finally {
      interrupt?.release();
    }
  });
}

export type ReconfigureReport = { kind: 'redeploy'; report: RedeployReport } | { kind: 'deploy'; report: DeployCommandReport };

/** `deploy --reconfigure`: a redeploy when the lab is recorded, else a deploy. */
export async function reconfigureCommand(
  cmd: DeployCommand & { dryRun?: boolean },
  interrupts: { deploy?: InterruptSource; redeploy?: InterruptSource } = {},
): Promise<ReconfigureReport> {
  if (cmd.vms || cmd.hosts) throw InputError.commandLine('--reconfigure', 'applies the whole scenario: it cannot be combined with --vm or --host');
  const parsed = await parseScenarioFile(cmd.file); // once: the lab's name, then the deploy or redeploy
  const lab = cmd.name ?? parsed.name;
  const { store } = await openStoreFor(cmd);
  const recorded = (await store.getScenario(lab)) !== undefined;
  await store.close();
  if (recorded) {
    const { name: _name, keepOnFailure: _keep, ...rest } = cmd;
    return { kind: 'redeploy', report: await redeployCommand({ ...rest, lab, parsed }, interrupts.redeploy) };
  }
  if (cmd.dryRun) throw InputError.commandLine('--dry-run', `lab ${lab} is not deployed, so there is nothing to reconfigure: 'ediv plan ${cmd.file}' previews a deploy`);
  return { kind: 'deploy', report: await deployCommand({ ...cmd, parsed }, interrupts.deploy) };
}
