// `ediv graph <scenario|lab>`: draws a lab — the plan `ediv plan` would make for a scenario
// file, or the plan recorded for a deployed lab — as graphviz dot, mermaid, SVG or JSON.
import { Option, type Command } from 'commander';
import { execa } from 'execa';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { InputError, OperationError } from '../common/errors.ts';
import { EMULATED } from '../emulated/layout.ts';
import type { LabGraph } from '../controller/graph.ts';
import { isScenarioFile, labGraph } from '../controller/graph-source.ts';
import { action } from './output.ts';
import { intOption } from './option-values.ts';
import { renderDot, renderMermaid } from './render/graph.ts';

const FORMATS = ['dot', 'mermaid', 'svg', 'json'] as const;
type Format = (typeof FORMATS)[number];

interface GraphOptions {
  format?: Format;
  json?: boolean;
  output?: string;
  cluster?: string;
  segmentator?: string;
  restrictions?: string;
  localHosts?: string;
  state?: string;
}

/** The options that choose how a scenario file is planned: meaningless for a deployed lab. */
const PLAN_OPTIONS = { cluster: '--cluster', segmentator: '--segmentator', restrictions: '--restrictions', localHosts: '--local-hosts' } as const;

const HELP = `
SCENARIO is a scenario file (VNUML, VNX or OVF): the graph is of the plan 'ediv plan' would
make now, with the same options (--cluster or $EDIV_CLUSTER, else the emulated cluster of
--local-hosts hosts). Anything else is the name of a deployed lab ('ediv status' lists them):
the graph is of the plan recorded when it was deployed; no host is contacted either way.

Hosts are drawn as boxes holding their VMs, the nets only they carry and the scenario's <host>
section. A net that spans hosts is drawn once, outside the hosts, with its backplane id
("Net0 · vxlan 1000"), linked to its VMs on every host. Each link is one VM interface,
labelled with its id and addresses.

Formats: dot (graphviz, the default), mermaid (a flowchart for Markdown), svg (runs graphviz's
'dot -Tsvg'; needs the graphviz package), json ({scenario, backplane, hosts:[{name, vms,
hostSection?}], nets:[{name, host?, spanning?:{id, hosts}}], links:[{vm, iface, net, addresses}]}).

Examples:
  ediv graph lab.xml | dot -Tpng -o lab.png
  ediv graph lab.xml --cluster cluster.yaml --segmentator mincut --format svg -o lab.svg
  ediv graph mylab --format mermaid -o mylab.mmd
  ediv graph mylab --json | jq '.nets[] | select(.spanning)'`;

export function register(program: Command): void {
  program
    .command('graph')
    .description('Draw a lab: hosts with their VMs, nets (spanning nets with their ids), interfaces')
    .argument('<scenario|lab>', 'scenario file, or the name of a deployed lab')
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).default('dot'))
    .option('--json', 'the same as --format json')
    .option('-o, --output <file>', 'write to <file> instead of stdout')
    .option('--cluster <file>', 'scenario file: cluster file (YAML, JSON or EDIV cluster.conf); default $EDIV_CLUSTER, else the emulated cluster')
    .option('--segmentator <name>', "scenario file: segmentator name, EDIV alias, plugin path or package (default: the cluster's)")
    .option('--restrictions <file>', 'scenario file: EDIV restriction file (deployment_restrictions)')
    .option('--local-hosts <n>', 'scenario file: hosts of the emulated cluster planned for without --cluster (default 3)')
    .option('--state <dir>', 'lab name: the controller state directory it is recorded in (as for status)')
    .addHelpText('after', HELP)
    // --format json is --json, for the errors too (`action` prints them as JSON when it is set).
    .hook('preAction', (cmd) => {
      if (cmd.getOptionValue('format') === 'json') cmd.setOptionValue('json', true);
    })
    .action(
      action(async (target: string, opts: GraphOptions, cmd: Command) => {
        const format = formatOf(opts, cmd);
        if (!isScenarioFile(target)) refusePlanOptions(target, opts);
        const graph = await labGraph({
          target,
          state: opts.state,
          cluster: opts.cluster,
          segmentator: opts.segmentator,
          restrictions: opts.restrictions,
          localHosts: intOption('--local-hosts', opts.localHosts, 1, EMULATED.maxHosts, 3),
        });
        const text = await rendered(graph, format);
        if (opts.output) writeFileAtomic(opts.output, text);
        else process.stdout.write(text);
      }),
    );
}

/** --format, or json for --json (refused alongside another explicit --format). */
function formatOf(opts: GraphOptions, cmd: Command): Format {
  if (!opts.json) return opts.format ?? 'dot';
  if (cmd.getOptionValueSource('format') === 'cli' && opts.format !== 'json') {
    throw InputError.commandLine('--json', `means --format json: give one of --json and --format ${opts.format}`);
  }
  return 'json';
}

function refusePlanOptions(target: string, opts: GraphOptions): void {
  const given = Object.entries(PLAN_OPTIONS).filter(([k]) => opts[k as keyof typeof PLAN_OPTIONS] !== undefined);
  if (given.length === 0) return;
  throw InputError.commandLine(
    given.map(([, flag]) => flag).join(', '),
    `plans a scenario file, and ${JSON.stringify(target)} is not a file (a deployed lab is drawn from its recorded plan)`,
  );
}

async function rendered(graph: LabGraph, format: Format): Promise<string> {
  switch (format) {
    case 'dot':
      return renderDot(graph);
    case 'mermaid':
      return renderMermaid(graph);
    case 'svg':
      return svgOf(renderDot(graph));
    case 'json':
      return JSON.stringify(graph, null, 2) + '\n';
  }
}

/** The dot text laid out by graphviz (`dot -Tsvg`, the text on its stdin). */
async function svgOf(dot: string): Promise<string> {
  const r = await execa('dot', ['-Tsvg'], { input: dot, reject: false, encoding: 'utf8', stripFinalNewline: false });
  if (r.code === 'ENOENT') throw new OperationError('svg needs graphviz (apt install graphviz); use --format dot');
  if (r.exitCode !== 0) throw new OperationError(`dot -Tsvg failed: ${String(r.stderr || r.shortMessage).trim()}`);
  return String(r.stdout);
}
