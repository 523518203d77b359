// The bad-input corpus harness. A case writes its files into a temporary directory and names
// what `ediv validate` is given (a scenario; with a cluster or a restriction file when the case
// is about one of those) and what the refusal must say: the file, line and column, a message.
// Every case is checked twice:
//   - in-process, through the library (parseScenarioFile / loadCluster / loadRestrictions):
//     an InputError carrying the location, within `maxMs` (default 2 s);
//   - through `ediv validate --json` in a process with a bounded heap (`heapMB`, default 128):
//     exit 2, {ok:false, problems:[…]} with the same location, no stack trace, nothing secret.
// A test file registers its cases with `badInputSuite(title, cases)`; the classes live in
// test/integration/cli/bad-input*.test.ts.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../src/common/errors.ts';
import { edivRoot } from '../../src/common/paths.ts';
import { loadCluster } from '../../src/controller/cluster.ts';
import { loadRestrictions } from '../../src/controller/restrictions.ts';
import { parseScenarioFile } from '../../src/scenario/index.ts';

const nodeBin = path.join(edivRoot, 'node_modules', '.bin', 'node');

/** A string no refusal may echo (cases plant it in files an attack would try to read). */
export const SECRET = 'ediv-secret-marker-7f3a';

/** A small valid VNX scenario with one net Net0; `body` goes after the net (line 5 on). */
export const vnx = (body: string, name = 'bad'): string =>
  `<?xml version="1.0"?>\n<vnx>\n  <global><version>2.0</version><scenario_name>${name}</scenario_name></global>\n` +
  `  <net name="Net0" mode="virtual_bridge"/>\n${body}\n</vnx>\n`;

/** A small valid VNUML 1.8 scenario; `body` goes after the net (line 5 on). */
export const vnuml = (body: string): string =>
  `<?xml version="1.0"?>\n<vnuml>\n  <global><version>1.8</version><simulation_name>bad</simulation_name></global>\n` +
  `  <net name="Net0" mode="virtual_bridge"/>\n${body}\n</vnuml>\n`;

/** A valid two-VM scenario for cluster and restriction cases. */
export const GOOD_SCENARIO = vnx('  <vm type="lxc" name="a"><if id="1" net="Net0"/></vm>\n  <vm type="lxc" name="b"><if id="1" net="Net0"/></vm>');

/** A valid two-host YAML cluster file (documentation addresses; nothing is contacted). */
export const GOOD_CLUSTER = 'backplane: vxlan\nids: {first: 5000, last: 5099}\nhosts:\n  - {name: kofy, address: 192.0.2.1, trunk: eth1}\n  - {name: zermat, address: 192.0.2.2, trunk: eth1}\n';

export interface BadInputCase {
  name: string;
  /**
   * Writes the case's files into `dir`; returns the files `ediv validate` gets (the scenario,
   * and the cluster or restriction file when the case is about one) and which of them the
   * refusal must name (default: the last one given).
   */
  make(dir: string): { scenario: string; cluster?: string; restrictions?: string; culprit?: string };
  line?: number;
  column?: number;
  message: RegExp;
  /** Library time bound (ms); default 2 000. */
  maxMs?: number;
  /** Heap of the CLI process (MB); default 128. */
  heapMB?: number;
  /** The message must not contain these (echoed attack text, raw control characters). */
  notInMessage?: (string | RegExp)[];
}

/** Writes `text` (or bytes) to `dir/name`, returning the path. */
export function put(dir: string, name: string, text: string | Buffer): string {
  const p = path.join(dir, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `fn` over `items` with at most `limit` at a time (each CLI run is a whole process). */
async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** `ediv validate ARGS` with a bounded heap, so a parser that blew up memory would fail. */
export function runValidate(args: string[], heapMB = 128): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(nodeBin, [path.join(edivRoot, 'bin', 'ediv'), 'validate', ...args], {
      env: { ...process.env, NODE_OPTIONS: `--max-old-space-size=${heapMB}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

function validateArgs(f: ReturnType<BadInputCase['make']>): string[] {
  return [f.scenario, ...(f.cluster ? ['--cluster', f.cluster] : []), ...(f.restrictions ? ['--restrictions', f.restrictions] : []), '--json'];
}

function culpritOf(f: ReturnType<BadInputCase['make']>): string {
  return f.culprit ?? f.restrictions ?? f.cluster ?? f.scenario;
}

/** The library's refusal of the case's files, in the order `ediv validate` reads them. */
async function libraryRefusal(f: ReturnType<BadInputCase['make']>): Promise<unknown> {
  try {
    const scenario = await parseScenarioFile(f.scenario);
    const cluster = f.cluster ? await loadCluster(f.cluster) : undefined;
    if (f.restrictions) await loadRestrictions(f.restrictions, scenario, cluster);
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectClean(text: string, c: BadInputCase): void {
  expect(text).to.not.include(SECRET);
  expect(text).to.not.include('root:x:0:0');
  for (const bad of c.notInMessage ?? []) {
    if (typeof bad === 'string') expect(text).to.not.include(bad);
    else expect(text).to.not.match(bad);
  }
}

/** Registers a mocha suite checking every case through the library and the CLI. */
export function badInputSuite(title: string, cases: BadInputCase[], opts: { parallel?: number } = {}): void {
  describe(title, function () {
    this.timeout(180_000);
    let dir = '';
    const files = new Map<string, ReturnType<BadInputCase['make']>>();
    const cli = new Map<string, CliResult>();

    before(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-bad-'));
      cases.forEach((c, i) => {
        const caseDir = path.join(dir, String(i));
        mkdirSync(caseDir);
        files.set(c.name, c.make(caseDir));
      });
      await pool(cases, opts.parallel ?? 3, async (c) => {
        cli.set(c.name, await runValidate(validateArgs(files.get(c.name)!), c.heapMB));
      });
    });

    after(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    for (const c of cases) {
      describe(c.name, () => {
        it('library: InputError at the file, line and column, in bounded time', async () => {
          const f = files.get(c.name)!;
          const t0 = performance.now();
          const err = await libraryRefusal(f);
          expect(performance.now() - t0).to.be.below(c.maxMs ?? 2000);
          expect(err, 'accepted').to.be.instanceOf(InputError);
          const p = (err as InputError).problems.find((x) => c.message.test(x.message));
          expect(p, (err as Error).message).to.not.equal(undefined);
          expect(p!.loc.file).to.equal(culpritOf(f));
          if (c.line !== undefined) expect(p!.loc.line, (err as Error).message).to.equal(c.line);
          if (c.column !== undefined) expect(p!.loc.column, (err as Error).message).to.equal(c.column);
          expectClean((err as Error).message, c);
        });

        it('CLI --json: exit 2, the located problem, no stack trace, bounded heap', () => {
          const r = cli.get(c.name)!;
          expect(r.code, r.stderr + r.stdout).to.equal(2);
          const doc = JSON.parse(r.stdout) as { ok: boolean; problems: { file: string; line?: number; column?: number; message: string }[] };
          expect(doc.ok).to.equal(false);
          const p = doc.problems.find((x) => c.message.test(x.message));
          expect(p, r.stdout).to.not.equal(undefined);
          expect(p!.file).to.equal(culpritOf(files.get(c.name)!));
          if (c.line !== undefined) expect(p!.line).to.equal(c.line);
          if (c.column !== undefined) expect(p!.column).to.equal(c.column);
          expect(r.stdout + r.stderr).to.not.match(/\n\s+at .+\(.*:\d+:\d+\)/);
          expectClean(r.stdout + r.stderr, c);
        });
      });
    }
  });
}
