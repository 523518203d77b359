// Numeric option values, checked the same way by every command (bad input: exit 2).
import { InputError } from '../common/errors.ts';

/** A whole number from min to max; `fallback` when the option is not given. */
export function intOption(option: string, value: string | undefined, min: number, max: number, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const n = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || n < min || n > max) {
    throw InputError.commandLine(option, `must be a whole number from ${min} to ${max} (got ${JSON.stringify(value ?? '')})`);
  }
  return n;
}

/** A number of seconds from min to max (fractions allowed). */
export function secondsOption(option: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw InputError.commandLine(option, `must be a number of seconds between ${min} and ${max}, not ${JSON.stringify(value)}`);
  }
  return n;
}
