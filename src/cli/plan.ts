// `ediv plan <scenario>`: shows where every VM would run, the nets that span hosts with
// their backplane ids and the quality figures, without touching any host; --out writes
// the per-host fragments.
import type { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../common/errors.ts';
import { defaultStateDir } from '../common/paths.ts';
import type { Cluster } from '../protocol/cluster.ts';
import { loadCluster } from '../controller/cluster.ts';
import { EMULATED, emulatedCluster } from '../emulated/layout.ts';
import { makePlan } from '../controller/plan.ts';
import type { Plan } from '../protocol/plan.ts';
import { loadRestrictions } from '../controller/restrictions.ts';
import { STATE_FILE, StateStore, idPoolKey } from '../controller/state.ts';
import { parseScenarioFile } from '../scenario/index.ts';
import { action, printJson } from './output.ts';

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
document named <scenario>_<host>.

Examples:
  ediv plan lab.xml
  ediv plan lab.xml --cluster /etc/ediv/cluster.conf --segmentator mincut --out /tmp/frags
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
        const scenario = await parseScenarioFile(file);
        const clusterFile = opts.cluster ?? process.env.EDIV_CLUSTER;
        const cluster = clusterFile ? await loadCluster(clusterFile) : localCluster(opts.localHosts);
        const restrictions = opts.restrictions ? await loadRestrictions(opts.restrictions, scenario, cluster) : undefined;
        const plan = await makePlan({
          scenario,
          cluster,
          segmentator: opts.segmentator,
          restrictions,
          idsInUse: idsInUse(cluster),
        });
        if (opts.out) writeFragments(plan, opts.out);
        if (opts.json) printJson(planJson(plan, opts.out));
        else process.stdout.write(renderPlan(plan, opts.out));
      }),
    );
}

function localCluster(n: string | undefined): Cluster {
  const count = Number(n ?? 3);
  if (!Number.isInteger(count) || count < 1 || count > EMULATED.maxHosts) {
    throw new InputError({ loc: { file: '(command line)' }, message: `--local-hosts must be a whole number 1..${EMULATED.maxHosts}, got ${JSON.stringify(n)}` });
  }
  return emulatedCluster(count, path.join(defaultStateDir(), 'local-cluster'));
}

/** Ids in use by deployed scenarios, when this machine has a state store (never creates one). */
function idsInUse(cluster: Cluster): Set<number> {
  const dir = defaultStateDir();
  if (!existsSync(path.join(dir, STATE_FILE))) return new Set();
  const store = StateStore.open(dir);
  try {
    return store.idsInUse(idPoolKey(cluster));
  } finally {
    store.close();
  }
}

function writeFragments(plan: Plan, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const hp of Object.values(plan.hosts)) writeFileSync(path.join(dir, `${hp.host}.xml`), hp.fragmentXml);
}

export function planJson(plan: Plan, out?: string): Record<string, unknown> {
  return {
    scenario: plan.scenario,
    segmentator: plan.segmentator,
    backplane: plan.backplane,
    mapping: plan.mapping,
    spanning: plan.spanning,
    hosts: Object.fromEntries(
      Object.values(plan.hosts).map((hp) => [
        hp.host,
        {
          vms: hp.vms,
          fragment: hp.fragmentName,
          file: out ? path.join(out, `${hp.host}.xml`) : undefined,
          backplane: hp.backplane,
        },
      ]),
    ),
    quality: plan.quality,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_c, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n';
}

export function renderPlan(plan: Plan, out?: string): string {
  const lines: string[] = [];
  lines.push(`scenario ${plan.scenario}: segmentator ${plan.segmentator}, backplane ${plan.backplane}\n`);
  const vms = Object.entries(plan.mapping);
  if (vms.length) lines.push(table([['VM', 'HOST'], ...vms.map(([vm, host]) => [vm, host])]));
  lines.push(
    table([
      ['HOST', 'VMS', 'FRAGMENT'],
      ...Object.values(plan.hosts).map((hp) => [hp.host, String(hp.vms.length), out ? path.join(out, `${hp.host}.xml`) : hp.fragmentName]),
    ]),
  );
  if (plan.spanning.length) {
    lines.push(table([['SPANNING NET', 'ID', 'HOSTS'], ...plan.spanning.map((s) => [s.net, String(s.id), s.hosts.join(',')])]));
  } else lines.push('no net spans hosts\n');
  const q = plan.quality;
  lines.push(
    `quality: ${q.spanningNets} spanning nets, ${q.crossHostAttachments} cross-host attachments, ` +
      `imbalance ${(q.imbalance * 100).toFixed(1)} %\n`,
  );
  return lines.join('\n');
}
