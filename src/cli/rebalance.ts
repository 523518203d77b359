// `ediv rebalance <lab> --max-load X --dry-run`: the moves that would bring every host of a
// running lab under X of its CPUs, from a live CPU sample.
import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import { rebalanceCommand } from '../controller/rebalance-command.ts';
import { STATUS_SAMPLE_MAX_MS } from '../protocol/agent.ts';
import { action, printReport } from './output.ts';
import { addConnectionOptions, addStoreOption } from './controller-options.ts';
import { renderRebalance } from './render/rebalance.ts';

type Opts = CommonOptions & { maxLoad?: string; sample: string; restrictions?: string; segmentator?: string; dryRun?: boolean };

function number(flag: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || !(n >= min && n <= max)) throw InputError.commandLine(`${flag} ${value ?? ''}`.trim(), `give a number from ${min} to ${max}`);
  return n;
}

export function register(program: Command): void {
  addStoreOption(addConnectionOptions(program.command('rebalance')))
    .description(
      "Plan the moves that bring every host of a running lab under --max-load of its CPUs: each host\n" +
        "measures its VMs' CPU use over --sample seconds, then the busiest VMs of hosts above the\n" +
        'threshold go to the least loaded host that keeps every restriction (--restrictions, as at\n' +
        'deploy), preferring moves that make no net span hosts; pinned VMs stay. A --segmentator\n' +
        "plugin with a rebalance hook plans instead. Moving VMs comes with `ediv move` (not yet):\n" +
        'for now --dry-run is required and nothing is touched. Exit: 0 ok, 1 a host failed, 2 bad input.',
    )
    .argument('<scenario-name>', 'name of a running scenario')
    .option('--max-load <x>', "share of a host's CPUs its lab VMs may use, e.g. 0.75 (0.01 to 64)")
    .option('--sample <seconds>', `how long the hosts measure (0.1 to ${STATUS_SAMPLE_MAX_MS / 1000})`, '2')
    .option('--restrictions <file>', 'EDIV restriction file the moves must keep (as given to deploy)')
    .option('--segmentator <name|module>', 'a built-in, or a plugin module whose rebalance hook plans the moves')
    .option('--dry-run', 'print the plan only (required until `ediv move` exists)')
    .option('--json', 'print one JSON document {moves, loads, over, vmCpu}')
    .action(
      action(async (lab: string, opts: Opts) => {
        const maxLoad = number('--max-load', opts.maxLoad, 0.01, 64);
        const sampleMs = Math.round(number('--sample', opts.sample, 0.1, STATUS_SAMPLE_MAX_MS / 1000) * 1000);
        if (!opts.dryRun) throw InputError.commandLine('rebalance', 'moving VMs comes with `ediv move`, which is not there yet: give --dry-run to see the plan');
        const report = await rebalanceCommand({ ...opts, lab, maxLoad, sampleMs });
        return printReport(report, opts, renderRebalance);
      }),
    );
}
