// The segmentator registry: built-ins by name or EDIV alias (case-insensitive), and plugins.
//
// A plugin is code, run with ediv's privileges (root on the controller), so it comes from one
// place only: an explicit --segmentator on the command line (resolveSegmentator). A cluster
// file — which may come from anyone — can only name a built-in (clusterSegmentator; the cluster
// loader refuses anything else at its line). A plugin is a file path (./my-algorithm.mjs, .js,
// .ts, .mts — relative to the working directory) or the name of a package installed with
// ediv (resolved from ediv's own node_modules, never from the working directory). URLs (data:,
// http:, https:, file:, node:, ...) are refused. A plugin module exports its Segmentator as
// default or as `segmentator`; it is wrapped, so that a throw or a bad mapping becomes a clear
// error naming the plugin.
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError, OperationError } from '../common/errors.ts';
import type { Cluster } from '../protocol/cluster.ts';
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

/**
 * The segmentator a cluster names as its default: a built-in, never a module. loadCluster has
 * already refused anything else at its line; this guards Cluster objects made elsewhere
 * (state records, code).
 */
export function clusterSegmentator(cluster: Pick<Cluster, 'segmentator' | 'source'>): Segmentator {
  const builtin = findBuiltin(cluster.segmentator);
  if (builtin) return builtin;
  throw InputError.at(
    cluster.source.path,
    undefined,
    undefined,
    `segmentator ${JSON.stringify(cluster.segmentator.slice(0, 60))} is not a built-in (${builtinNames()}); a cluster file names built-ins only: plugins load only from --segmentator`,
  );
}

function builtinNames(): string {
  return listSegmentators().map((s) => s.name).join(', ');
}

/** Plugin files ediv imports: ES modules, JavaScript or TypeScript. */
const PLUGIN_FILE = /\.(m?js|m?ts)$/;
/** A URL scheme ("data:", "https:", "node:"): two letters at least, so no Windows drive letter. */
const URL_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]+:/;
/** An npm package name (optionally @scope/), optionally with a subpath: no dots first, no '..' parts. */
const PACKAGE = /^(?:@[a-z0-9~][\w.~-]*\/)?[a-z0-9~][\w.~-]*(?:\/[\w~-][\w.~-]*)*$/i;

function looksLikePath(spec: string): boolean {
  return spec.startsWith('.') || path.isAbsolute(spec) || PLUGIN_FILE.test(spec);
}

function refusePlugin(spec: string, why: string): never {
  throw InputError.commandLine('--segmentator', `${JSON.stringify(spec.slice(0, 200))}: ${why}`);
}

/**
 * What `import()` is given for a --segmentator value that is no built-in: a file: URL of the
 * path (resolved against the working directory), or a package name (resolved by Node from
 * ediv's own node_modules). Anything else is refused before any import.
 */
export function pluginSpecifier(spec: string): string {
  if (spec.trim() === '' || /[\u0000-\u001f\u007f]/.test(spec)) refusePlugin(spec, 'not a file path or package name');
  if (URL_SCHEME.test(spec)) {
    refusePlugin(spec, 'URLs (data:, http:, https:, file:, node:, ...) are refused: name a plugin file by its path (./my-algorithm.mjs) or an installed package');
  }
  if (looksLikePath(spec)) {
    if (!PLUGIN_FILE.test(spec)) refusePlugin(spec, 'a plugin file is an ES module ending in .js, .mjs, .ts or .mts');
    return pathToFileURL(path.resolve(process.cwd(), spec)).href;
  }
  if (isBuiltin(spec)) refusePlugin(spec, "that is a Node.js module, not a segmentator plugin");
  if (!PACKAGE.test(spec) || spec.split('/').includes('..')) {
    refusePlugin(spec, `not a built-in segmentator (${builtinNames()}), a plugin file path (./my-algorithm.mjs) or a package name`);
  }
  return spec;
}

/**
 * A --segmentator value: a built-in by name/alias, else a plugin module by path or package
 * name (the only way plugin code is loaded). Never give it a cluster file's value.
 */
export async function resolveSegmentator(spec: string): Promise<Segmentator> {
  const builtin = findBuiltin(spec);
  if (builtin) return builtin;
  const specifier = pluginSpecifier(spec);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw InputError.commandLine('--segmentator', `segmentator ${JSON.stringify(spec)} is neither a built-in (${builtinNames()}) nor a loadable module: ${why}`);
  }
  const candidate = (mod.default && typeof mod.default === 'object' ? mod.default : undefined) ?? mod.segmentator;
  const shapeProblem = segmentatorShapeProblem(candidate);
  if (shapeProblem) {
    throw InputError.commandLine('--segmentator', `segmentator plugin ${JSON.stringify(spec)}: ${shapeProblem}`);
  }
  return checkedPlugin(candidate as Segmentator, spec);
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
