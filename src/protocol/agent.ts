// Host-agent protocol (DESIGN.md): the controller runs `ediv agent <op> [--state-dir D]` on a
// host with one JSON request on stdin. The agent writes JSON lines on stdout: zero or more
// progress events, then exactly one result line; it exits 0 on success, non-zero on failure
// (the result line then carries the error). Every op is idempotent.
import type { BackplaneKind } from './cluster.ts';
import type { BackplaneLink } from './plan.ts';

/** Every op the agent knows, in the order `ediv agent --help` lists them. */
export const AGENT_OPS = ['facts', 'apply', 'exec', 'destroy', 'status', 'vm', 'connect', 'capture', 'serve'] as const;
export type AgentOp = (typeof AGENT_OPS)[number];

export function isAgentOp(op: string): op is AgentOp {
  return (AGENT_OPS as readonly string[]).includes(op);
}

/**
 * The first line of `ediv agent session` (src/cli/agent-session.ts): the agent runs request
 * lines `{"op", "request"}` one after another, each answered like a single op. An agent that
 * prints something else first has no sessions (an older version): the caller runs each op as
 * its own `ediv agent <op>`.
 */
/** The oldest Node.js major that runs the agent bundle the controller brings to hosts (tested: 20 and 22). */
export const AGENT_NODE_MAJOR = 20;

/** The agent's state directory on a host whose cluster file names none. */
export const AGENT_DEFAULT_STATE_DIR = '/var/lib/ediv/agent';

export const SESSION_HELLO = { type: 'session', version: 1 } as const;

export interface FactsRequest {}

export interface FactsResult {
  version: string;
  hostname: string;
  cpus: number;
  memMB: number;
  loadAvg: [number, number, number];
  root: boolean;
  /** `tbf`, `netem`: the qdiscs link shaping uses (absent in the facts of an older agent). */
  capabilities: { netns: boolean; bridge: boolean; veth: boolean; vxlan: boolean; vlan8021q: boolean; tbf?: boolean; netem?: boolean };
  drivers: string[];
  /** The Node.js running the agent (process.version; absent from older agents). */
  node?: string;
  /** The content hash of the pushed agent bundle running, when the controller brought it. */
  bundle?: string;
  /** Programs, file systems and cgroups the agent and labs use (absent from older agents). */
  tools?: HostTools;
  /** The host's clock when it answered (ms since the epoch; absent from older agents): the controller checks the skew. */
  clockMs?: number;
  /** The backplane ids the deployments on this host use (absent from older agents): a controller plans around them. */
  backplaneIds?: BackplaneIdUse[];
}

/** What facts found of the host's programs (their path or version; null: missing), file systems and cgroups. */
export interface HostTools {
  /** The iproute2 version (`ip -V`), e.g. "iproute2-6.1.0". */
  iproute2: string | null;
  tc: string | null;
  /** The container driver's launcher and the one-process namespace set-up run on it. */
  python3: string | null;
  nsenter: string | null;
  /** `ediv capture`. */
  tcpdump: string | null;
  /** FRR's zebra (labs that run FRR routers). */
  frr: string | null;
  /** The kernel knows overlayfs (the container driver's copy-on-write roots). */
  overlayfs: boolean;
  /** The cgroup layout ("v2", "v1 (cpu, memory, ...)"); null: none mounted. */
  cgroups: string | null;
}

/** A backplane id (VLAN id or VNI) in use on a host, and by what. */
export interface BackplaneIdUse {
  kind: BackplaneKind;
  id: number;
  net: string;
  deployment: string;
  owner?: DeploymentOwner;
}

/** What the host's kernel can do (probed by `facts`). */
export type Capabilities = FactsResult['capabilities'];
/** The link capabilities (what drivers and backplanes need); the qdiscs are read where shaping is applied. */
export type Capability = Exclude<keyof Capabilities, 'tbf' | 'netem'>;

/**
 * Who a deployment belongs to. The agent records it at the deployment's first apply
 * (owner.json) and refuses requests of another owner unless they carry `force`.
 */
export interface DeploymentOwner {
  /** The controller's user (login name). */
  user: string;
  /** The id of the controller's state store: every controller sharing one store has the same. */
  store: string;
}

/**
 * What every request about one deployment may carry besides its names: the owner it acts
 * for (absent from older controllers) and `force` (`ediv … --force`: an administrator takes
 * over or cleans up another owner's deployment; the agent logs it).
 */
