// Error types shared by every part of ediv. The CLI maps them to exit codes:
//   0 ok, 1 operation failed, 2 bad input (file, line, column and what to fix).

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

/**
 * Bad user input (scenario, cluster file, restrictions, command-line values).
 * Carries one or more problems, each with its location. Exit code 2.
 */
export class InputError extends Error {
  readonly problems: InputProblem[];
  readonly exitCode = 2;

  constructor(problems: InputProblem[] | InputProblem) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list.map((p) => `${formatLocation(p.loc)}: ${p.message}`).join('\n'));
    this.name = 'InputError';
    this.problems = list;
  }

  static at(file: string, line: number | undefined, column: number | undefined, message: string): InputError {
    return new InputError({ loc: { file, line, column }, message });
  }
}

/** An operation that failed (a host unreachable, a command that failed). Exit code 1. */
export class OperationError extends Error {
  readonly exitCode = 1;
  /** The host the failure happened on, when there is one. */
  readonly host?: string;
  readonly details?: unknown;

  constructor(message: string, opts: { host?: string; details?: unknown; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'OperationError';
    this.host = opts.host;
    this.details = opts.details;
  }
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof InputError) return 2;
  if (err instanceof OperationError) return 1;
  return 1;
}
