// `ediv cluster check` as one call: the cluster to check (never creating the emulated one), then
// checkCluster over one connection per host.
import { resolveCluster, withContext, type CommonOptions } from './command-context.ts';
import { checkCluster, type ClusterCheckReport } from './health-check.ts';

export async function checkClusterCommand(cmd: CommonOptions & { cluster?: string }): Promise<ClusterCheckReport> {
  return withContext(cmd, async (ctx) => {
    const cluster = await resolveCluster({ cluster: cmd.cluster, stateDir: ctx.stateDir, progress: ctx.progress, create: false });
    const report = await checkCluster(cluster, { sessions: ctx.sessions, progress: ctx.progress, version: ctx.version });
    ctx.progress.done(); // the live progress lines end before the result
    return report;
  });
}
