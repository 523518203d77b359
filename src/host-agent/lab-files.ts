// The lab files on the host. An apply carries the files its fragment names (ApplyRequest.files,
// keyed by labFileKey of src/protocol/lab-files.ts); the agent stores them in
//
//   <stateDir>/deployments/<d>/files/<digest>/<key>
//
// where <digest> names the whole set: an identical apply writes nothing, a changed set is
// staged beside the old one and takes its place at once (applied.json names the set in use,
// older sets are then removed). Exec and filetree steps resolve the fragment's references
// there (labFileResolver): the agent never opens a path of the controller. The files go with
// the deployment's directory when the deployment is destroyed.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, writeFileAtomic } from '../common/atomic-write.ts';
import { InputError, type InputProblem } from '../common/errors.ts';
import type { LabFile } from '../protocol/agent.ts';
import {
  LAB_FILE_LIMITS,
  formatBytes,
  labFileKey,
  labFileParent,
  labFilePathProblem,
  namePattern,
  type LabFileLimits,
} from '../protocol/lab-files.ts';
import type { Scenario } from '../scenario/model.ts';
import { sortProblems } from '../scenario/index.ts';
import type { LabFileResolver } from './drivers/driver.ts';

const FIELDS = ['path', 'type', 'mode', 'dataBase64'];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Bytes a base64 text decodes to. */
function decodedLength(b64: string): number {
  return (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
}

/** What is wrong with ApplyRequest.files, per field (empty: nothing). */
export function labFilesProblems(v: unknown, limits: LabFileLimits = LAB_FILE_LIMITS): { field: string; message: string }[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return [{ field: 'files', message: 'must be an array' }];
  if (v.length > limits.hostFiles) return [{ field: 'files', message: `has ${v.length} entries, over the limit of ${limits.hostFiles}` }];
  const out: { field: string; message: string }[] = [];
  const types = new Map<string, string>();
  let total = 0;
  v.forEach((e: unknown, i) => {
    const f = `files[${i}]`;
    if (!e || typeof e !== 'object' || Array.isArray(e)) return out.push({ field: f, message: 'must be a JSON object' });
    const o = e as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!FIELDS.includes(k)) out.push({ field: `${f}.${k}`, message: 'unknown field' });
    const bad = labFilePathProblem(o.path, limits);
    if (bad) out.push({ field: `${f}.path`, message: bad });
    else if (types.has(o.path as string)) out.push({ field: `${f}.path`, message: `${o.path} is listed twice` });
    if (o.type !== 'file' && o.type !== 'dir') out.push({ field: `${f}.type`, message: 'must be "file" or "dir"' });
    if (!Number.isInteger(o.mode) || (o.mode as number) < 0 || (o.mode as number) > 0o777) {
      out.push({ field: `${f}.mode`, message: 'must be permission bits, an integer 0..0o777' });
    }
    if (o.type === 'file') {
      const data = o.dataBase64;
      if (typeof data !== 'string' || data.length % 4 !== 0 || !BASE64.test(data)) {
        out.push({ field: `${f}.dataBase64`, message: 'must be base64' });
      } else {
        const n = decodedLength(data);
        total += n;
        if (n > limits.fileBytes) out.push({ field: `${f}.dataBase64`, message: `is ${formatBytes(n)}, over the limit of ${formatBytes(limits.fileBytes)} per file` });
      }
    } else if (o.dataBase64 !== undefined) {
      out.push({ field: `${f}.dataBase64`, message: 'only a file has data' });
    }
    if (!bad && (o.type === 'file' || o.type === 'dir')) types.set(o.path as string, o.type);
  });
  if (total > limits.hostBytes) out.push({ field: 'files', message: `carry ${formatBytes(total)}, over the limit of ${formatBytes(limits.hostBytes)} per host` });
  for (const p of types.keys()) {
    for (let prev = p, a = labFileParent(p); a !== prev; prev = a, a = labFileParent(a)) {
      if (types.get(a) !== 'file') continue;
      out.push({ field: 'files', message: `${p} is below ${a}, which is a file` });
      break;
    }
  }
  return out;
}

