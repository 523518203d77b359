// `node scripts/build.ts [--quiet] [--pack]`: bundles ediv's two process entries (the CLI and the discovery
// daemon) into dist/build-<digest>/, which bin/ediv then runs instead of the TypeScript sources
// while they are unchanged (bin/build-select.mjs says how that is checked). Starting from the
// bundle costs about half the CPU of stripping the types of ~200 modules, and the controller
// starts `ediv agent` on every host for every operation.
//
// The build goes to a temporary directory beside its target and is renamed into place, so a
// build directory is always complete and a concurrent build of the same sources changes nothing
// (when the target exists, only its manifest of input stats is recorded anew). The 3 newest
// builds are kept: a process started from an older one may still load its chunks.
//
// `--pack` (npm's prepack) also writes dist/.npmignore so that the package holds this build only
// (package.json `files` takes dist/; an installed package has no src/, and bin/build-select.mjs
// then runs the one build there). Older builds stay on disk for the processes that still use them.
//
// Layout: every module of a build sits in the build's root directory (entries main.js and
// discovery-daemon-main.js, chunks beside them), so import.meta.dirname of any module is the
// build directory, and the files the code reads next to its own module (new URL('./x',
// import.meta.url): completion.bash, completion.zsh, launcher.py) are copied there. Packages
// stay imports (resolved from node_modules above dist/).
import fs from 'node:fs';
import path from 'node:path';
import { build as bundle } from 'esbuild';
import { AGENT_BUNDLE, BUNDLE_MAIN, MANIFEST, buildName, builds, inputDigest, inputStats, sourceTree, statsUnchanged, type Manifest } from '../bin/build-select.mjs';

const ENTRIES = ['src/cli/main.ts', 'src/cli/discovery-daemon-main.ts'];
/** Entry of the single-file agent bundle (bundleAgent). */
const AGENT_ENTRY = 'src/cli/agent-bundle-main.ts';
const KEEP = 3;
/** Inputs changed this recently are not recorded yet (see bin/build-select.mjs): well above a file-clock tick. */
const RACY_MS = 50;
/** Temporary directories older than this are left-overs of an interrupted build. */
const LEFTOVER_MS = 3_600_000;
const ATTEMPTS = 20;

