// The agent's journal: one append-only JSON-lines file per deployment in the state directory.
// Every resource is recorded (append + fsync) BEFORE it is created, so `destroy` after a crash
// of the agent or of the machine knows everything that may exist; a resource recorded but never
// made is simply found absent. Removal is recorded after the resource is gone.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, writeFileAtomic } from '../common/atomic-write.ts';
import type { BackplaneKind } from '../protocol/cluster.ts';
import { OperationError } from '../common/errors.ts';

/**
 * What the journal records: driver resources, and backplane links (by backplane kind).
 * `hostif`: an end of a `<host>` section's veth (in the agent's namespace); `qdisc`: a link's
 * shaping (tc root qdisc; `params` says the side: `host` = the link in the agent's namespace,
 * `vm` = the VM's end); `sysctl`: a setting of the agent's namespace (`name` the key, `params`
 * the value it had before, restored on removal).
 */
export type ResourceKind = 'netns' | 'bridge' | 'veth' | 'hostif' | 'qdisc' | 'sysctl' | BackplaneKind | 'process' | 'mount' | 'dir' | 'cgroup';

export interface Resource {
  /** What the resource stands for, stable across runs (e.g. `veth:r1:2`). */
  key: string;
  kind: ResourceKind;
  /** Kernel/file-system name: link name, namespace name, directory path, mount point, cgroup directory. */
  name: string;
  vm?: string;
  net?: string;
  /** process: pid, its start time (clock ticks since boot) and the boot it belongs to. */
  pid?: number;
  start?: number;
  boot?: string;
  /** Parameters the resource was made with (a changed value means: remake it). */
  params?: string;
}

export type JournalRecord =
  | ({ t: 'res' } & Resource)
  | { t: 'gone'; key: string }
  /** The VM was fully configured with this spec hash. */
  | { t: 'vm'; vm: string; hash: string }
  | { t: 'vm-gone'; vm: string };

export const JOURNAL_FILE = 'journal.jsonl';


/** Applies journal records to a live state in place (later records win). */
function applyRecords(state: { resources: Map<string, Resource>; vms: Map<string, string> }, records: JournalRecord[]): void {
  const { resources, vms } = state;
  for (const r of records) {
    if (r.t === 'res') {
      const { t: _t, ...res } = r;
      resources.delete(r.key); // re-recording moves it to the end (creation order)
      resources.set(r.key, res);
    } else if (r.t === 'gone') resources.delete(r.key);
    else if (r.t === 'vm') vms.set(r.vm, r.hash);
    else if (r.t === 'vm-gone') vms.delete(r.vm);
  }
}

/** Replays journal records into the live state (later records win). */
export function replay(records: JournalRecord[]): { resources: Map<string, Resource>; vms: Map<string, string> } {
  const state = { resources: new Map<string, Resource>(), vms: new Map<string, string>() };
  applyRecords(state, records);
  return state;
}

/**
 * Parses journal text; a torn last line (crash during the write) is ignored. With `dir` (the
 * deployment's directory), every resource is checked to be one ediv writes (resourceProblem):
 * its names end up in `ip` batch lines, `rm -r` and cgroup removals run as root, so a journal
 * someone edited is refused rather than acted on.
 */
export function parseJournal(text: string, dir?: string): JournalRecord[] {
  const lines = text.split('\n');
  const out: JournalRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let record: JournalRecord;
    try {
      record = JSON.parse(line) as JournalRecord;
    } catch (err) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim())) {
        throw new OperationError(`journal line ${i + 1} is corrupt: ${(err as Error).message}`);
      }
      return;
    }
    const problem = dir === undefined ? undefined : recordProblem(record, dir);
    if (problem) throw new OperationError(`${path.join(dir!, JOURNAL_FILE)} line ${i + 1}: ${problem}: refusing to act on a journal ediv did not write (edited by hand?)`);
    out.push(record);
  });
  return out;
}

const KINDS: ReadonlySet<string> = new Set(['netns', 'bridge', 'veth', 'hostif', 'qdisc', 'sysctl', 'vlan', 'vxlan', 'process', 'mount', 'dir', 'cgroup']);
const LINK_KINDS: ReadonlySet<string> = new Set(['bridge', 'veth', 'hostif', 'qdisc', 'vlan', 'vxlan']);
const IFNAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$/;
const NETNS = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,255}$/;
const SYSCTL = /^[A-Za-z0-9_-]+(?:[./][A-Za-z0-9_-]+)+$/;

/** Why a journal record is not one ediv writes (undefined when it is). */
export function recordProblem(r: JournalRecord, dir: string): string | undefined {
  if (!r || typeof r !== 'object') return 'not a record';
  switch (r.t) {
    case 'gone':
      return typeof r.key === 'string' ? undefined : 'a "gone" record without a key';
    case 'vm':
    case 'vm-gone':
      return typeof r.vm === 'string' && NETNS.test(r.vm) ? undefined : `VM name ${JSON.stringify(r.vm)}`;
    case 'res':
      return resourceProblem(r, dir);
    default:
      return `unknown record type ${JSON.stringify((r as { t?: unknown }).t)}`;
  }
}

