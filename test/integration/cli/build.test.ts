// The real build of this checkout (scripts/build.ts): bin/ediv then runs the bundle, not the
// sources, and every command tried prints what the sources print (EDIV_FROM_SOURCE=1). Which
// modules a run loads is seen through a module resolve hook given with --import (the product
// itself says nothing about it).
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { edivRoot } from '../../../src/common/paths.ts';
import { isRoot } from '../../../src/common/root.ts';

const node = path.join(edivRoot, 'node_modules', '.bin', 'node');
const ediv = path.join(edivRoot, 'bin', 'ediv');
const scenario = path.join(edivRoot, 'scenarios', 'tutorial.xml');

describe('the compiled build (bin/ediv runs dist/build-*)', function () {
  this.timeout(120000);
  let dir: string;
  let bundle: string;
  const hook = () => path.join(dir, 'hook.mjs');

  /** Runs bin/ediv (from the sources with fromSource); `modules`: the file URLs it resolved. */
  async function run(args: string[], opts: { fromSource?: boolean; input?: string } = {}) {
    const log = path.join(dir, `modules-${Math.random().toString(36).slice(2)}`);
    writeFileSync(log, '');
    const env: Record<string, string> = { EDIV_STATE_DIR: path.join(dir, 'state'), HOOK_LOG: log, EDIV_FROM_SOURCE: opts.fromSource ? '1' : '' };
    const r = await execa(node, ['--import', pathToFileURL(hook()).href, ediv, ...args], { env, reject: false, input: opts.input ?? '', cwd: dir });
    const modules = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((u) => u.replace(pathToFileURL(edivRoot).href + '/', ''));
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, modules };
  }

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-build-cli-'));
    writeFileSync(
      hook(),
      "import { registerHooks } from 'node:module';\nimport { appendFileSync } from 'node:fs';\n" +
        'registerHooks({ resolve(s, c, next) { const r = next(s, c); if (r.url.startsWith("file:")) appendFileSync(process.env.HOOK_LOG, r.url + "\\n"); return r; } });\n',
    );
    const b = await execa(node, [path.join(edivRoot, 'scripts', 'build.ts')], { reject: false });
    expect(b.exitCode, b.stderr).to.equal(0);
    expect(b.stderr).to.match(/^dist\/build-[0-9a-f]{16} \((built|up to date), \d+ ms\)$/m);
    const select = await execa(node, ['--input-type=module', '-e', `const { mainModule } = await import(${JSON.stringify(pathToFileURL(path.join(edivRoot, 'bin', 'build-select.mjs')).href)}); console.log(mainModule(${JSON.stringify(edivRoot)}));`]);
    bundle = select.stdout.trim();
    expect(bundle).to.match(/\/dist\/build-[0-9a-f]{16}\/main\.js$/, 'the build is chosen for the sources it was made from');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('holds both entries and the files the code reads next to its modules', () => {
    for (const f of ['main.js', 'discovery-daemon-main.js', 'completion.bash', 'completion.zsh', 'launcher.py', 'manifest.json']) {
      expect(existsSync(path.join(path.dirname(bundle), f)), f).to.equal(true);
    }
  });

  it('--version and validate: the bundle runs (no TypeScript module loaded), and prints what the sources print', async () => {
    for (const args of [['--version'], ['validate', scenario], ['validate', scenario, '--json'], ['validate', path.join(dir, 'missing.xml')]]) {
      const built = await run(args);
      const src = await run(args, { fromSource: true });
      expect(built.modules, args.join(' ')).to.include(path.relative(edivRoot, bundle));
      expect(built.modules.filter((m) => m.endsWith('.ts')), args.join(' ')).to.deep.equal([]);
      expect(src.modules, args.join(' ')).to.include('src/cli/main.ts');
      expect(src.modules.filter((m) => m.startsWith('dist/'))).to.deep.equal([]);
      expect({ exitCode: built.exitCode, stdout: built.stdout, stderr: built.stderr }, args.join(' ')).to.deep.equal({
        exitCode: src.exitCode,
        stdout: src.stdout,
        stderr: src.stderr,
      });
    }
  });

  it('completion scripts (assets read next to the module) are the same from the bundle', async () => {
    for (const shell of ['bash', 'zsh']) {
      const built = await run(['completion', shell]);
      const src = await run(['completion', shell], { fromSource: true });
      expect(built.exitCode, built.stderr).to.equal(0);
      expect(built.stdout).to.equal(src.stdout).and.contain('_ediv');
    }
  });

  it('the host agent (facts) answers the same from the bundle; its version comes from package.json', async () => {
    // A facts cache for this boot, so that the agent probes no namespace.
    const stateDir = path.join(dir, 'agent-state');
    mkdirSync(stateDir, { recursive: true });
    const caps = { netns: true, bridge: true, veth: true, vxlan: true, vlan8021q: false, tbf: true, netem: false };
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(path.join(stateDir, 'facts-cache.json'), JSON.stringify({ boot, root: isRoot(), caps }));
    const facts = async (fromSource: boolean) => {
      const r = await run(['agent', 'facts', '--state-dir', stateDir], { fromSource, input: '{}' });
      expect(r.exitCode, r.stderr).to.equal(0);
      const line = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ok: boolean; result: Record<string, unknown> };
      delete line.result.loadAvg; // (and the clock: both change between the two runs)
      delete line.result.clockMs;
      return { line, modules: r.modules };
    };
    const built = await facts(false);
    const src = await facts(true);
    expect(built.modules.filter((m) => m.endsWith('.ts'))).to.deep.equal([]);
    expect(built.line).to.deep.equal(src.line);
    const { version } = JSON.parse(readFileSync(path.join(edivRoot, 'package.json'), 'utf8')) as { version: string };
    expect(built.line.result).to.include({ version }).and.deep.include({ capabilities: caps });
  });

  it('the discovery daemon entry runs from the bundle', async () => {
    const config = path.join(dir, 'daemon-config.json');
    mkdirSync(path.join(dir, 'daemon'), { recursive: true });
    writeFileSync(config, JSON.stringify({ host: 'h1', dir: path.join(dir, 'daemon'), stateDir: path.join(dir, 'state'), interface: 'no-such-if0' }));
    const daemon = path.join(path.dirname(bundle), 'discovery-daemon-main.js');
    const built = await execa(node, ['--disable-warning=ExperimentalWarning', daemon, config], { reject: false, all: true });
    const src = await execa(node, ['--disable-warning=ExperimentalWarning', path.join(edivRoot, 'src', 'cli', 'discovery-daemon-main.ts'), config], { reject: false, all: true });
    expect(built.exitCode).to.equal(1);
    expect(built.all).to.match(/interface "no-such-if0"/);
    const strip = (s: string) => s.replace(/^\S+Z /gm, '');
    expect(strip(built.all)).to.equal(strip(src.all));
  });
});
