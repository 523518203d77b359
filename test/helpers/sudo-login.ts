// What the e2e tests of non-root logins share: whether sudo (and other tools) are there, a
// throwaway login user the emulated cluster's sshd lets in, and a sudoers drop-in written as
// an admin would (checked with `visudo -cf`, then installed under its exact name; the caller
// removes it by that name).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeUser, usersUnavailable } from './unix-users.ts';

/** Why these tests cannot run here (no sudo, visudo or one of `tools`; no users), or undefined. */
export function sudoUnavailable(tools: string[] = []): string | undefined {
  for (const tool of ['sudo', 'visudo', ...tools]) {
    try {
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (scripts/setup installs it)`;
    }
  }
  if (!fs.existsSync('/etc/sudoers.d')) return 'no /etc/sudoers.d';
  return usersUnavailable();
}

/**
 * A user who can log in to the emulated cluster in `clusterDir`: a shell, a password field
 * sshd (without PAM) does not take for a locked account, and the cluster's one authorized_keys
 * file readable (sshd reads it as the user).
 */
export function makeClusterLogin(name: string, work: string, clusterDir: string): void {
  makeUser(name, work);
  execFileSync('usermod', ['--shell', '/bin/sh', '--password', '*', name], { stdio: 'ignore' });
  fs.chmodSync(clusterDir, 0o711);
  fs.chmodSync(path.join(clusterDir, 'authorized_keys'), 0o644);
}

/** Installs `lines` as the sudoers drop-in `file` (no '.' or '~' in its name: sudo would skip it). */
export function installSudoers(file: string, lines: string[], work: string, by: string): void {
  const draft = path.join(work, 'sudoers');
  fs.writeFileSync(draft, `# ediv's ${by}: removed when it ends\n${lines.join('\n')}\n`, { mode: 0o440 });
  execFileSync('visudo', ['-cf', draft], { stdio: 'pipe' });
  fs.copyFileSync(draft, file);
  fs.chmodSync(file, 0o440);
}

/**
 * In a `describe` body: when `why` is set, one skipped test saying why, and true (the caller
 * returns, defining nothing else: no cluster is built for tests that cannot run).
 */
export function skipSuiteFor(why: string | undefined): boolean {
  if (!why) return false;
  it(`skipped: ${why}`, function () {
    this.skip();
  });
  return true;
}
