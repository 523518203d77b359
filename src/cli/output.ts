// Shared CLI plumbing: error reporting with exit codes, JSON output.
import { InputError, OperationError, exitCodeOf, formatLocation } from '../common/errors.ts';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function errorToJson(err: unknown): Record<string, unknown> {
  if (err instanceof InputError) {
    return {
      ok: false,
      error: 'invalid-input',
      problems: err.problems.map((p) => ({ ...p.loc, message: p.message, where: formatLocation(p.loc) })),
    };
  }
  if (err instanceof OperationError) {
    return { ok: false, error: 'operation-failed', message: err.message, host: err.host, details: err.details };
  }
  return { ok: false, error: 'internal', message: err instanceof Error ? err.message : String(err) };
}

/** Prints an error the way a user wants to read it (no stack trace for expected errors). */
export function reportError(err: unknown, json: boolean): number {
  const code = exitCodeOf(err);
  if (json) {
    printJson(errorToJson(err));
  } else if (err instanceof InputError || err instanceof OperationError) {
    process.stderr.write(`ediv: ${err.message}\n`);
  } else {
    const e = err as Error;
    process.stderr.write(`ediv: internal error: ${e?.stack ?? String(err)}\n`);
  }
  return code;
}

/**
 * Wraps a command action: runs it, maps thrown errors to messages and exit codes.
 * The action returns the exit code (default 0).
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | void> | number | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const opts = args.find((a) => a && typeof a === 'object' && !Array.isArray(a) && 'json' in (a as object)) as
      | { json?: boolean }
      | undefined;
    try {
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (err) {
      process.exitCode = reportError(err, Boolean(opts?.json));
    }
  };
}
