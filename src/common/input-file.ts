// Reading a user-supplied input file with a size bound checked before the read, so a huge
// file is refused at once instead of filling memory. Errors are InputErrors naming the file.
import { readFile, stat } from 'node:fs/promises';
import { InputError } from './errors.ts';

export async function readBoundedFile(file: string, maxBytes: number, what = 'file'): Promise<Buffer> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw InputError.at(file, undefined, undefined, 'not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw InputError.at(file, undefined, undefined, `cannot read the ${what}: ${describeFsError(err)}`);
  }
  if (size > maxBytes) throw fileTooLarge(file, size, maxBytes, what);
  try {
    return await readFile(file);
  } catch (err) {
    throw InputError.at(file, undefined, undefined, `cannot read the ${what}: ${describeFsError(err)}`);
  }
}

export function fileTooLarge(file: string, size: number, maxBytes: number, what = 'file'): InputError {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  return InputError.at(file, undefined, undefined, `the ${what} is too large (${mb(size)}; the limit is ${mb(maxBytes)})`);
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
  return (code && FS_ERRORS[code]) ?? (err as Error).message;
}
