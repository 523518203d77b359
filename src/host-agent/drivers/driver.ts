// The driver interface: how the host agent makes a fragment's VMs real. The agent
// (src/host-agent/agent.ts) validates the request, parses the fragment, checks backplanes,
// takes the state directory's lock and keeps applied.json / vm-state.json; a driver does the
// rest for its kind of VM. Drivers are found by name in registry.ts (ApplyRequest.driver,
// default 'netns'); each lives in its own folder (netns/). See docs/host-agent.md, "Adding a driver".
import type { InputProblem } from '../../common/errors.ts';
import type { Capabilities, CommandOutcome, ProgressEvent, VmState, VmUsage } from '../../protocol/agent.ts';
import type { BackplaneLink } from '../../protocol/plan.ts';
import type { VmAction } from '../../protocol/vm-inventory.ts';
import type { Scenario, Vm } from '../../scenario/model.ts';
import type { Journal } from '../journal.ts';

/** One deployment of one state directory, as a driver sees it. */
export interface DriverContext {
  stateDir: string;
  deployment: string;
  /** The deployment's journal: record every resource before making it (see journal.ts). */
  journal: Journal;
  emit(e: ProgressEvent): void;
  /** Per-VM private directory. */
  vmDir(vm: string): string;
}

export interface ApplyInput {
  /** Cluster host name this agent acts as. */
  host: string;
  /** The lab's display name, for readable host-side names (ctx.deployment, the unique key, for the rest); default the deployment. */
  lab?: string;
  /** The fragment, parsed and checked (VM selection, the driver's scenarioProblems). */
  scenario: Scenario;
  backplane: BackplaneLink[];
  /** Only these VMs; undefined = all, and VMs of the deployment no longer in the fragment go. */
  vms?: string[];
  /** The host's capabilities (facts), when the agent probed them (link shaping reads tbf/netem). */
  caps?: Capabilities;
}

/** An apply that has passed every check: nothing is made until run(). */
export interface PreparedApply {
  /** The VMs it configures, in fragment order. */
  vms: string[];
  /** Host-side links of its nets and VMs (reported to the controller). */
  links: string[];
  /** Makes what is missing or changed; resolves with the VMs made or remade now. */
  run(): Promise<{ made: string[] }>;
}

/**
 * Where the agent keeps what a fragment names as `reference` (an exec type="file" script, a
 * filetree source, a `dir/*` pattern): a path under the deployment's stored lab files
 * (src/host-agent/lab-files.ts). Nothing is checked: a pattern's path keeps its pattern.
 */
export type LabFileResolver = (reference: string) => string;

export interface ExecInput {
  scenario: Scenario;
  /** The configured VMs to run on (none suspended). */
  vms: Vm[];
  /** What to run: a sequence of the fragment, or a one-off command (AgentExecRequest.command). */
  run: { seq: string } | { command: string[] };
  /** Where exec files and filetree sources are on this host (the files the apply carried). */
  files: LabFileResolver;
}

export interface Driver {
  /** The name ApplyRequest.driver and the cluster file's `driver` use; listed by facts. */
  readonly name: string;
  /** Problems of a fragment this driver cannot run (beyond the scenario's own checks). */
  scenarioProblems(scenario: Scenario): InputProblem[];
  /**
   * Before an apply takes the lock: throws an OperationError when the host's capabilities
   * (facts) do not allow the driver; may warn through `emit`.
   */
  preflight(caps: Capabilities, emit: DriverContext['emit']): void;
  /** Plans an apply holding the lock: refuses (throws) what cannot work, makes nothing. */
  prepareApply(ctx: DriverContext, input: ApplyInput): Promise<PreparedApply>;
  /** Removes the deployment (or only `vms`, and nets no VM uses any more); names what it removed. */
  destroy(ctx: DriverContext, vms?: string[]): Promise<string[]>;
  /** The argv prefix that runs a program inside a running VM (its namespaces, root, cgroups). */
  enter(ctx: DriverContext, vm: Vm): string[];
  /** Runs a sequence on VMs: per VM the outcome of each step. */
  exec(ctx: DriverContext, input: ExecInput): Promise<{ name: string; commands: CommandOutcome[] }[]>;
  /** State of every configured VM of the deployment, from the states recorded for it. */
  vmStates(ctx: DriverContext, recorded: Record<string, VmState>): Record<string, VmState>;
  /** CPU time and memory of the deployment's running VMs, for the drivers that count them. */
  vmUsage?(ctx: DriverContext): Record<string, VmUsage>;
  /** Carries out a life-cycle action on a present VM (called holding the lock); resolves with its new state. */
  vmAction(ctx: DriverContext, vm: string, action: Exclude<VmAction, 'status'>, current: VmState): Promise<VmState>;
}
