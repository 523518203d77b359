// The manifest of an emulated cluster: a journal of everything `cluster up` made, written
// BEFORE each thing is made, so `cluster down` can remove it all even after a crash.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../common/atomic-write.ts';
import type { BackplaneKind } from '../protocol/cluster.ts';

export type Resource =
  | { kind: 'bridge'; name: string }
  | { kind: 'netns'; name: string }
  | { kind: 'link'; name: string }
  /** An sshd; `config` is its config file, used to check the pid still belongs to it. */
  | { kind: 'sshd'; host: string; pid: number; config: string }
  /** A file or directory (removed recursively). */
  | { kind: 'path'; path: string };

export interface Manifest {
  version: 1;
  instance: number;
  hosts: number;
  /** Whether `up` created the cluster directory itself (then `down` removes it when empty). */
  createdDir: boolean;
  backplane: BackplaneKind;
  /** Host numbers (1-based) that are bare: their sshd cannot see this ediv, the controller brings the agent. */
  bare?: number[];
  resources: Resource[];
}

export function manifestPath(dir: string): string {
  return path.join(dir, 'manifest.json');
}

export function readManifest(dir: string): Manifest | undefined {
  const file = manifestPath(dir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

/** Writes atomically (rename), so a crash never leaves half a manifest. */
export function writeManifest(dir: string, m: Manifest): void {
  const file = manifestPath(dir);
  writeJsonAtomic(file, m, { mode: 0o600 });
}

function sameResource(a: Resource, b: Resource): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Journals a resource (once) before it is created. */
export function journal(dir: string, m: Manifest, r: Resource): void {
  if (m.resources.some((x) => sameResource(x, r))) return;
  m.resources.push(r);
  writeManifest(dir, m);
}