/** Why a journaled resource is not one ediv makes, by kind (its name is used as root on the host). */
export function resourceProblem(r: Resource, dir: string): string | undefined {
  if (typeof r.key !== 'string' || typeof r.name !== 'string' || !KINDS.has(r.kind)) return `resource ${JSON.stringify(r.key)} of unknown kind ${JSON.stringify(r.kind)}`;
  const name = JSON.stringify(r.name);
  if (r.pid !== undefined && !(Number.isInteger(r.pid) && r.pid > 1)) return `process id ${JSON.stringify(r.pid)}`;
  if (LINK_KINDS.has(r.kind)) return IFNAME.test(r.name) ? undefined : `${r.kind} name ${name} is not an interface name`;
  switch (r.kind) {
    case 'netns':
      return NETNS.test(r.name) ? undefined : `namespace name ${name}`;
    case 'sysctl':
      return SYSCTL.test(r.name) && !r.name.includes('..') ? undefined : `sysctl name ${name}`;
    case 'dir': {
      const rel = path.relative(path.resolve(dir), r.name);
      return path.isAbsolute(r.name) && path.normalize(r.name) === r.name && rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
        ? undefined
        : `directory ${name} is not inside the deployment's directory`;
    }
    case 'cgroup':
      // <a cgroup hierarchy>/ediv/<VM namespace> (cgroups.ts), wherever the hierarchy is mounted.
      return path.isAbsolute(r.name) && path.normalize(r.name) === r.name && path.basename(path.dirname(r.name)) === 'ediv' && NETNS.test(path.basename(r.name))
        ? undefined
        : `cgroup ${name} is not an ediv cgroup`;
    case 'mount':
      return path.isAbsolute(r.name) && path.normalize(r.name) === r.name ? undefined : `mount point ${name}`;
    default:
      return undefined; // process: its name is a label; the pid is checked above and against its start time when used
  }
}

export class Journal {
  readonly dir: string;
  readonly file: string;
  private readonly resourcesMap: Map<string, Resource>;
  private readonly vmsMap: Map<string, string>;

  private constructor(dir: string, records: JournalRecord[]) {
    this.dir = dir;
    this.file = path.join(dir, JOURNAL_FILE);
    const { resources, vms } = replay(records);
    this.resourcesMap = resources;
    this.vmsMap = vms;
  }

  /** Opens (without creating anything) the journal in `dir`. */
  static open(dir: string): Journal {
    let text = '';
    try {
      text = fs.readFileSync(path.join(dir, JOURNAL_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return new Journal(dir, parseJournal(text, dir));
  }

  /** Live resources, in the order they were (re)recorded. */
  resources(): Resource[] {
    return [...this.resourcesMap.values()];
  }

  get(key: string): Resource | undefined {
    return this.resourcesMap.get(key);
  }

  /** VM → spec hash of the configured VMs (the live map, updated by append: copy it to keep a snapshot). */
  configuredVms(): ReadonlyMap<string, string> {
    return this.vmsMap;
  }

  isEmpty(): boolean {
    return this.resourcesMap.size === 0 && this.vmsMap.size === 0;
  }

  /** Appends records durably (one write, one fsync) and applies them to the live state. */
  append(records: JournalRecord[]): void {
    if (records.length === 0) return;
    const created = !fs.existsSync(this.file);
    if (created) fs.mkdirSync(this.dir, { recursive: true });
    const fd = fs.openSync(this.file, 'a');
    try {
      fs.writeSync(fd, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (created) fsyncDir(this.dir);
    // In place: the cost is that of the records, not of the whole journal (apply appends per VM).
    applyRecords({ resources: this.resourcesMap, vms: this.vmsMap }, records);
  }

  /** Records resources before they are created. */
  intend(resources: Resource[]): void {
    this.append(resources.map((r) => ({ t: 'res', ...r })));
  }

  /** Records resources as removed (after verifying they are gone). */
  gone(keys: string[]): void {
    this.append(keys.map((key) => ({ t: 'gone', key })));
  }

  /**
   * Rewrites the journal with only the live state (atomically: temp file, fsync, rename), or
   * deletes it when nothing is left.
   */
  compact(): void {
    if (this.isEmpty()) {
      fs.rmSync(this.file, { force: true });
      return;
    }
    const records: JournalRecord[] = [
      ...this.resources().map((r) => ({ t: 'res', ...r }) as JournalRecord),
      ...[...this.vmsMap].map(([vm, hash]) => ({ t: 'vm', vm, hash }) as JournalRecord),
    ];
    writeFileAtomic(this.file, records.map((r) => JSON.stringify(r)).join('\n') + '\n', { durable: true });
  }
}