export interface OwnedRequest {
  owner?: DeploymentOwner;
  force?: boolean;
}

export interface ApplyRequest extends OwnedRequest {
  /**
   * The deployment's key on the hosts, unique in the cluster: `<lab>.<uid>` (deploymentKey in
   * src/protocol/deployment-key.ts), or the bare lab name for labs recorded before owners.
   */
  deployment: string;
  /** The lab's name as its users know it (readable host-side link names); default: deployment. */
  lab?: string;
  /** Cluster host name this agent acts as (several emulated hosts may share one kernel). */
  host: string;
  /** The host's fragment (VNUML/VNX XML). */
  fragmentXml: string;
  /**
   * The lab files the fragment names (exec type="file" scripts, filetree sources), read by the
   * controller and stored by the agent in the deployment's directory; keyed by labFileKey
   * (src/protocol/lab-files.ts), bounded by LAB_FILE_LIMITS. Absent: none.
   */
  files?: LabFile[];
  backplane: BackplaneLink[];
  driver?: string;
  /** Only these VMs (EDIV -M); default all VMs of the fragment. */
  vms?: string[];
  /** What to do for the host's discovery daemon once the apply succeeded. */
  discovery?: DiscoveryFollowUp;
}

/**
 * The host's discovery daemon brought in step by the agent right after an apply or a destroy,
 * in the same agent run (a second SSH exec and Node start-up per host cost more than the
 * daemon's own work). `start`: start the daemon, or make a running one reload (the serve
 * request's fields: where to listen, the controller's control key). `sync`: make it reload,
 * or stop it when the host runs no VM any more. The agent's command line (src/cli/agent.ts)
 * takes the field off the request and runs it; the host agent's op never sees it.
 */
export type DiscoveryFollowUp =
  | { start: { address?: string; network?: string; controlKey: string } }
  | { sync: true };

/** What became of a DiscoveryFollowUp: best effort, the op itself succeeded either way. */
export interface DiscoveryOutcome {
  ok: boolean;
  /** The daemon runs afterwards. */
  running?: boolean;
  error?: string;
  /** Time it took in the agent. */
  ms: number;
}

/** One entry of ApplyRequest.files: a file (its bytes in base64) or a directory. */
export type LabFile =
  | { path: string; type: 'file'; mode: number; dataBase64: string }
  | { path: string; type: 'dir'; mode: number };

/** The progress step of an agent's report of a command it runs (agents started with --trace: the controller's -v). */
export const RUN_STEP = 'run';

export interface ApplyResult {
  deployment: string;
  vms: { name: string; state: VmState }[];
  links: string[];
  /** The VMs made or remade by this apply (the others were left running as they were); absent from older agents. */
  made?: string[];
  /** The outcome of the request's `discovery` follow-up, when it had one. */
  discovery?: DiscoveryOutcome;
}

/** Runs a sequence (`seq`) or a one-off command (`command`) in VMs: exactly one of the two. */
export interface AgentExecRequest extends OwnedRequest {
  deployment: string;
  host: string;
  seq?: string;
  /**
   * A one-off command: one element is a shell command text (run as `sh -c TEXT` in the VM),
   * several are a program and its arguments (run as they are, no shell).
   */
  command?: string[];
  vms?: string[];
}

/** Bounds of a one-off command (the request is bounded too, but this says what is wrong). */
export const MAX_COMMAND_WORDS = 1024;
export const MAX_COMMAND_BYTES = 128 * 1024;

