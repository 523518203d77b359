// ediv command-line entry. Each command lives in its own module under src/cli/ and exports
// `register(program)`; this file only assembles them.
import { Command } from 'commander';
import { parseProgram } from './program-run.ts';
import { version } from '../protocol/version.ts';

// `completion` is given the builder: it needs every command, and importing this file would be a cycle.
type CommandModule = { register(p: Command, buildAll: () => Promise<Command>): void };

/** Top-level command → the loader of the module that registers it (every import a literal). */
const commandModules: Record<string, () => Promise<CommandModule>> = {
  validate: () => import('./validate.ts'),
  plan: () => import('./plan.ts'),
  graph: () => import('./graph.ts'),
  segmentators: () => import('./segmentators.ts'),
  deploy: () => import('./deploy.ts'),
  redeploy: () => import('./redeploy.ts'),
  exec: () => import('./exec.ts'),
  vm: () => import('./vm.ts'),
  connect: () => import('./connect.ts'),
  capture: () => import('./capture.ts'),
  rebalance: () => import('./rebalance.ts'),
  undeploy: () => import('./undeploy.ts'),
  status: () => import('./status.ts'),
  cluster: () => import('./cluster.ts'),
  state: () => import('./state.ts'),
  discover: () => import('./discover.ts'),
  'vm-advertise': () => import('./vm-advertise.ts'),
  agent: () => import('./agent.ts'),
  completion: () => import('./completion.ts'),
};

/**
 * Builds the program. With `only`, just that command's module is loaded: every run of
 * `ediv agent <op>` over SSH pays for what it imports, so a command loads only its own code.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command();
  program
    .name('ediv')
    .description(
      'Deploy VNUML/VNX network-lab scenarios across a cluster of Linux hosts.\n' +
        'Exit codes: 0 ok, 1 operation failed, 2 bad input.',
    )
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const names = only !== undefined && Object.hasOwn(commandModules, only) ? [only] : Object.keys(commandModules);
  for (const name of names) (await commandModules[name]!()).register(program, () => buildProgram());
  addSummaries(program);
  return program;
}

/** One line per command in `ediv --help` (the commands' own descriptions are longer). */
const SUMMARIES: Record<string, string> = {
  validate: 'check a scenario (and cluster/restriction files) and summarize it',
  plan: 'show how a scenario would be split across the cluster',
  graph: 'draw the plan of a scenario or of a deployed lab (dot, mermaid, svg, json)',
  segmentators: 'list the placement algorithms',
  deploy: 'deploy a scenario across the cluster',
  redeploy: 'apply an edited scenario to a deployed lab (unchanged VMs keep running)',
  exec: 'run a command sequence, or a one-off command, in the VMs of a deployed scenario',
  vm: 'start, stop, restart, suspend or resume VMs of a deployed scenario',
  connect: 'a shell (or one command) inside a VM, wherever it runs',
  capture: "a net's packets from one host, as pcap",
  rebalance: 'plan the VM moves that bring every host of a lab under a CPU threshold (--dry-run)',
  undeploy: 'remove a deployed scenario from every host and free its ids',
  status: 'show deployed scenarios, hosts, and VMs with their live state',
  cluster: 'the emulated cluster (up, down, status) and cluster checks',
  'cluster check': 'check that every host is reachable, root and capable',
  discover: 'show the UPnP tree of hypervisors, VMs and services; call VM actions',
  'vm-advertise': 'announce this VM and its services over UPnP (run inside a VM)',
  agent: 'host agent, run by the controller on each host over SSH',
  completion: 'print a bash or zsh completion script',
};

function addSummaries(cmd: Command, prefix = ''): void {
  for (const sub of cmd.commands) {
    const key = prefix + sub.name();
    if (SUMMARIES[key] && !sub.summary()) sub.summary(SUMMARIES[key]);
    sub.description(reflow(sub.description()));
    addSummaries(sub, `${key} `);
  }
}

/**
 * A description as commander should wrap it (to the terminal's width): the line breaks written
 * in the source are joined, except before a blank line or an indented or bulleted line.
 */
export function reflow(text: string): string {
  return text.replace(/(?<!\n)\n(?![\s\-*•])/g, ' ');
}

export async function main(argv: string[]): Promise<void> {
  const first = argv[2];
  const program = await buildProgram(first !== undefined && Object.hasOwn(commandModules, first) ? first : undefined);
  await parseProgram(program, argv);
}
