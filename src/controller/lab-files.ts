// The lab's files travel with the lab: every file a host's fragment names — exec type="file"
// scripts and filetree sources (a file, a directory copied recursively, or a `dir/*` pattern) —
// is read here and sent with that host's apply request (ApplyRequest.files, keyed by labFileKey
// of src/protocol/lab-files.ts), so the hosts need no copy of the lab.
//
// LabFiles.scan looks at every file the scenario names (stat only) before anything is planned,
// recorded or touched: a missing file, one over the per-file limit, a symbolic link out of the
// lab, a directory cycle is bad input (InputError at the referencing element's line).
// checkPlan applies the per-host limits to each fragment of a plan before it is recorded;
// read(host) reads the bytes when the host's request is sent.
//
// Symbolic links are followed (the agent gets the content, never a link). The path an element
// names may lead anywhere (it is written in the scenario); a link met below it — inside a
// directory that is copied, or among a pattern's matches — must point inside the scenario's
// directory or inside that directory, else it is refused: a link hidden in a tree must not send
// files the scenario does not show (~/.ssh, /etc).
import fs from 'node:fs';
import path from 'node:path';
import { InputError, OperationError, type InputProblem, type SourceLocation } from '../common/errors.ts';
import type { LabFile } from '../protocol/agent.ts';
import type { Plan } from '../protocol/plan.ts';
import {
  LAB_FILE_LIMITS,
  formatBytes,
  labFileKey,
  labFileParent,
  labFilePathProblem,
  namePattern,
  patternMatches,
  type LabFileLimits,
} from '../protocol/lab-files.ts';
import type { Scenario } from '../scenario/model.ts';
import { sortProblems } from '../scenario/index.ts';

/** A file or directory to send: where it is on the controller, and its key. */
export interface LabEntry {
  key: string;
  type: 'file' | 'dir';
  mode: number;
  /** Bytes (0 for a directory). */
  size: number;
  source: string;
}

/** An element of a scenario that names lab files. */
export interface LabReference {
  kind: 'exec' | 'filetree';
  vm: string;
  /** The element's text, trimmed. */
  reference: string;
  loc?: SourceLocation;
}

/** The elements of a scenario's VMs that name lab files, in document order. */
export function labReferences(scenario: Scenario): LabReference[] {
  return scenario.vms.flatMap((vm) => [
    ...vm.execs
      .filter((e) => e.type === 'file')
      .map((e): LabReference => ({ kind: 'exec', vm: vm.name, reference: e.text.trim(), loc: e.loc })),
    ...vm.filetrees.map((f): LabReference => ({ kind: 'filetree', vm: vm.name, reference: f.source.trim(), loc: f.loc })),
  ]);
}

/** A reference that cannot be sent; the message says why. */
class Refused extends Error {}

function describe(r: LabReference): string {
  return `VM ${r.vm}: ${r.kind === 'exec' ? 'exec file' : 'filetree source'} ${JSON.stringify(r.reference)}`;
}

