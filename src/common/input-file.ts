// Reading a user-supplied input file with a size bound, so a huge file is refused at once instead
// of filling memory. Errors are InputErrors naming the file.
//
// The bound holds for what is read, not only for what stat said: the file is opened once
// (O_NONBLOCK: opening a FIFO does not wait for a writer), checked (fstat) on that descriptor, and
// read into a buffer of at most maxBytes + 1 bytes. A file that grows between the check and the
// read, or a /proc-like file whose size stat reports as 0, is refused as too large rather than
// read whole.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { InputError } from './errors.ts';

export async function readBoundedFile(file: string, maxBytes: number, what = 'file'): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw InputError.at(file, undefined, undefined, `cannot read the ${what}: ${describeFsError(err)}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw InputError.at(file, undefined, undefined, 'not a regular file');
    if (st.size > maxBytes) throw fileTooLarge(file, st.size, maxBytes, what);
    return await readUpTo(fh, file, st.size, maxBytes, what);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw InputError.at(file, undefined, undefined, `cannot read the ${what}: ${describeFsError(err)}`);
  } finally {
    await fh.close().catch(() => {});
  }
}

/**
 * The whole content, refused as soon as it is found to be over maxBytes. The buffer is the size
 * stat gave (+1, to see growth); it grows, up to maxBytes + 1, only for a file that grew.
 */
async function readUpTo(fh: FileHandle, file: string, size: number, maxBytes: number, what: string): Promise<Buffer> {
  let buf = Buffer.allocUnsafe(size + 1);
  let got = 0;
  for (;;) {
    if (got === buf.length) {
      if (got > maxBytes) throw fileTooLarge(file, got, maxBytes, what, 'at least ');
      const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(2 * buf.length, 64 * 1024)));
      buf.copy(bigger, 0, 0, got);
      buf = bigger;
    }
    const { bytesRead } = await fh.read(buf, got, buf.length - got, null);
    if (bytesRead === 0) return buf.subarray(0, got);
    got += bytesRead;
  }
}

export function fileTooLarge(file: string, size: number, maxBytes: number, what = 'file', atLeast = ''): InputError {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  return InputError.at(file, undefined, undefined, `the ${what} is too large (${atLeast}${mb(size)}; the limit is ${mb(maxBytes)})`);
}

const FS_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
};

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return (code && Object.hasOwn(FS_ERRORS, code) ? FS_ERRORS[code] : undefined) ?? (err as Error).message;
}
