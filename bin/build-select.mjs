// Which code bin/ediv runs: the compiled bundle of these very sources (dist/build-<digest>/,
// made by scripts/build.ts) when there is one, else the TypeScript sources (src/cli/main.ts).
// Plain JavaScript on purpose: it runs before anything else, on every start of ediv and of every
// host agent, so it imports only Node built-ins and must cost well under a millisecond or two.
//
// How freshness is checked, cheaply and correctly. A build is named after a digest of its inputs
// (every file under src/, package.json, tsconfig.json, scripts/build.ts: inputDigest below), but
// hashing them on each start costs 10-20 ms (about 250 files, 1.8 MB). So the build also records
// a manifest: size, mtime, ctime and inode of every input file and of every directory under src/
// (a directory's ctime changes when a file is added, removed or renamed in it). A start only
// stats those paths (about 1 ms) and uses the newest build whose every entry is unchanged.
// - ctime cannot be set back by a program (touch -d, cp -p, tar and git set mtime, not ctime),
//   and every write, rename or metadata change moves it forward: equal stats mean equal content.
// - The one hole would be a file changed twice within one tick of the kernel's file clock (a few
//   ms) around the build's stat: the build closes it as git closes its "racy" index entries, by
//   not recording any file whose ctime is within RACY_MS of the build's start (it waits instead),
//   and by checking that nothing changed between its first stat and the end of the bundling.
// - When stats differ (a checkout or a stash that rewrote files, a copied tree), the inputs are
//   hashed once and a build with that digest is used all the same: correct, 10-20 ms, and only on
//   starts that would otherwise run from source (0.25 s more). `npm run build` re-records stats.
// EDIV_FROM_SOURCE=1 forces the sources. Without a src/ directory (an installed package), the
// build present is used (the newest, when there are several).
// (node:crypto is loaded only when a digest is needed: importing it costs a few ms.)
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const MANIFEST = 'manifest.json';
/** Bundle entry run by bin/ediv, in a build directory. */
export const BUNDLE_MAIN = 'main.js';
/** The single-file agent bundle the controller copies to hosts without ediv, in a build directory. */
export const AGENT_BUNDLE = 'ediv-agent.mjs';
/** Inputs of a build besides everything under src/ (a missing one counts as missing). */
export const EXTRA_INPUTS = ['package.json', 'tsconfig.json', 'scripts/build.ts'];

/** The files (relative, sorted) and directories under src/ of root. */
export function sourceTree(root) {
  const files = [];
  const dirs = ['src'];
  const walk = (rel) => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        dirs.push(r);
        walk(r);
      } else if (e.isFile() || (e.isSymbolicLink() && statSync(path.join(root, r), { throwIfNoEntry: false })?.isFile())) {
        files.push(r);
      }
    }
  };
  walk('src');
  const order = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
  return { files: files.sort(order), dirs: dirs.sort(order) };
}

/** sha256 (hex) over the build inputs of root: each relative path, its length and contents. */
export function inputDigest(root) {
  const h = process.getBuiltinModule('node:crypto').createHash('sha256');
  for (const rel of [...sourceTree(root).files, ...EXTRA_INPUTS]) {
    let data;
    try {
      data = readFileSync(path.join(root, rel));
    } catch {
      h.update(`${rel}\0-\0`);
      continue;
    }
    h.update(`${rel}\0${data.length}\0`);
    h.update(data);
  }
  return h.digest('hex');
}

/** Name of the build directory (under dist/) for a digest. */
export const buildName = (digest) => `build-${digest.slice(0, 16)}`;

const MAYBE = { throwIfNoEntry: false };

const statEntry = (root, rel) => {
  const st = statSync(path.join(root, rel), MAYBE);
  return st ? [rel, st.size, st.mtimeMs, st.ctimeMs, st.ino] : [rel, null];
};

/** The stats a manifest records: every input file, and every directory under src/. */
export function inputStats(root) {
  const { files, dirs } = sourceTree(root);
  return [...dirs, ...files, ...EXTRA_INPUTS].map((rel) => statEntry(root, rel));
}

/** Whether every recorded entry still has the same stats. */
export function statsUnchanged(root, entries) {
  const dir = root.endsWith('/') ? root : `${root}/`;
  for (const e of entries) {
    const st = statSync(dir + e[0], MAYBE);
    if (e[1] === null ? st !== undefined : st === undefined || st.size !== e[1] || st.mtimeMs !== e[2] || st.ctimeMs !== e[3] || st.ino !== e[4]) return false;
  }
  return true;
}

function readManifest(dir) {
  try {
    const m = JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8'));
    return typeof m.digest === 'string' && Array.isArray(m.inputs) && existsSync(path.join(dir, BUNDLE_MAIN)) ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The complete builds under root/dist, newest first. */
export function builds(root) {
  const dist = path.join(root, 'dist');
  let names;
  try {
    names = readdirSync(dist).filter((n) => n.startsWith('build-'));
  } catch {
    return [];
  }
  const found = [];
  for (const name of names) {
    const dir = path.join(dist, name);
    const manifest = readManifest(dir);
    if (manifest && name === buildName(manifest.digest)) found.push({ dir, manifest });
  }
  return found.sort((a, b) => (b.manifest.recordedAt ?? 0) - (a.manifest.recordedAt ?? 0));
}

/**
 * The module bin/ediv imports for the ediv package at root: the main module of the build made
 * from root's current sources, else root/src/cli/main.ts.
 */
export function mainModule(root) {
  const source = path.join(root, 'src', 'cli', 'main.ts');
  const fromSource = process.env.EDIV_FROM_SOURCE;
  if (fromSource && fromSource !== '0') return source;
  const found = builds(root);
  if (found.length === 0) return source;
  if (!existsSync(path.join(root, 'src'))) return path.join(found[0].dir, BUNDLE_MAIN);
  for (const b of found) if (statsUnchanged(root, b.manifest.inputs)) return path.join(b.dir, BUNDLE_MAIN);
  const digest = inputDigest(root);
  const same = found.find((b) => b.manifest.digest === digest);
  return same ? path.join(same.dir, BUNDLE_MAIN) : source;
}
