// `ediv exec` as one call: the state and connections around execScenario.
import { accessibleLab, withContext, type CommonOptions } from './command-context.ts';
import { execScenario, type ExecReport } from './exec.ts';
import type { TargetFilter } from './target-filter.ts';

export interface ExecCommand extends CommonOptions, TargetFilter {
  name: string;
  /** A sequence, or a one-off command (ExecRequest). */
  seq?: string;
  command?: string[];
  force?: boolean;
}

export async function execCommand(cmd: ExecCommand): Promise<ExecReport> {
  return withContext(cmd, async (ctx) => {
    await accessibleLab(ctx, cmd.name);
    const report = await execScenario(
      { name: cmd.name, seq: cmd.seq, command: cmd.command, vms: cmd.vms, hosts: cmd.hosts, force: cmd.force },
      { store: ctx.store, sessions: ctx.sessions, progress: ctx.progress },
    );
    ctx.progress.done(); // the live progress lines end before the result
    return report;
  });
}
