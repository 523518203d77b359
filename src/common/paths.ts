import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRoot } from './root.ts';

/** Controller state directory: /var/lib/ediv for root, else the XDG state directory. */
export function defaultStateDir(): string {
  if (process.env.EDIV_STATE_DIR) return process.env.EDIV_STATE_DIR;
  if (isRoot()) return '/var/lib/ediv';
  const xdg = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(xdg, 'ediv');
}

/**
 * Root of the ediv package (for running the agent of this very checkout): the nearest directory
 * above this module with a package.json (the module is src/common/paths.ts in the sources, a
 * chunk in dist/build-<digest>/ in the bundle).
 */
export const edivRoot = packageRoot(import.meta.dirname);

function packageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..', '..');
  }
}

export const edivBin = path.join(edivRoot, 'bin', 'ediv');
