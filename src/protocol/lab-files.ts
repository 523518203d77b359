// Lab files: the files a fragment names — exec type="file" scripts and filetree sources — read by
// the controller (src/controller/lab-files.ts) and carried by ApplyRequest.files to the agent,
// which stores them in the deployment's directory (src/host-agent/lab-files.ts). Both sides name
// a reference's files the same way, here, so the agent never needs a controller path.
//
// A reference (the element's text) becomes a relative, normalized key by its meaning on the
// controller: relative to the scenario file's directory → `lab/<path>`, absolute → `abs/<path>`,
// n leading `..` (above the scenario's directory) → `up-<n>/<path>`. A directory's contents are
// keyed below its key, so `conf/www` (a directory) carries `lab/conf/www/index.html`.

const MiB = 1024 * 1024;

/** What one apply may carry (the controller refuses more, the agent checks again). */
export const LAB_FILE_LIMITS = {
  /** Bytes of one file. */
  fileBytes: 16 * MiB,
  /** Bytes of all the files of one host's fragment. */
  hostBytes: 64 * MiB,
  /** Entries (files and directories) of one host's fragment. */
  hostFiles: 10_000,
  /** UTF-8 bytes of one key, and of one of its segments. */
  pathBytes: 1024,
  segmentBytes: 255,
} as const;

export type LabFileLimits = { [K in keyof typeof LAB_FILE_LIMITS]: number };

/** The key of the file, directory or `dir/*` pattern a fragment names as `reference`. */
export function labFileKey(reference: string): string {
  const ref = reference.trim();
  const absolute = ref.startsWith('/');
  const segments: string[] = [];
  let up = 0;
  for (const s of ref.split('/')) {
    if (s === '' || s === '.') continue;
    if (s !== '..') segments.push(s);
    else if (segments.length) segments.pop();
    else if (!absolute) up++;
  }
  return [absolute ? 'abs' : up ? `up-${up}` : 'lab', ...segments].join('/');
}

/** The key of the directory that holds `key` (a pattern's directory). */
export function labFileParent(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? key : key.slice(0, i);
}

const TOP = /^(lab|abs|up-[1-9][0-9]{0,3})$/;

/** What is wrong with a key of ApplyRequest.files (undefined: nothing). */
export function labFilePathProblem(key: unknown, limits: LabFileLimits = LAB_FILE_LIMITS): string | undefined {
  if (typeof key !== 'string' || key === '') return 'must be a non-empty string';
  if (key.includes('\0')) return 'must not contain NUL';
  if (Buffer.byteLength(key) > limits.pathBytes) return `is longer than ${limits.pathBytes} bytes`;
  const segments = key.split('/');
  if (!TOP.test(segments[0]!)) return 'must start with lab/, abs/ or up-<n>/ (a relative, normalized path)';
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') return 'must be relative and normalized (no empty, "." or ".." segment)';
    if (Buffer.byteLength(s) > limits.segmentBytes) return `has a segment longer than ${limits.segmentBytes} bytes`;
  }
  return undefined;
}

/**
 * The name pattern of a filetree source whose last segment has `*` or `?` (the `dir/*` form:
 * the directory's entries whose names match, dot files excepted); undefined for a plain name.
 */
export function namePattern(name: string): RegExp | undefined {
  if (!name.includes('*') && !name.includes('?')) return undefined;
  return new RegExp('^' + name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
}

/** The entries of a directory that a name pattern copies: matching, not dot files, sorted. */
export function patternMatches(names: string[], pattern: RegExp): string[] {
  return names.filter((n) => pattern.test(n) && !n.startsWith('.')).sort();
}

/** 16 MiB, 12.5 MiB, 1.2 KiB, 300 bytes. */
export function formatBytes(n: number): string {
  if (n >= MiB) return `${+(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