/**
 * Refuses (InputError) a fragment that names a file the request does not carry: each exec
 * type="file" needs its file, each filetree source its file or directory (a pattern, its
 * directory). Checked before anything is made.
 */
export function checkLabFiles(scenario: Scenario, files: LabFile[] = []): void {
  const types = new Map(files.map((f) => [f.path, f.type]));
  const problems: InputProblem[] = [];
  const need = (vm: string, what: string, reference: string, key: string, type: 'file' | 'dir' | undefined, loc: InputProblem['loc'] | undefined): void => {
    const got = types.get(key);
    if (got && (!type || got === type)) return;
    problems.push({
      loc: loc ?? { file: scenario.source.path },
      message: `VM ${vm}: ${what} ${JSON.stringify(reference)}: the request carries no ${type === 'dir' ? 'directory' : type ?? 'file or directory'} ${key} (ApplyRequest.files)`,
    });
  };
  for (const vm of scenario.vms) {
    for (const e of vm.execs) if (e.type === 'file') need(vm.name, 'exec file', e.text.trim(), labFileKey(e.text), 'file', e.loc);
    for (const f of vm.filetrees) {
      const key = labFileKey(f.source);
      if (namePattern(path.posix.basename(key))) need(vm.name, 'filetree source', f.source.trim(), labFileParent(key), 'dir', f.loc);
      else need(vm.name, 'filetree source', f.source.trim(), key, undefined, f.loc);
    }
  }
  if (problems.length) throw new InputError(sortProblems(problems));
}

/** Names a set of lab files (its content, order aside). */
export function labFilesDigest(files: LabFile[]): string {
  const h = crypto.createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    h.update(`${f.path}\0${f.type}\0${f.mode}\0${f.type === 'file' ? f.dataBase64 : ''}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

function filesRoot(deploymentDir: string): string {
  return path.join(deploymentDir, 'files');
}

/**
 * Stores the request's lab files in the deployment's directory (durably; nothing is written when
 * the same set is there) and returns the set's digest, for applied.json.
 */
export function storeLabFiles(deploymentDir: string, files: LabFile[] = []): string {
  const digest = labFilesDigest(files);
  const root = filesRoot(deploymentDir);
  const target = path.join(root, digest);
  if (fs.existsSync(target)) return digest;
  const staging = path.join(root, `${digest}.new`);
  fs.rmSync(staging, { recursive: true, force: true }); // left by an agent that died here
  fs.mkdirSync(staging, { recursive: true });
  const dirs = files.filter((f) => f.type === 'dir').sort((a, b) => a.path.length - b.path.length);
  for (const d of dirs) fs.mkdirSync(path.join(staging, d.path), { recursive: true });
  // Shortest first: an atomic write's temporary name (longer than its file's) never replaces a file written before.
  for (const f of files.filter((x) => x.type === 'file').sort((a, b) => a.path.length - b.path.length)) {
    const file = path.join(staging, f.path);
    writeFileAtomic(file, Buffer.from(f.type === 'file' ? f.dataBase64 : '', 'base64'), { mode: f.mode, durable: true });
    fs.chmodSync(file, f.mode); // exactly, whatever the umask
  }
  for (const d of dirs.reverse()) fs.chmodSync(path.join(staging, d.path), d.mode);
  fs.renameSync(staging, target);
  fsyncDir(root);
  return digest;
}

/** Removes the deployment's lab-file sets other than `keep` (the one applied.json names). */
export function removeOtherLabFiles(deploymentDir: string, keep: string): void {
  const root = filesRoot(deploymentDir);
  let names: string[] = [];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const n of names) if (n !== keep) fs.rmSync(path.join(root, n), { recursive: true, force: true });
}

/** Where the stored set `digest` of a deployment holds what a fragment names as `reference`. */
export function labFileResolver(deploymentDir: string, digest: string | undefined): LabFileResolver {
  const base = path.join(filesRoot(deploymentDir), digest ?? labFilesDigest([]));
  return (reference) => path.join(base, ...labFileKey(reference).split('/'));
}
