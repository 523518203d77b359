// Root checks: ediv makes namespaces, links and mounts, which only root can.
import { OperationError } from './errors.ts';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Throws an OperationError saying what needs root and why, when this process is not root. */
export function requireRoot(what: string, why: string): void {
  if (!isRoot()) throw new OperationError(`${what} needs root: ${why}. Run it as root (for instance with sudo).`);
}