export interface BuildResult {
  /** The build directory. */
  dir: string;
  /** False when a build of these sources was there already. */
  built: boolean;
  ms: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = () => `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

/** Builds root's sources into root/dist/build-<digest>/ unless that build exists. */
export async function build(root: string = path.resolve(import.meta.dirname, '..')): Promise<BuildResult> {
  const started = performance.now();
  const dist = path.join(root, 'dist');
  fs.mkdirSync(dist, { recursive: true });
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const before = inputStats(root);
    // (A ctime further ahead is another machine's clock, e.g. over NFS: waiting would not help.)
    const wait = Math.max(0, ...before.map((e) => (e[1] === null ? 0 : e[3]))) + RACY_MS - Date.now();
    if (wait > 0 && wait <= RACY_MS && attempt < ATTEMPTS - 1) {
      await sleep(wait + 1);
      continue;
    }
    const digest = inputDigest(root);
    const dir = path.join(dist, buildName(digest));
    let built = false;
    if (!fs.existsSync(dir)) {
      const tmp = path.join(dist, `.tmp-${buildName(digest)}-${unique()}`);
      try {
        await bundleInto(root, tmp);
        if (!statsUnchanged(root, before)) continue; // an input changed while building: again
        writeManifest(tmp, { digest, recordedAt: Date.now(), inputs: before });
        try {
          fs.renameSync(tmp, dir);
          built = true;
        } catch (err) {
          // A concurrent build of the same sources was first: keep its directory.
          if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
        }
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    }
    if (!statsUnchanged(root, before)) continue;
    if (!built) writeManifest(dir, { digest, recordedAt: Date.now(), inputs: before });
    prune(root, dir);
    return { dir, built, ms: Math.round(performance.now() - started) };
  }
  throw new Error(`the sources under ${root} kept changing during ${ATTEMPTS} attempts to build them`);
}

async function bundleInto(root: string, out: string): Promise<void> {
  await bundle({
    absWorkingDir: root,
    entryPoints: ENTRIES.map((e) => path.join(root, e)),
    outdir: out,
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    splitting: true,
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  if (!fs.existsSync(path.join(out, BUNDLE_MAIN))) throw new Error(`esbuild wrote no ${BUNDLE_MAIN}`);
  await bundleAgent(root, out);
  // Run-time assets: every file under src/ that is not TypeScript, next to the modules.
  const seen = new Map<string, string>();
  for (const rel of sourceTree(root).files.filter((f) => !f.endsWith('.ts'))) {
    const name = path.basename(rel);
    const other = seen.get(name);
    if (other !== undefined) throw new Error(`${rel} and ${other} would both be ${name} in the build: rename one`);
    if (fs.existsSync(path.join(out, name))) throw new Error(`${rel} has the name of a module of the build`);
    seen.set(name, rel);
    fs.copyFileSync(path.join(root, rel), path.join(out, name));
  }
}

/**
 * The agent bundle: one file with every package inlined, which the controller copies to hosts
 * without ediv (src/transport/agent-push.ts). Its assets (the files its modules read beside
 * themselves) are embedded and written beside it on its first start (src/cli/agent-bundle-main.ts).
 */
async function bundleAgent(root: string, out: string): Promise<void> {
  const entry = path.join(root, AGENT_ENTRY);
  if (!fs.existsSync(entry)) return; // a tree without an agent (the build's own test fixtures)
  const assets: Record<string, string> = {};
  for (const rel of sourceTree(root).files.filter((f) => f.startsWith('src/host-agent/') && !f.endsWith('.ts'))) {
    assets[path.basename(rel)] = fs.readFileSync(path.join(root, rel), 'utf8');
  }
  // The discovery daemon's entry (`agent serve` starts node on it; cli/agent.ts names it).
  assets['discovery-daemon-main.mjs'] =
    `import { runDiscoveryDaemon } from './${AGENT_BUNDLE}';\n` +
    `process.exitCode = await runDiscoveryDaemon(process.argv[2] ?? '', import.meta.filename);\nprocess.exit();\n`;
  const { version = '0.0.0' } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string };
  await bundle({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: path.join(out, AGENT_BUNDLE),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // CommonJS packages inlined into an ES module still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __edivRequire } from 'node:module'; const require = __edivRequire(import.meta.url);" },
    define: { __EDIV_VERSION__: JSON.stringify(version), __EDIV_AGENT_ASSETS__: JSON.stringify(assets) },
    legalComments: 'none',
    logLevel: 'warning',
  });
}

function writeManifest(dir: string, manifest: Manifest): void {
  const tmp = path.join(dir, `.${MANIFEST}.${unique()}`);
  fs.writeFileSync(tmp, `${JSON.stringify(manifest)}\n`);
  fs.renameSync(tmp, path.join(dir, MANIFEST));
}

/** Keeps `current` and the newest other builds (KEEP in all); removes older ones and left-overs. */
function prune(root: string, current: string): void {
  const dist = path.join(root, 'dist');
  const complete = builds(root);
  const keep = new Set([current, ...complete.filter((b) => b.dir !== current).slice(0, KEEP - 1).map((b) => b.dir)]);
  for (const name of fs.readdirSync(dist)) {
    const dir = path.join(dist, name);
    if (name.startsWith('build-')) {
      if (keep.has(dir)) continue;
      // Renamed away first: bin/build-select.mjs never sees a half-removed build.
      const trash = path.join(dist, `.trash-${name}-${unique()}`);
      try {
        fs.renameSync(dir, trash);
      } catch {
        continue; // removed by a concurrent build
      }
      fs.rmSync(trash, { recursive: true, force: true });
    } else if (/^\.(tmp|trash)-/.test(name)) {
      const st = fs.statSync(dir, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > LEFTOVER_MS) fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** dist/.npmignore leaving only `current` (a build directory) to `npm pack`. */
export function writePackIgnore(root: string, current: string): void {
  const dist = path.join(root, 'dist');
  const text =
    '# Written by `node scripts/build.ts --pack` (prepack): the package holds the current build only.\n' +
    `/*\n!/${path.basename(current)}/\n`;
  const tmp = path.join(dist, `.tmp-npmignore-${unique()}`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, path.join(dist, '.npmignore'));
}

if (import.meta.main) {
  try {
    const r = await build();
    if (process.argv.includes('--pack')) writePackIgnore(path.resolve(import.meta.dirname, '..'), r.dir);
    if (!process.argv.includes('--quiet')) {
      console.error(`${path.relative(process.cwd(), r.dir) || '.'} (${r.built ? 'built' : 'up to date'}, ${r.ms} ms)`);
    }
  } catch (err) {
    console.error(`build: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
