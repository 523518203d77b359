// The one atomic file write: readers see the old content or the new, never half of either.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o644 less the umask). */
  mode?: number;
  /** fsync the data and the directory, so the write survives a crash of the machine too. */
  durable?: boolean;
}

/**
 * Writes `file` through a temporary file renamed over it. The temporary file is created
 * exclusively under an unguessable name (O_CREAT|O_EXCL never follows a link), and the rename
 * replaces whatever `file` is — a symbolic link planted there is replaced, never written
 * through. So a directory others can write to cannot redirect the write elsewhere.
 */
export function writeFileAtomic(file: string, text: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const { fd, tmp } = createExclusive(file, opts.mode);
  try {
    try {
      if (typeof text === 'string') fs.writeSync(fd, text);
      else for (let off = 0; off < text.length; ) off += fs.writeSync(fd, text, off);
      if (opts.durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  if (opts.durable) fsyncDir(dir);
}

/** A new temporary file beside `file`, created exclusively (a name taken, even by a link, is skipped). */
function createExclusive(file: string, mode: number | undefined): { fd: number; tmp: string } {
  for (let attempt = 0; ; attempt++) {
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      return { fd: fs.openSync(tmp, 'wx', mode ?? 0o644), tmp };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) throw err;
    }
  }
}

export function writeJsonAtomic(file: string, value: unknown, opts: AtomicWriteOptions = {}): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', opts);
}

/** Makes a rename or a new file in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
