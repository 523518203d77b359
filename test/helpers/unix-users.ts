// Throwaway Unix users for tests that need controllers run by different people (owners of labs
// on a shared cluster): made with useradd, removed with userdel by exact name, even when a test
// fails. A user gets a private home directory under the suite's work directory.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** Copies `file` into the user's home, owned by the user, mode 0600; returns the copy's path. */
  own(file: string, as?: string): string;
  /** Runs `argv` as this user (setpriv: real and effective ids, no supplementary groups). */
  run(argv: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Why users cannot be made here (not root, no useradd), or undefined. */
export function usersUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'making test users needs root';
  for (const tool of ['useradd', 'userdel', 'setpriv']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}

function idOf(name: string, flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
}

function exists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Removes user `name` (and its own group) when it exists. */
export function removeUser(name: string): void {
  if (exists(name)) execFileSync('userdel', [name], { stdio: 'ignore' });
}

/** Makes user `name` afresh (one left by an interrupted run is removed first), home in `parent`. */
export function makeUser(name: string, parent: string): TestUser {
  removeUser(name);
  execFileSync('useradd', ['--system', '--no-create-home', '--user-group', '--shell', '/usr/sbin/nologin', name], { stdio: 'ignore' });
  const uid = idOf(name, '-u');
  const gid = idOf(name, '-g');
  const home = path.join(parent, name);
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  fs.chownSync(home, uid, gid);
  return {
    name,
    uid,
    gid,
    home,
    own(file, as = path.basename(file)) {
      const copy = path.join(home, as);
      fs.copyFileSync(file, copy);
      fs.chownSync(copy, uid, gid);
      fs.chmodSync(copy, 0o600);
      return copy;
    },
    async run(argv, opts = {}) {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, USER: name, LOGNAME: name, ...opts.env };
      const r = await execa('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...argv], {
        reject: false,
        env,
        extendEnv: false,
        cwd: home,
        timeout: opts.timeoutMs ?? 300_000,
      });
      return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
  };
}
