// How a failed command shows its error: a line on stderr, or the JSON error document on stdout.
import { InputError, OperationError, errorCodeOf, errorObject, exitCodeOf } from '../../common/errors.ts';

/** The text on stderr: the message (every problem located) for expected errors, a stack trace for bugs. */
export function renderError(err: unknown): string {
  if (err instanceof InputError || err instanceof OperationError) return `ediv: ${err.message}\n`;
  const e = err as Error;
  return `ediv: internal error: ${e?.stack ?? String(err)}\n`;
}

/** The broad kind in the document's `error` field: bad input, a failed operation, or a bug. */
function errorKind(err: unknown): 'invalid-input' | 'operation-failed' | 'internal' {
  if (errorCodeOf(err) === 'internal') return 'internal';
  return exitCodeOf(err) === 2 ? 'invalid-input' : 'operation-failed';
}

/**
 * The --json document of an error: {ok: false, error: kind, message, code, details}, plus the
 * host it happened on, and an InputError's located problems (the same list as its details).
 */
export function errorDocument(err: unknown): Record<string, unknown> {
  const obj = errorObject(err);
  return {
    ok: false,
    error: errorKind(err),
    ...obj,
    ...(err instanceof OperationError ? { host: err.host } : {}),
    ...(err instanceof InputError ? { problems: obj.details } : {}),
  };
}

/** A command's report with --json: its fields, and when it carries an error, that error's document. */
export function reportDocument<R extends { ok: boolean; error?: unknown }>(report: R): Record<string, unknown> {
  const { error, ...fields } = report;
  return error === undefined ? fields : { ...fields, ...errorDocument(error) };
}
