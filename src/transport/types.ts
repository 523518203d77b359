// What a transport offers the controller: run the ediv agent, or a plain command, on one host.
import type { AgentOp, ProgressEvent } from '../protocol/agent.ts';
import type { ClusterHost } from '../protocol/cluster.ts';

export interface TransportOptions {
  /** SSH connect + handshake + authentication timeout; also bounds the wait for each channel to open. Default 15 s. */
  connectTimeoutMs?: number;
  /** Default time limit for one operation (agent op or exec). Default 30 min; 0 = none. */
  operationTimeoutMs?: number;
  /** The agent reports every command it runs on the host (`ediv agent <op> --trace`): `-v/--verbose`. */
  trace?: boolean;
  /** SSH keepalive interval; the connection is dropped after 3 unanswered. Default 10 s. */
  keepaliveIntervalMs?: number;
  /**
   * Like OpenSSH's StrictHostKeyChecking=accept-new: add UNKNOWN host keys to known_hosts, once the
   * connection is established and authenticated. Changed keys are always refused.
   */
  acceptNewHostKeys?: boolean;
  /** ssh config file consulted for Host aliases; false to ignore. Default ~/.ssh/config. */
  sshConfig?: string | false;
  /** SSH agent socket; false to not use an agent. Default $SSH_AUTH_SOCK. */
  agentSocket?: string | false;
  /**
   * Run the connection's agent ops one after another in one `ediv agent session` process (one
   * Node start-up per host and command, not per op); ops that arrive while it is busy run on
   * their own. Default true; false: every op is its own `ediv agent <op>`.
   */
  agentSessions?: boolean;
  /** Channels open at once on one connection (sshd's MaxSessions defaults to 10). Default 8. */
  maxChannels?: number;
}

export interface CallOptions {
  /** Overrides TransportOptions.operationTimeoutMs for this call. */
  timeoutMs?: number;
  /** Aborting closes the channel (or kills the local process) and rejects. */
  signal?: AbortSignal;
}

export interface ExecOptions extends CallOptions {
  /** Written to the command's stdin (then closed). */
  input?: string;
}

export interface ExecResult {
  /** All of stdout (over 64 MB fails the call: docs/transport.md, "Output bounds"). */
  stdout: string;
  /** The last 64 Ki characters of stderr, after a "[ediv: N earlier characters not kept]" line when more came. */
  stderr: string;
  /** Exit status, or null when the command was ended by a signal. */
  exitCode: number | null;
  signal?: string;
}

/** The terminal (or pipes) an interactive command talks to. */
export interface InteractiveIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** A pseudo-terminal of this size on the host (when the user's side is a terminal). */
  pty?: { rows: number; cols: number; term: string };
  /** Calls back on each window-size change; returns the unsubscribe. */
  onResize?(cb: (rows: number, cols: number) => void): () => void;
}

export interface HostTransport {
  readonly host: ClusterHost;
  /**
   * Runs `ediv agent <op>` on the host with `request` as JSON on stdin; progress events go to
   * `onProgress`; resolves with the result or throws an OperationError naming the host and
   * carrying the agent's error (`details`).
   */
  runAgent<T>(op: AgentOp, request: unknown, onProgress?: (e: ProgressEvent) => void, opts?: CallOptions): Promise<T>;
  /** Runs a program (argument vector, quoted for the remote shell); never rejects on a non-zero exit. */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Runs a program (argument vector) with its input and output joined to `io`, on a
   * pseudo-terminal when `io.pty` is given; resolves with its exit status.
   */
  interactive(argv: string[], io: InteractiveIo): Promise<{ exitCode: number | null; signal?: string }>;
  /**
   * Makes the agent ready before an op that cannot receive it (connect, capture): on a host that
   * runs the pushed agent, its bundle is installed when missing. Nothing to do otherwise.
   */
  prepareAgent(): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULTS = {
  connectTimeoutMs: 15_000,
  operationTimeoutMs: 30 * 60_000,
  keepaliveIntervalMs: 10_000,
  maxChannels: 8,
} as const;
