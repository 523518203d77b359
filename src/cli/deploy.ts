// `ediv deploy <scenario>`: plan a scenario over the cluster and run it on every host.
// The logic is in src/controller/deploy-command.ts; this module reads the options and prints the report.
import type { Command } from 'commander';
import { deployCommand, type InterruptSource } from '../controller/deploy-command.ts';
import type { CommonOptions } from '../controller/command-context.ts';
import { action, printReport } from './output.ts';
import { addConnectionOptions, addTargetOptions, targetFilter } from './controller-options.ts';
import { renderDeploy } from './render/deploy.ts';
import { onInterrupt } from './signals.ts';

interface DeployOptions extends CommonOptions {
  cluster?: string;
  segmentator?: string;
  restrictions?: string;
  vm?: string[];
  host?: string[];
  keepOnFailure?: boolean;
  name?: string;
}

/**
 * Ctrl-C / SIGTERM during a deploy: the first stops it (the hosts' current step ends, then the
 * rollback); a second leaves at once, keeping the record for `ediv undeploy`.
 */
const signalInterrupts: InterruptSource = (scenario, progress) => {
  const ac = new AbortController();
  const release = onInterrupt((sig, count) => {
    if (count > 1) {
      process.stderr.write(`ediv: ${sig} again: leaving now; the record is kept, 'ediv undeploy ${scenario}' removes what is left\n`);
      process.exit(1);
    }
    progress.warn(`${sig}: stopping; waiting for the hosts' current step, then rolling back (again to leave at once)`);
    ac.abort();
  });
  return { signal: ac.signal, release };
};

export function register(program: Command): void {
  addConnectionOptions(addTargetOptions(program.command('deploy')))
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
    .option('--json', 'print one JSON document on stdout; progress as JSON lines on stderr')
    .action(
      action(async (file: string, opts: DeployOptions) => {
        const report = await deployCommand({ ...opts, file, ...targetFilter(opts) }, signalInterrupts);
        return printReport(report, opts, renderDeploy);
      }),
    );
}