export interface CommandOutcome {
  command: string;
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface AgentExecResult {
  deployment: string;
  /** The sequence run; absent for a one-off command. */
  seq?: string;
  vms: { name: string; commands: CommandOutcome[] }[];
}

/**
 * `ediv connect`: a shell (or `command`, as in AgentExecRequest) inside a VM, joined to the
 * caller's terminal. The request travels as one base64 argument (stdin is the terminal):
 * `ediv agent connect <base64 of this JSON>`.
 */
export interface ConnectRequest extends OwnedRequest {
  deployment: string;
  host: string;
  vm: string;
  command?: string[];
}

/** `ediv capture`: the packets of a net's bridge on one host, as a pcap stream on stdout (request as for connect). */
export interface CaptureRequest extends OwnedRequest {
  deployment: string;
  host: string;
  net: string;
  /** Stop after this many packets. */
  count?: number;
}

/** The argument of `ediv agent connect|capture` that carries the request: base64 of its JSON. */
export function encodeArgRequest(request: ConnectRequest | CaptureRequest): string {
  return Buffer.from(JSON.stringify(request)).toString('base64');
}

/** What `ediv vm` does to VMs (restart: stop, then start). */
export const VM_LIFE_ACTIONS = ['start', 'stop', 'restart', 'suspend', 'resume'] as const;
export type VmLifeAction = (typeof VM_LIFE_ACTIONS)[number];

/** A life-cycle action on VMs of a deployment on this host (the SOAP actions' semantics). */
export interface VmActionRequest extends OwnedRequest {
  deployment: string;
  host: string;
  action: VmLifeAction;
  vms: string[];
}

export interface VmActionResult {
  deployment: string;
  /** Each VM's state afterwards; `error` when the action failed for it. */
  vms: { name: string; state: VmState; error?: string }[];
}

export interface DestroyRequest extends OwnedRequest {
  deployment: string;
  host: string;
  vms?: string[];
  /** What to do for the host's discovery daemon once the destroy succeeded (normally `sync`). */
  discovery?: DiscoveryFollowUp;
}

export interface DestroyResult {
  deployment: string;
  removed: string[];
  /** The outcome of the request's `discovery` follow-up, when it had one. */
  discovery?: DiscoveryOutcome;
}

export interface StatusRequest {
  deployment?: string;
  host: string;
  /** With a deployment: its links too (StatusResult's `links` and `nets`). */
  detail?: boolean;
  /** Measure each VM's CPU use over this many milliseconds (1..STATUS_SAMPLE_MAX_MS): VmUsage.cpuPercent. */
  sampleMs?: number;
}

/** The longest CPU sample a status request may ask for. */
export const STATUS_SAMPLE_MAX_MS = 10_000;

/** A VM interface as `ediv status LAB` shows it. */
export interface VmLink {
  /** Its name in the VM. */
  name: string;
  net: string;
  /** The host-side end of its cable (what `tcpdump -i` takes on that host). */
  hostSide: string;
  mac?: string;
  /** Its addresses now (CIDR; link-local ones left out). */
  addresses: string[];
}

/** A net on one host: its bridge, and its backplane link when it spans hosts. */
export interface NetLinks {
  net: string;
  bridge?: string;
  backplane?: string;
}

export type VmState = 'running' | 'stopped' | 'suspended' | 'missing';

/** What a running VM uses, where its driver counts it (the container driver's cgroups). */
export interface VmUsage {
  /** CPU time used since the VM (re)started, in seconds. */
  cpuSeconds?: number;
  /** Memory in use now, in MiB. */
  memMB?: number;
  /** CPU use over the status request's sample (sampleMs): 100 = one CPU busy all the time. */
  cpuPercent?: number;
}

/** CPU share over a sample (100 = one CPU), from the CPU time before and after; undefined when not measurable (a VM restarted meanwhile counts again from 0). */
export function cpuPercent(before: number | undefined, after: number | undefined, seconds: number | undefined): number | undefined {
  if (before === undefined || after === undefined || !seconds || after < before) return undefined;
  return Math.round(((after - before) / seconds) * 1000) / 10;
}

/** The host's CPUs and memory as its kernel counts them (/proc/meminfo: MemAvailable is what can be had without swapping). */
export interface HostUsage {
  cpus: number;
  memTotalMB: number;
  memAvailableMB: number;
}

export interface StatusResult {
  loadAvg: [number, number, number];
  /** Absent from older agents. */
  host?: HostUsage;
  deployments: { name: string; lab?: string; owner?: DeploymentOwner; backplane?: { kind: BackplaneKind; id: number; net: string }[]; vms: ({ name: string; state: VmState; links?: VmLink[] } & VmUsage)[]; nets?: NetLinks[] }[];
}

export interface ProgressEvent {
  type: 'progress';
  step: string;
  message?: string;
  done?: number;
  total?: number;
}

export interface ResultLine<T = unknown> {
  type: 'result';
  ok: boolean;
  result?: T;
  error?: { message: string; code?: string; details?: unknown };
}

export type AgentLine = ProgressEvent | ResultLine;
