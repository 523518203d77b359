// The segmentator registry: built-ins by name or EDIV alias (case-insensitive), and external
// plugins loaded by path (./my-algorithm.js, .mjs, .ts — relative to the working directory)
// or by package name. A plugin module exports its Segmentator as default or as `segmentator`.
// Plugins are wrapped: a throw or a bad mapping becomes a clear error naming the plugin.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError, OperationError } from '../common/errors.ts';
import type { Mapping, SegmentInput, Segmentator } from './api.ts';
import { constraints } from './constraints.ts';
import { dynamic } from './dynamic.ts';
import { mincut } from './mincut.ts';
import { roundRobin } from './round-robin.ts';
import { mappingProblems } from './validate.ts';
import { weighted } from './weighted.ts';

export const builtinSegmentators: readonly Segmentator[] = [roundRobin, weighted, dynamic, constraints, mincut];

export interface SegmentatorInfo {
  name: string;
  description: string;
  aliases: string[];
  builtin: boolean;
}

export function listSegmentators(): SegmentatorInfo[] {
  return builtinSegmentators.map((s) => ({ name: s.name, description: s.description, aliases: s.aliases ?? [], builtin: true }));
}

export function findBuiltin(name: string): Segmentator | undefined {
  const key = name.toLowerCase();
  return builtinSegmentators.find((s) => s.name === key || (s.aliases ?? []).some((a) => a.toLowerCase() === key));
}

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || path.isAbsolute(spec) || /\.(m?js|ts|mts)$/.test(spec);
}

/** Built-in by name/alias, else a plugin module by path or package name. */
export async function resolveSegmentator(nameOrPath: string): Promise<Segmentator> {
  const builtin = findBuiltin(nameOrPath);
  if (builtin) return builtin;
  const isPath = looksLikePath(nameOrPath);
  const specifier = isPath ? pathToFileURL(path.resolve(process.cwd(), nameOrPath)).href : nameOrPath;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    const known = listSegmentators().map((s) => s.name).join(', ');
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw InputError.commandLine('--segmentator', `segmentator ${JSON.stringify(nameOrPath)} is neither a built-in (${known}) nor a loadable module: ${why}`);
  }
  const candidate = (mod.default && typeof mod.default === 'object' ? mod.default : undefined) ?? mod.segmentator;
  const shapeProblem = segmentatorShapeProblem(candidate);
  if (shapeProblem) {
    throw InputError.commandLine('--segmentator', `segmentator plugin ${JSON.stringify(nameOrPath)}: ${shapeProblem}`);
  }
  return checkedPlugin(candidate as Segmentator, nameOrPath);
}

/** Why `x` is not a Segmentator, or undefined when it is one. */
export function segmentatorShapeProblem(x: unknown): string | undefined {
  if (!x || typeof x !== 'object') return 'the module has no default export nor `segmentator` export that is an object';
  const s = x as Record<string, unknown>;
  if (typeof s.name !== 'string' || !s.name) return 'its `name` must be a non-empty string';
  if (typeof s.description !== 'string') return 'its `description` must be a string';
  if (typeof s.segment !== 'function') return 'its `segment` must be a function (input) => mapping';
  if (s.aliases !== undefined && !(Array.isArray(s.aliases) && s.aliases.every((a) => typeof a === 'string'))) {
    return 'its `aliases`, when given, must be an array of strings';
  }
  return undefined;
}

/** Wraps a plugin so that its failures and bad mappings are reported naming it. */
function checkedPlugin(s: Segmentator, spec: string): Segmentator {
  const label = `segmentator plugin "${s.name}" (${spec})`;
  return {
    name: s.name,
    description: s.description,
    aliases: s.aliases,
    async segment(input: SegmentInput): Promise<Mapping> {
      let mapping: unknown;
      try {
        mapping = await s.segment(input);
      } catch (err) {
        if (err instanceof InputError) {
          throw new InputError(err.problems.map((p) => ({ ...p, message: `${label}: ${p.message}` })));
        }
        throw new OperationError(`${label} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      assertValidMapping(input, mapping, label);
      return mapping as Mapping;
    },
  };
}

/** Throws OperationError naming `who` when the mapping breaks the input's rules. */
export function assertValidMapping(input: SegmentInput, mapping: unknown, who: string): void {
  const problems = mappingProblems(input, mapping);
  if (problems.length) {
    throw new OperationError(`${who} returned a bad mapping: ${problems.join('; ')}`, { details: { problems } });
  }
}
