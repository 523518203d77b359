// The one atomic file write: readers see the old content or the new, never half of either.
import fs from 'node:fs';
import path from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0o644 less the umask). */
  mode?: number;
  /** fsync the data and the directory, so the write survives a crash of the machine too. */
  durable?: boolean;
}

export function writeFileAtomic(file: string, text: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', opts.mode);
  try {
    if (typeof text === 'string') fs.writeSync(fd, text);
    else for (let off = 0; off < text.length; ) off += fs.writeSync(fd, text, off);
    if (opts.durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (opts.durable) fsyncDir(dir);
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
