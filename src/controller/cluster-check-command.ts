// `ediv cluster check [scenario]` as one call: the cluster to check (never creating the emulated
// one), then checkCluster over one connection per host, with the scenario's needs when one is given.
import { parseScenarioFile } from '../scenario/index.ts';
import { resolveCluster, withContext, type CommonOptions } from './command-context.ts';
import { checkCluster, type ClusterCheckReport } from './health-check.ts';
import { labNeeds } from './host-requirements.ts';

export async function checkClusterCommand(cmd: CommonOptions & { cluster?: string }, scenarioFile?: string): Promise<ClusterCheckReport> {
  const lab = scenarioFile === undefined ? undefined : labNeeds(await parseScenarioFile(scenarioFile)); // bad input before any host
  return withContext(cmd, async (ctx) => {
    const cluster = await resolveCluster({ cluster: cmd.cluster, stateDir: ctx.stateDir, progress: ctx.progress, create: false });
    const report = await checkCluster(cluster, { sessions: ctx.sessions, progress: ctx.progress, version: ctx.version, store: ctx.store, ...(lab ? { lab } : {}) });
    ctx.progress.done(); // the live progress lines end before the result
    return report;
  });
}
