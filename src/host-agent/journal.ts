// The agent's journal: one append-only JSON-lines file per deployment in the state directory.
// Every resource is recorded (append + fsync) BEFORE it is created, so `destroy` after a crash
// of the agent or of the machine knows everything that may exist; a resource recorded but never
// made is simply found absent. Removal is recorded after the resource is gone.
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir, writeFileAtomic } from '../common/atomic-write.ts';
import type { BackplaneKind } from '../protocol/cluster.ts';

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

/** Parses journal text; a torn last line (crash during the write) is ignored. */
export function parseJournal(text: string): JournalRecord[] {
  const lines = text.split('\n');
  const out: JournalRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as JournalRecord);
    } catch (err) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim())) {
        throw new Error(`journal line ${i + 1} is corrupt: ${(err as Error).message}`);
      }
    }
  });
  return out;
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
    return new Journal(dir, parseJournal(text));
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