function isWithin(p: string, dir: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

export class LabFiles {
  /** The scenario file's directory: relative references start there. */
  readonly dir: string;
  private readonly limits: LabFileLimits;
  /** `<kind> <key>` → its entries, or why it cannot be sent. */
  private readonly scanned = new Map<string, LabEntry[] | string>();
  private readonly hosts = new Map<string, LabEntry[]>();
  private realDirCache?: string;

  private constructor(dir: string, limits: LabFileLimits) {
    this.dir = dir;
    this.limits = limits;
  }

  /**
   * Looks at every file the scenario's VMs name, relative to the scenario file's directory
   * (stat only). Throws one InputError listing every element whose files cannot be sent.
   */
  static scan(scenario: Scenario, scenarioPath: string | undefined, limits: LabFileLimits = LAB_FILE_LIMITS): LabFiles {
    const lab = new LabFiles(scenarioPath ? path.dirname(path.resolve(scenarioPath)) : process.cwd(), limits);
    const problems = labReferences(scenario).flatMap((r) => {
      const got = lab.entriesOf(r);
      return typeof got === 'string' ? [{ loc: r.loc ?? { file: scenario.source.path }, message: got }] : [];
    });
    if (problems.length) throw new InputError(sortProblems(problems));
    return lab;
  }

  /**
   * The entries each host of the plan is sent, checked against the per-host limits; throws an
   * InputError at the element that takes a host over a limit. Call before the plan is used;
   * returns it.
   */
  checkPlan(plan: Plan): Plan {
    const problems: InputProblem[] = [];
    this.hosts.clear();
    for (const hp of Object.values(plan.hosts)) {
      const byKey = new Map<string, LabEntry>();
      let bytes = 0;
      let over = false;
      for (const r of hp.fragment ? labReferences(hp.fragment) : []) {
        const got = this.entriesOf(r);
        if (typeof got === 'string') {
          problems.push({ loc: r.loc ?? { file: plan.scenario }, message: got });
          continue;
        }
        for (const e of got) {
          if (byKey.has(e.key)) continue;
          byKey.set(e.key, e);
          bytes += e.size;
        }
        const limit =
          byKey.size > this.limits.hostFiles
            ? `${byKey.size} files and directories, over the limit of ${this.limits.hostFiles} per host`
            : bytes > this.limits.hostBytes
              ? `${formatBytes(bytes)}, over the limit of ${formatBytes(this.limits.hostBytes)} per host`
              : undefined;
        if (limit && !over) {
          over = true;
          problems.push({
            loc: r.loc ?? { file: plan.scenario },
            message: `${describe(r)} takes the lab files sent to host ${hp.host} to ${limit}: place fewer of the VMs that name them on one host, or make the files smaller`,
          });
        }
      }
      this.hosts.set(hp.host, [...byKey.values()]);
    }
    if (problems.length) throw new InputError(sortProblems(problems));
    return plan;
  }

  /** What checkPlan chose to send to `host`, read now (bytes in base64). */
  read(host: string): LabFile[] {
    const entries = this.hosts.get(host);
    if (!entries) throw new OperationError(`internal: the lab files of host ${host} were not checked against the plan`);
    return entries.map((e): LabFile => {
      if (e.type === 'dir') return { path: e.key, type: 'dir', mode: e.mode };
      let data: Buffer;
      try {
        data = fs.readFileSync(e.source);
      } catch (err) {
        throw new OperationError(`lab file ${e.source} cannot be read: ${(err as Error).message}`);
      }
      if (data.length > this.limits.fileBytes) {
        throw new OperationError(`lab file ${e.source} grew to ${formatBytes(data.length)} during the deploy, over the limit of ${formatBytes(this.limits.fileBytes)} per file`);
      }
      return { path: e.key, type: 'file', mode: e.mode, dataBase64: data.toString('base64') };
    });
  }

  /** The entries of one reference (scanned once), or why they cannot be sent. */
  private entriesOf(r: LabReference): LabEntry[] | string {
    const id = `${r.kind} ${labFileKey(r.reference)}`;
    let got = this.scanned.get(id);
    if (got === undefined) {
      try {
        got = this.collect(r);
      } catch (err) {
        if (!(err instanceof Refused) && !(err as NodeJS.ErrnoException).code) throw err;
        got = `${describe(r)}: ${(err as Error).message}`;
      }
      this.scanned.set(id, got);
    }
    return got;
  }

  private realDir(): string {
    if (this.realDirCache === undefined) {
      try {
        this.realDirCache = fs.realpathSync(this.dir);
      } catch {
        this.realDirCache = this.dir;
      }
    }
    return this.realDirCache;
  }

  private collect(r: LabReference): LabEntry[] {
    const { limits } = this;
    const abs = path.resolve(this.dir, r.reference);
    const key = labFileKey(r.reference);
    const out: LabEntry[] = [];
    let bytes = 0;
    const add = (e: LabEntry): void => {
      const bad = labFilePathProblem(e.key, limits);
      if (bad) throw new Refused(`${e.source}: its name among the lab files (${e.key}) ${bad}`);
      out.push(e);
      bytes += e.size;
      if (out.length > limits.hostFiles) throw new Refused(`more than ${limits.hostFiles} files and directories, the limit per host`);
      if (bytes > limits.hostBytes) throw new Refused(`more than ${formatBytes(limits.hostBytes)} of files (the limit per host)`);
    };
    const pattern = r.kind === 'filetree' ? namePattern(path.basename(abs)) : undefined;
    if (pattern) {
      const dir = path.dirname(abs);
      const st = this.stat(dir);
      if (!st.isDirectory()) throw new Refused(`${dir} is not a directory`);
      const dirKey = labFileParent(key);
      add(this.entry(dirKey, dir, st));
      const inside = fs.realpathSync(dir);
      for (const name of patternMatches(fs.readdirSync(dir), pattern)) {
        this.visit(path.join(dir, name), `${dirKey}/${name}`, inside, new Set([inside]), add);
      }
      return out;
    }
    const st = this.stat(abs);
    if (r.kind === 'exec' && !st.isFile()) throw new Refused(`${abs} is not a regular file`);
    if (st.isFile()) add(this.entry(key, abs, st));
    else if (st.isDirectory()) {
      add(this.entry(key, abs, st));
      const real = fs.realpathSync(abs);
      this.walk(abs, key, real, new Set([real]), add);
    } else throw new Refused(`${abs} is not a regular file or a directory`);
    return out;
  }

  /** stat (following links) of a path the scenario names; a clear message when it is not there. */
  private stat(p: string): fs.Stats {
    try {
      return fs.statSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new Refused(`${p} does not exist`);
      if (code === 'ELOOP') throw new Refused(`${p} is a loop of symbolic links`);
      throw new Refused(`${p} cannot be read: ${(err as Error).message}`);
    }
  }

  private entry(key: string, source: string, st: fs.Stats): LabEntry {
    if (st.isDirectory()) return { key, type: 'dir', mode: st.mode & 0o777, size: 0, source };
    if (st.size > this.limits.fileBytes) {
      throw new Refused(`${source} is ${formatBytes(st.size)}, over the limit of ${formatBytes(this.limits.fileBytes)} per file`);
    }
    return { key, type: 'file', mode: st.mode & 0o777, size: st.size, source };
  }

  private walk(dir: string, key: string, inside: string, ancestors: Set<string>, add: (e: LabEntry) => void): void {
    for (const name of fs.readdirSync(dir).sort()) this.visit(path.join(dir, name), `${key}/${name}`, inside, ancestors, add);
  }

  /** One entry below a named directory: links followed when they stay in the lab (see the header). */
  private visit(src: string, key: string, inside: string, ancestors: Set<string>, add: (e: LabEntry) => void): void {
    let st = fs.lstatSync(src);
    if (st.isSymbolicLink()) {
      let real: string;
      try {
        real = fs.realpathSync(src);
      } catch {
        throw new Refused(`${src} is a symbolic link to nothing (${fs.readlinkSync(src)})`);
      }
      if (!isWithin(real, this.realDir()) && !isWithin(real, inside)) {
        throw new Refused(
          `${src} is a symbolic link to ${real}, outside the scenario's directory ${this.dir}: it is not sent (name the file in the scenario if it is meant to be)`,
        );
      }
      st = fs.statSync(src);
    }
    if (st.isFile()) return add(this.entry(key, src, st));
    if (!st.isDirectory()) throw new Refused(`${src} is not a regular file or a directory`);
    const real = fs.realpathSync(src);
    if (ancestors.has(real)) throw new Refused(`${src} leads back to ${real} (a directory cycle)`);
    add(this.entry(key, src, st));
    this.walk(src, key, inside, new Set([...ancestors, real]), add);
  }
}
