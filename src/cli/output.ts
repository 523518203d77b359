// Shared CLI plumbing: printing reports (text or --json), errors with exit codes.
import { exitCodeOf } from '../common/errors.ts';
import { errorDocument, renderError, reportDocument } from './render/error.ts';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints an error the way a user wants to read it (no stack trace for expected errors); returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  if (json) printJson(errorDocument(err));
  else process.stderr.write(renderError(err));
  return exitCodeOf(err);
}

/**
 * Prints a command's report the same way on success and on failure: with --json one document
 * (a failure's error merged in), else the text on stdout and a failure's error on stderr.
 * Returns the exit code: 0 when ok, else the error's (1 when the report has none).
 */
export function printReport<R extends { ok: boolean; error?: unknown }>(
  report: R,
  opts: { json?: boolean },
  render: (r: R) => string,
): number {
  if (opts.json) printJson(reportDocument(report));
  else {
    process.stdout.write(render(report));
    if (!report.ok && report.error !== undefined) process.stderr.write(renderError(report.error));
  }
  if (report.ok) return 0;
  return report.error === undefined ? 1 : exitCodeOf(report.error);
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
