// Checks on the local files SSH trust rests on, as OpenSSH makes them:
// - a private identity key must be readable by its owner only (OpenSSH refuses a key with any
//   group or other permission: "UNPROTECTED PRIVATE KEY FILE!");
// - a known_hosts file must not be writable by others, nor sit in a directory others can write
//   (without the sticky bit): anyone could add their key for a host, or replace the file.
//   Group-writable is allowed: with a umask of 002 a user's files are group-writable by their
//   own private group.
// Both must be regular files: a FIFO, /dev/zero or a huge file as a key (from a careless
// IdentityFile line) would hang the controller or exhaust its memory.
import { statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';

/** OpenSSH's MAX_KEY_FILE_SIZE: no private key file is larger. */
export const MAX_KEY_FILE_BYTES = 1024 * 1024;

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Why a private key file must not be used, or undefined when it may (or does not exist). */
export function privateKeyProblem(file: string): string | undefined {
  const st = statOrUndefined(file);
  if (!st) return undefined;
  if (!st.isFile()) return 'it is not a regular file';
  if (st.size > MAX_KEY_FILE_BYTES) return `it is over ${MAX_KEY_FILE_BYTES / 1024} KiB, too large for a key`;
  if (st.mode & 0o077) {
    return `its permissions ${octal(st.mode)} are too open: a private key must be accessible by its owner only (chmod 600 ${file})`;
  }
  return undefined;
}

/** Why a known_hosts file cannot be trusted, or undefined when it can (or does not exist). */
export function knownHostsProblem(file: string): string | undefined {
  const st = statOrUndefined(file);
  if (st && !st.isFile()) return 'it is not a regular file';
  if (st && st.mode & 0o002) return `it is writable by others (permissions ${octal(st.mode)}): anyone could add a host key to it (chmod o-w ${file})`;
  const dir = path.dirname(file);
  const d = statOrUndefined(dir);
  if (d && d.mode & 0o002 && !(d.mode & 0o1000)) {
    return `its directory ${dir} is writable by others without the sticky bit (permissions ${octal(d.mode)}): anyone could replace it`;
  }
  return undefined;
}
