// `ediv undeploy` as one call: the state and connections around undeployScenario, with the
// discovery daemons kept in step on every host cleaned.
import { agentStarts, connectionStats } from '../transport/index.ts';
import { accessibleLab, withContext, type CommonOptions } from './command-context.ts';
import { syncAfterDestroy } from './discovery-hooks.ts';
import type { TargetFilter } from './target-filter.ts';
import { undeployScenario, type UndeployReport } from './undeploy.ts';

export interface UndeployCommand extends CommonOptions, TargetFilter {
  name: string;
  purge?: boolean;
  force?: boolean;
}

export type UndeployCommandReport = UndeployReport & { connections: ReturnType<typeof connectionStats>['perHost']; agentProcesses: Record<string, number> };

export async function undeployCommand(cmd: UndeployCommand): Promise<UndeployCommandReport> {
  return withContext(cmd, async (ctx) => {
    await accessibleLab(ctx, cmd.name);
    const report = await undeployScenario(
      { name: cmd.name, purge: cmd.purge, vms: cmd.vms, hosts: cmd.hosts, force: cmd.force },
      { store: ctx.store, sessions: ctx.sessions, progress: ctx.progress, discovery: syncAfterDestroy },
    );
    ctx.progress.done(); // the live progress lines end before the result
    return { ...report, connections: connectionStats().perHost, agentProcesses: agentStarts() };
  });
}
