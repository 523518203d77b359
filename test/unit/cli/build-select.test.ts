// Which code bin/ediv runs (bin/build-select.mjs) and the build that makes the bundle
// (scripts/build.ts), on a small package tree of their own in a temporary directory; and the
// module paths that must hold from a bundle as from the sources.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builds, inputDigest, mainModule } from '../../../bin/build-select.mjs';
import { build } from '../../../scripts/build.ts';
import { DISCOVERY_DAEMON_MAIN } from '../../../src/cli/agent.ts';
import { edivRoot } from '../../../src/common/paths.ts';
import { isDaemonProcess } from '../../../src/discovery/daemon.ts';

describe('the compiled build and which code bin/ediv runs', function () {
  this.timeout(30000);
  let root: string;
  let saved: string | undefined;
  const source = () => path.join(root, 'src', 'cli', 'main.ts');
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  const buildDirs = () => readdirSync(path.join(root, 'dist')).filter((n) => n.startsWith('build-')).sort();

  before(() => {
    saved = process.env.EDIV_FROM_SOURCE;
    delete process.env.EDIV_FROM_SOURCE;
  });
  after(() => {
    if (saved !== undefined) process.env.EDIV_FROM_SOURCE = saved;
  });
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'ediv-build-'));
    write('package.json', '{ "name": "fake", "type": "module" }\n');
    write('src/cli/main.ts', "import { greeting } from '../lib/greet.ts';\nexport async function main(): Promise<void> { console.log(greeting(1)); }\n");
    write('src/cli/discovery-daemon-main.ts', "import { greeting } from '../lib/greet.ts';\nconsole.log(greeting(2));\n");
    write('src/lib/greet.ts', 'export const greeting = (n: number): string => `hello ${n}`;\n');
    write('src/lib/asset.txt', 'an asset\n');
  });
  afterEach(() => {
    delete process.env.EDIV_FROM_SOURCE;
    rmSync(root, { recursive: true, force: true });
  });

  it('runs the sources while there is no build', () => {
    expect(mainModule(root)).to.equal(source());
  });

  it('runs the build made from the current sources: entries, assets, a manifest', async () => {
    const r = await build(root);
    expect(r.built).to.equal(true);
    expect(path.basename(r.dir)).to.equal(`build-${inputDigest(root).slice(0, 16)}`);
    expect(mainModule(root)).to.equal(path.join(r.dir, 'main.js'));
    for (const f of ['main.js', 'main.js.map', 'discovery-daemon-main.js', 'manifest.json']) expect(existsSync(path.join(r.dir, f)), f).to.equal(true);
    expect(readFileSync(path.join(r.dir, 'asset.txt'), 'utf8')).to.equal('an asset\n');
    const { main } = (await import(path.join(r.dir, 'main.js'))) as { main: () => Promise<void> };
    expect(main).to.be.a('function');
    expect(readdirSync(path.join(root, 'dist'))).to.deep.equal([path.basename(r.dir)], 'no temporary directory is left');
  });

  it('a file touched but not changed keeps the build (its contents are compared); a changed, added or removed one makes it stale', async () => {
    const { dir } = await build(root);
    const bundle = path.join(dir, 'main.js');
    const greet = path.join(root, 'src', 'lib', 'greet.ts');
    utimesSync(greet, new Date(), new Date(Date.now() + 5000));
    expect(mainModule(root)).to.equal(bundle);

    const text = readFileSync(greet, 'utf8');
    writeFileSync(greet, text.replace('hello', 'HELLO'));
    expect(mainModule(root)).to.equal(source(), 'a changed file');
    writeFileSync(greet, text);
    expect(mainModule(root)).to.equal(bundle, 'the same contents again');

    write('src/lib/new.ts', 'export {};\n');
    expect(mainModule(root)).to.equal(source(), 'an added file');
    rmSync(path.join(root, 'src', 'lib', 'new.ts'));
    expect(mainModule(root)).to.equal(bundle);

    rmSync(path.join(root, 'src', 'lib', 'asset.txt'));
    expect(mainModule(root)).to.equal(source(), 'a removed file');
    write('src/lib/asset.txt', 'an asset\n');

    write('package.json', '{ "name": "fake", "type": "module", "version": "2.0.0" }\n');
    expect(mainModule(root)).to.equal(source(), 'package.json is an input too');
  });

  it('a build of changed sources is chosen, and building again records the current stats', async () => {
    const first = await build(root);
    write('src/lib/greet.ts', 'export const greeting = (n: number): string => `bye ${n}`;\n');
    const second = await build(root);
    expect(second.dir).to.not.equal(first.dir);
    expect(mainModule(root)).to.equal(path.join(second.dir, 'main.js'));
    expect(builds(root).map((b) => b.dir)).to.deep.equal([second.dir, first.dir], 'newest first');

    const again = await build(root);
    expect(again).to.include({ dir: second.dir, built: false });
  });

  it('EDIV_FROM_SOURCE=1 runs the sources', async () => {
    await build(root);
    process.env.EDIV_FROM_SOURCE = '1';
    expect(mainModule(root)).to.equal(source());
    process.env.EDIV_FROM_SOURCE = '0';
    expect(mainModule(root)).to.not.equal(source());
  });

  it('without src/ (an installed package) the build present is run', async () => {
    const { dir } = await build(root);
    rmSync(path.join(root, 'src'), { recursive: true });
    expect(mainModule(root)).to.equal(path.join(dir, 'main.js'));
  });

  it('concurrent builds of the same sources make one build directory, and none is broken', async () => {
    const results = await Promise.all([build(root), build(root), build(root)]);
    expect(new Set(results.map((r) => r.dir)).size).to.equal(1);
    expect(results.filter((r) => r.built).length).to.be.at.most(1);
    expect(buildDirs()).to.deep.equal([path.basename(results[0]!.dir)]);
    expect(mainModule(root)).to.equal(path.join(results[0]!.dir, 'main.js'));
  });

  it('keeps the 3 newest builds', async () => {
    const dirs: string[] = [];
    for (let i = 0; i < 5; i++) {
      write('src/lib/greet.ts', `export const greeting = (n: number): string => \`hello ${i} \${n}\`;\n`);
      dirs.push((await build(root)).dir);
    }
    expect(buildDirs()).to.deep.equal(dirs.slice(2).map((d) => path.basename(d)).sort());
  });

  it('a source file that would collide with another in the flat build is refused', async () => {
    write('src/cli/asset.txt', 'another\n');
    let error: Error | undefined;
    await build(root).catch((e: Error) => (error = e));
    expect(error?.message).to.match(/src\/.*asset\.txt and src\/.*asset\.txt would both be asset\.txt/);
    expect(buildDirs()).to.deep.equal([]);
  });
});

describe('module paths that hold in the bundle as in the sources', () => {
  it('edivRoot is the directory with package.json above the module', () => {
    expect(edivRoot).to.equal(path.resolve(import.meta.dirname, '..', '..', '..'));
    expect(existsSync(path.join(edivRoot, 'package.json'))).to.equal(true);
  });

  it('the discovery daemon entry is the one next to the running module, with its extension', () => {
    expect(DISCOVERY_DAEMON_MAIN).to.equal(path.join(edivRoot, 'src', 'cli', 'discovery-daemon-main.ts'));
    expect(existsSync(DISCOVERY_DAEMON_MAIN)).to.equal(true);
  });

  it('a daemon process is recognised whether it was started from the sources or from a build', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)', '/x/dist/build-0123456789abcdef/discovery-daemon-main.js', 'config.json'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      const pid = child.pid!;
      expect(isDaemonProcess(pid, '/y/src/cli/discovery-daemon-main.ts')).to.equal(true);
      expect(isDaemonProcess(pid, '/x/dist/build-fedcba9876543210/discovery-daemon-main.js')).to.equal(true);
      expect(isDaemonProcess(pid, '/y/src/cli/main.ts')).to.equal(false);
    } finally {
      child.kill();
    }
  });
});
