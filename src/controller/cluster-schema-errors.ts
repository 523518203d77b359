// Turns ajv errors on a located cluster document into problems a user can act on:
// "file:line:col: hosts[1].cpu must be a number (found "fast")"; and keeps any file's list of
// problems readable (sorted, capped), for cluster and restriction files alike.
import type { ErrorObject } from 'ajv';
import type { InputProblem } from '../common/errors.ts';
import type { DocPath, LocatedDoc } from './cluster-source.ts';

function pathOf(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** The value at `path`, following own properties only (a key "constructor" is not Object's). */
function valueAt(data: unknown, path: DocPath): unknown {
  let v = data;
  for (const seg of path) v = v !== null && typeof v === 'object' && Object.hasOwn(v, seg) ? (v as Record<string | number, unknown>)[seg] : undefined;
  return v;
}

/** A value as a message shows it: JSON, cut at 60 characters; NaN and infinities by name (JSON says null). */
export function show(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : `a ${v < 0 ? 'negative ' : ''}number too large to represent`;
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Problems shown for one file at most; the rest are counted (a bad generated file can hold thousands). */
export const MAX_PROBLEMS = 50;

/** Sorts problems by position and keeps the first MAX_PROBLEMS, then one saying how many more there are. */
export function orderedProblems(problems: InputProblem[]): InputProblem[] {
  const sorted = [...problems].sort((x, y) => (x.loc.line ?? 0) - (y.loc.line ?? 0) || (x.loc.column ?? 0) - (y.loc.column ?? 0));
  if (sorted.length <= MAX_PROBLEMS) return sorted;
  const first = sorted[MAX_PROBLEMS]!;
  return [...sorted.slice(0, MAX_PROBLEMS), { loc: first.loc, message: `and ${sorted.length - MAX_PROBLEMS} more problem(s) from here on` }];
}

const TYPE_WORDS: ReadonlyMap<string, string> = new Map([
  ['integer', 'a whole number'],
  ['number', 'a number'],
  ['string', 'a string'],
  ['object', 'a mapping of keys to values'],
  ['array', 'a list'],
  ['boolean', 'true or false'],
]);

/**
 * Drops the noise of `anyOf` alternatives: the branch whose own type does not fit the value
 * is not what the user meant, so only errors of the other branches are kept.
 */
function pruneAnyOf(errors: ErrorObject[]): { errors: ErrorObject[]; shapeless: ErrorObject[] } {
  const anyOfs = errors.filter((e) => e.keyword === 'anyOf');
  let kept = errors.filter((e) => e.keyword !== 'anyOf');
  const shapeless: ErrorObject[] = [];
  for (const a of anyOfs) {
    const prefix = `${a.schemaPath}/`;
    const branchOf = (e: ErrorObject) => e.schemaPath.slice(prefix.length).split('/')[0];
    const wrongShape = new Set(
      kept.filter((e) => e.schemaPath === `${prefix}${branchOf(e)}/type` && e.instancePath === a.instancePath).map(branchOf),
    );
    const branches = new Set(kept.filter((e) => e.schemaPath.startsWith(prefix)).map(branchOf));
    if ([...branches].every((b) => wrongShape.has(b))) {
      kept = kept.filter((e) => !e.schemaPath.startsWith(prefix));
      shapeless.push(a);
    } else {
      kept = kept.filter((e) => !(e.schemaPath.startsWith(prefix) && wrongShape.has(branchOf(e))));
    }
  }
  return { errors: kept, shapeless };
}

function messageFor(e: ErrorObject, doc: LocatedDoc, path: DocPath): string {
  const field = doc.describe(path);
  const found = ` (found ${show(valueAt(doc.data, path))})`;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      return `unknown key ${show(String(p.additionalProperty))} in ${field}${allowed.length ? ` (allowed: ${allowed.join(', ')})` : ''}`;
    }
    case 'required':
      return `${field} is missing "${String(p.missingProperty)}"`;
    case 'type':
      return `${field} must be ${String(p.type).split(',').map((t) => TYPE_WORDS.get(t) ?? t).join(' or ')}${found}`;
    case 'enum':
      return `${field} must be one of ${(p.allowedValues as unknown[]).map((v) => String(v)).join(', ')}${found}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${field} ${e.message ?? 'is out of range'}${found}`;
    case 'minItems':
      return `${field} must list at least ${String(p.limit)} item(s)`;
    case 'maxItems':
      return `${field} must list at most ${String(p.limit)} item(s)`;
    case 'maxProperties':
      return `${field} must have at most ${String(p.limit)} keys`;
    case 'minLength':
      return `${field} must not be empty`;
    case 'maxLength':
      return `${field} is longer than ${String(p.limit)} characters`;
    default:
      return `${field} ${e.message ?? 'is not valid'}`;
  }
}

/** Maps ajv errors to located problems, one per error, in document order. */
export function schemaProblems(errors: ErrorObject[], doc: LocatedDoc): InputProblem[] {
  const { errors: kept, shapeless } = pruneAnyOf(errors);
  const problems = kept.map((e) => {
    const base = pathOf(e.instancePath);
    const isKey = e.keyword === 'additionalProperties';
    const path = isKey ? [...base, String((e.params as { additionalProperty: string }).additionalProperty)] : base;
    const pos = doc.locate(path, isKey);
    return { loc: { file: doc.file, ...pos }, message: messageFor(e, doc, base) };
  });
  for (const a of shapeless) {
    const path = pathOf(a.instancePath);
    const what = (a.parentSchema as { description?: string })?.description ?? 'one of the allowed forms';
    problems.push({
      loc: { file: doc.file, ...doc.locate(path) },
      message: `${doc.describe(path)} has the wrong form: expected ${what.replace(/\.$/, '')}`,
    });
  }
  return orderedProblems(problems);
}
