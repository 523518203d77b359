// `ediv redeploy LAB [FILE]`: apply an edited scenario to a deployed lab (unchanged VMs keep
// running). The logic is in src/controller/redeploy.ts; this module reads the options and prints the report.
import type { Command } from 'commander';
import type { CommonOptions } from '../controller/command-context.ts';
import { redeployCommand } from '../controller/redeploy-command.ts';
import { action, printReport } from './output.ts';
import { addConnectionOptions, addForceOption } from './controller-options.ts';
import { renderRedeploy } from './render/redeploy.ts';
import { stoppingInterrupts } from './signals.ts';

interface RedeployOptions extends CommonOptions {
  cluster?: string;
  segmentator?: string;
  restrictions?: string;
  dryRun?: boolean;
}

/** Interrupted: the hosts finish their step and the lab is left recorded as failed (redeploy again, or undeploy). */
export const leavingPartlyUpdated = stoppingInterrupts('leaving the lab partly updated (recorded as failed)');

export function register(program: Command): void {
  addForceOption(addConnectionOptions(program.command('redeploy')))
    .description(
      'Apply an edited scenario to a deployed lab. VMs still in the scenario stay on their host;\n' +
        'those whose definition is unchanged keep running (same processes), changed ones are\n' +
        'remade, new ones are placed around them, removed ones go; nets that still span hosts\n' +
        'keep their ids. --dry-run shows the changes and touches nothing. If a host fails, the lab\n' +
        'is recorded as failed: run redeploy again, or undeploy. Exit: 0 running, 1 failed, 2 bad input.',
    )
    .argument('<lab>', 'the deployed lab (see ediv status)')
    .argument('[scenario]', 'the edited scenario file (default: the file the lab was deployed from)')
    .option('--cluster <file>', 'move the lab onto this cluster file (default: the cluster it was deployed on)')
    .option('--segmentator <name>', "placement of new VMs (default: the lab's)")
    .option('--restrictions <file>', 'EDIV deployment restriction file (kept VMs are pinned to their hosts besides)')
    .option('--dry-run', 'show what would change; touch nothing')
    .option('--json', 'print one JSON document on stdout; progress as JSON lines on stderr')
    .action(
      action(async (lab: string, file: string | undefined, opts: RedeployOptions) => {
        const report = await redeployCommand({ ...opts, lab, file }, leavingPartlyUpdated);
        return printReport(report, opts, renderRedeploy);
      }),
    );
}
