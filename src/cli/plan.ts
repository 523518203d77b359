// `ediv plan <scenario>`: shows where every VM would run, the nets that span hosts with
// their backplane ids and the quality figures, without touching any host; --out writes
// the per-host fragments.
import type { Command } from 'commander';
import { EMULATED } from '../emulated/layout.ts';
import { planPreview } from '../controller/plan-preview.ts';
import { action, printJson } from './output.ts';
import { intOption } from './option-values.ts';
import { planJson, renderPlan } from './render/plan.ts';

interface PlanOptions {
  cluster?: string;
  segmentator?: string;
  restrictions?: string;
  out?: string;
  json?: boolean;
  localHosts?: string;
}

const HELP = `
Without --cluster (or $EDIV_CLUSTER) the plan is for the built-in emulated cluster of --local-hosts hosts
(host1..hostN, as 'ediv cluster up --local N' makes). The cluster file may be YAML, JSON
or EDIV's cluster.conf. Backplane ids already used by scenarios deployed from this machine's
state directory are skipped, so the ids shown are the ones 'ediv deploy' would take now.

Segmentators: ${'`ediv segmentators`'} lists them (round-robin, weighted, dynamic,
constraints, mincut; EDIV's RoundRobin, WeightedRoundRobin, DynamicWeightedRoundRobin);
a path (./my-algorithm.js) or package name loads a plugin.

--out DIR writes one fragment per host that receives VMs: DIR/<host>.xml, a VNUML/VNX
document named <scenario>_<host>. Its filetree sources and exec scripts are absolute paths
(from the scenario's directory), so it runs from any directory.

Examples:
  ediv plan lab.xml
  ediv plan lab.xml --cluster /etc/ediv/cluster.conf --segmentator mincut --out frags
  ediv plan lab.xml --restrictions restrictions.xml --json | jq .mapping`;

export function register(program: Command): void {
  program
    .command('plan')
    .description('Show how a scenario would be split across the cluster (VM → host, spanning nets, ids)')
    .argument('<scenario>', 'scenario file (VNUML, VNX or OVF)')
    .option('--cluster <file>', 'cluster file (YAML, JSON or EDIV cluster.conf); default $EDIV_CLUSTER, else the emulated cluster')
    .option('--segmentator <name>', "segmentator name, EDIV alias, plugin path or package (default: the cluster's)")
    .option('--restrictions <file>', 'EDIV restriction file (deployment_restrictions)')
    .option('--out <dir>', 'write the per-host fragments to <dir>/<host>.xml')
    .option('--local-hosts <n>', 'hosts of the emulated cluster planned for without --cluster', '3')
    .option('--json', 'print the plan as one JSON document')
    .addHelpText('after', HELP)
    .action(
      action(async (file: string, opts: PlanOptions) => {
        const plan = await planPreview({
          file,
          cluster: opts.cluster,
          localHosts: intOption('--local-hosts', opts.localHosts, 1, EMULATED.maxHosts, 3),
          segmentator: opts.segmentator,
          restrictions: opts.restrictions,
          out: opts.out,
        });
        if (opts.json) printJson(planJson(plan, opts.out));
        else process.stdout.write(renderPlan(plan, opts.out));
      }),
    );
}
