// `ediv deploy <scenario>`: plan a scenario over the cluster and run it on every host.
// The logic is in src/controller/deploy.ts; this module reads the inputs and prints results.
import type { Command } from 'commander';
import path from 'node:path';
import { parseScenarioFile } from '../scenario/index.ts';
import { loadRestrictions } from '../controller/restrictions.ts';
import { makePlan } from '../controller/plan.ts';
import { deployScenario } from '../controller/deploy.ts';
import { startDiscoveryAfterApply, syncDiscoveryAfterDestroy } from '../controller/discovery-hooks.ts';
import { listOption, resolveCluster, withContext, type CommonOptions } from '../controller/command-context.ts';
import { renderDeploy } from '../controller/render.ts';
import { connectionStats } from '../transport/index.ts';
import { action, printJson } from './output.ts';
import { addConnectionOptions, addTargetOptions } from './controller-options.ts';

interface DeployOptions extends CommonOptions {
  cluster?: string;
  segmentator?: string;
  restrictions?: string;
  vm?: string[];
  host?: string[];
  keepOnFailure?: boolean;
}


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
    .option('--json', 'print one JSON document on stdout; progress as JSON lines on stderr')
    .action(
      action(async (file: string, opts: DeployOptions) => {
        // Bad input is refused before anything is touched: scenario, then restrictions.
        const scenario = await parseScenarioFile(file);
        if (opts.restrictions) await loadRestrictions(opts.restrictions, scenario);
        return withContext(opts, async (ctx) => {
          const cluster = await resolveCluster({ cluster: opts.cluster, stateDir: ctx.stateDir, progress: ctx.progress, create: true });
          const restrictions = opts.restrictions ? await loadRestrictions(opts.restrictions, scenario, cluster) : undefined;
          const interrupt = new AbortController();
          const onSignal = (sig: NodeJS.Signals): void => {
            if (interrupt.signal.aborted) {
              process.stderr.write(`ediv: ${sig} again: leaving now; the record is kept, 'ediv undeploy ${scenario.name}' removes what is left\n`);
              process.exit(1);
            }
            ctx.progress.warn(`${sig}: stopping; waiting for the hosts' current step, then rolling back (again to leave at once)`);
            interrupt.abort();
          };
          process.on('SIGINT', onSignal);
          process.on('SIGTERM', onSignal);
          try {
            const report = await deployScenario(
              {
                scenario,
                scenarioPath: path.resolve(file),
                cluster,
                restrictions,
                segmentator: opts.segmentator,
                vms: listOption(opts.vm),
                hosts: listOption(opts.host),
                keepOnFailure: opts.keepOnFailure,
                signal: interrupt.signal,
              },
              {
                store: ctx.store,
                sessions: ctx.sessions,
                makePlan,
                progress: ctx.progress,
                version: ctx.version,
                afterApply: startDiscoveryAfterApply(ctx.sessions, cluster),
                afterRollback: syncDiscoveryAfterDestroy(ctx.sessions),
              },
            );
            ctx.progress.done(); // the live progress lines end before the result
            if (opts.json) printJson({ ...report, connections: connectionStats().perHost });
            else process.stdout.write(renderDeploy(report));
            return 0;
          } finally {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
          }
        });
      }),
    );
}
