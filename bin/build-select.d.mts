// Types of bin/build-select.mjs (which build bin/ediv runs; see there).

/** One recorded stat: [path relative to the root, size, mtimeMs, ctimeMs, ino], or [path, null] when missing. */
export type StatEntry = [string, number, number, number, number] | [string, null];

/** dist/build-<digest>/manifest.json. */
export interface Manifest {
  /** inputDigest() of the sources the build was made from. */
  digest: string;
  /** When the stats were recorded (ms since the epoch): the newest record wins. */
  recordedAt: number;
  inputs: StatEntry[];
}

export declare const MANIFEST: string;
export declare const BUNDLE_MAIN: string;
export declare const AGENT_BUNDLE: string;
export declare const EXTRA_INPUTS: readonly string[];
export declare function sourceTree(root: string): { files: string[]; dirs: string[] };
export declare function inputDigest(root: string): string;
export declare function buildName(digest: string): string;
export declare function inputStats(root: string): StatEntry[];
export declare function statsUnchanged(root: string, entries: StatEntry[]): boolean;
export declare function builds(root: string): { dir: string; manifest: Manifest }[];
/** The module bin/ediv imports: the fresh build's main.js, else src/cli/main.ts. */
export declare function mainModule(root: string): string;
