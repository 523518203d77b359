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

/** Root of the ediv source tree (for running the agent of this very checkout). */
export const edivRoot = path.resolve(import.meta.dirname, '..', '..');
export const edivBin = path.join(edivRoot, 'bin', 'ediv');
