// `ediv deploy <scenario>`: plan a scenario over the cluster and run it on every host.
// The logic is in src/controller/deploy-command.ts; this module reads the options and prints the report.
import type { Command } from 'commander';
import { InputError } from '../common/errors.ts';
import { deployCommand } from '../controller/deploy-command.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import { action, printReport } from './output.ts';
import { addConnectionOptions, addTargetOptions, targetFilter, addForceOption } from './controller-options.ts';
import { renderDeploy } from './render/deploy.ts';
import { stoppingInterrupts } from './signals.ts';
import { reconfigureCommand } from '../controller/redeploy-command.ts';
import { leavingPartlyUpdated } from './redeploy.ts';
import { renderRedeploy } from './render/redeploy.ts';

interface DeployOptions extends CommonOptions {
  cluster?: string;
  segmentator?: string;
  restrictions?: string;
  vm?: string[];
  host?: string[];
  keepOnFailure?: boolean;
  name?: string;
  reconfigure?: boolean;
  dryRun?: boolean;
}

const rollingBack = stoppingInterrupts('rolling back');

export function register(program: Command): void {
  addForceOption(addConnectionOptions(addTargetOptions(program.command('deploy'))))
    .description(
      'Deploy a scenario across the cluster: facts from every host, plan, record, then apply\n' +
        'every host\'s part in parallel (backplane, then VMs). If a host fails, everything made\n' +
        'is rolled back unless --keep-on-failure. Without --cluster or $EDIV_CLUSTER, uses (and\n' +
        'creates if needed) a 3-host emulated cluster. Exit: 0 running, 1 failed, 2 bad input.',
    )
    .argument('<scenario>', 'VNUML / VNX / OVF scenario file')
    .option('--cluster <file>', 'cluster file (YAML, JSON or EDIV cluster.conf); default $EDIV_CLUSTER, else the emulated cluster')
    .option('--segmentator <name>', 'placement algorithm or plugin path (default: the cluster\'s)')
    .option('--restrictions <file>', 'EDIV deployment restriction file')
    .option('--keep-on-failure', 'leave what was made when a host fails (recorded as failed; undeploy removes it)')
    .option('--name <lab>', "deploy under this lab name instead of the scenario's own: the same scenario several times side by side (one copy per student); exec, status, vm and undeploy take the lab name")
    .option('--reconfigure', "when the lab is already deployed, apply the edited scenario to it as 'ediv redeploy' does (else deploy it)")
    .option('--dry-run', 'with --reconfigure: show what would change, touch nothing')
    .option('--json', 'print one JSON document on stdout; progress as JSON lines on stderr')
    .action(
      action(async (file: string, opts: DeployOptions) => {
        const cmd = { ...opts, file, ...targetFilter(opts) };
        if (opts.dryRun && !opts.reconfigure) throw InputError.commandLine('--dry-run', "goes with --reconfigure ('ediv plan' previews a fresh deploy)");
        if (opts.reconfigure) {
          const r = await reconfigureCommand(cmd, { deploy: rollingBack, redeploy: leavingPartlyUpdated });
          return r.kind === 'redeploy' ? printReport(r.report, opts, renderRedeploy) : printReport(r.report, opts, renderDeploy);
        }
        return printReport(await deployCommand(cmd, rollingBack), opts, renderDeploy);
      }),
    );
}
