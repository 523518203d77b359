// Error types shared by every part of ediv, each with a stable `code`, and the one mapping from
// an error to an exit code (0 ok, 1 operation failed, 2 bad input: file, line, column and what
// to fix) and to the JSON error object {message, code, details} that the CLI prints and the
// host agent sends in its result line.

/** Where in an input file something was found. line/column are 1-based. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

export function formatLocation(loc: SourceLocation): string {
  let s = loc.file;
  if (loc.line !== undefined) {
    s += `:${loc.line}`;
    if (loc.column !== undefined) s += `:${loc.column}`;
  }
  return s;
}

/** One problem in user input. */
export interface InputProblem {
  loc: SourceLocation;
  message: string;
}

/** The `file` of a problem in a command-line value (an option, an argument). */
export const COMMAND_LINE = 'command line';

/**
 * A problem in a command-line value, located at "command line". `option` names what is wrong,
 * with its value when that helps (`--vm h9`, `--local-hosts`); the message follows it.
 */
export function commandLineProblem(option: string | undefined, message: string): InputProblem {
  return { loc: { file: COMMAND_LINE }, message: option ? `${option}: ${message}` : message };
}

/**
 * Bad user input (scenario, cluster file, restrictions, command-line values).
 * Carries one or more problems, each with its location. Exit code 2.
 */
export class InputError extends Error {
  readonly problems: InputProblem[];
  readonly exitCode = 2;
  readonly code: string = 'invalid-input';

  constructor(problems: InputProblem[] | InputProblem) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.map((p) => `${formatLocation(p.loc)}: ${p.message}`).join('\n'));
    this.name = 'InputError';
    this.problems = list;
  }

  static at(file: string, line: number | undefined, column: number | undefined, message: string): InputError {
    return new InputError({ loc: { file, line, column }, message });
  }

  /** A bad command-line value: see commandLineProblem. */
  static commandLine(option: string | undefined, message: string): InputError {
    return new InputError(commandLineProblem(option, message));
  }
}

/** Options of an OperationError. */
export interface OperationErrorOptions {
  host?: string;
  details?: unknown;
  cause?: unknown;
}

/** An operation that failed (a host unreachable, a command that failed). Exit code 1. */
export class OperationError extends Error {
  readonly exitCode = 1;
  /** What kind of failure: stable, for scripts (the subclasses below each have their own). */
  readonly code: string = 'operation-failed';
  /** The host the failure happened on, when there is one. */
  readonly host?: string;
  readonly details?: unknown;

  constructor(message: string, opts: OperationErrorOptions = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'OperationError';
    this.host = opts.host;
    this.details = opts.details;
  }
}

/** SIGINT/SIGTERM stopped a deploy (or undeploy): what it had made is rolled back or kept. */
export class InterruptedError extends OperationError {
  override readonly code = 'interrupted';
  constructor(message = 'interrupted', opts: OperationErrorOptions = {}) {
    super(message, opts);
    this.name = 'InterruptedError';
  }
}

/** A scenario of that name is already recorded: the input is valid, the cluster's state conflicts. */
export class AlreadyDeployedError extends OperationError {
  override readonly code = 'already-deployed';
  constructor(rec: { name: string; status: string; updatedAt: string }) {
    super(
      `a scenario named ${JSON.stringify(rec.name)} is already recorded (status ${rec.status} since ${rec.updatedAt}); ` +
        `run 'ediv undeploy ${rec.name}' first`,
      { details: { reason: 'already-deployed', scenario: rec.name, status: rec.status } },
    );
    this.name = 'AlreadyDeployedError';
  }
}

/** A host (`host`, when one is named) could not be reached, and the operation needs it. */
export class HostUnreachableError extends OperationError {
  override readonly code = 'host-unreachable';
  constructor(host: string | undefined, message: string, opts: Omit<OperationErrorOptions, 'host'> = {}) {
    super(message, { ...opts, host });
    this.name = 'HostUnreachableError';
  }
}

/** An operation failed on one or more hosts (`host` is the first); `details` says what was left. */
export class HostFailedError extends OperationError {
  override readonly code = 'host-failed';
  constructor(message: string, opts: OperationErrorOptions = {}) {
    super(message, opts);
    this.name = 'HostFailedError';
  }
}

/** A command the user asked to run (an exec sequence's) exited non-zero. */
export class CommandFailedError extends OperationError {
  override readonly code = 'command-failed';
  constructor(message: string, opts: OperationErrorOptions = {}) {
    super(message, opts);
    this.name = 'CommandFailedError';
  }
}

/** The JSON form of an error: what the CLI prints with --json and the agent's result line carries. */
export interface ErrorObject {
  message: string;
  /** 'invalid-input', 'operation-failed' or a subclass's code; 'internal' for anything else (a bug). */
  code: string;
  details?: unknown;
}

/** The exit code an error ends a command with: 2 bad input, 1 anything else. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof InputError) return 2;
  return 1;
}

/** The stable code of an error ('internal' for an error ediv did not expect). */
export function errorCodeOf(err: unknown): string {
  if (err instanceof InputError || err instanceof OperationError) return err.code;
  return 'internal';
}

/** {message, code, details}: an InputError's details are its problems, each located. */
export function errorObject(err: unknown): ErrorObject {
  const code = errorCodeOf(err);
  if (err instanceof InputError) {
    return { message: err.message, code, details: err.problems.map((p) => ({ ...p.loc, where: formatLocation(p.loc), message: p.message })) };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof OperationError && err.details !== undefined) return { message, code, details: err.details };
  return { message, code };
}
