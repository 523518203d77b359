// The package as a user installs it (issue 16): `npm pack` of this checkout (its prepack builds
// the bundle), `npm install -g` of the tarball into a fresh prefix, then only the installed
// command: --version, validate, and (as root) an emulated cluster whose second host is bare (the
// package hidden from it: the installed controller brings it its agent bundle), a deploy of the
// tutorial, an exec across hosts, undeploy and cluster down, leaving nothing.
//
// No traffic leaves the machine: npm runs --offline, and --ignore-scripts (the dependencies'
// install scripts only build optional native addons of ssh2, and node-gyp may download Node's
// headers). npm's cache must hold what an install of the package resolves: the full registry
// metadata of every dependency, which `npm ci` does not cache (it asks for the abbreviated
// form); one online install of the packed package into a throw-away prefix caches it. When the
// cache lacks something, the suite is skipped and says what and how to fill it.
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { edivRoot } from '../../../src/common/paths.ts';
import { tagOf } from '../../../src/host-agent/store.ts';
import { emulatedLeftovers, isRoot, removeStaleInstance } from '../../helpers/emulated.ts';

/** Emulated cluster instance of this suite (no other test or benchmark uses it). */
const INSTANCE = 60;
const { version } = JSON.parse(readFileSync(path.join(edivRoot, 'package.json'), 'utf8')) as { version: string };

/** Every file under dir (relative), not descending into node_modules. */
function filesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...filesUnder(dir, r));
    } else out.push(r);
  }
  return out;
}

/** VM namespaces made by the agents whose state tags are `tags` (`<lab>.<uid>.<vm>.<tag>`). */
async function ourVmNamespaces(tags: string[]): Promise<string[]> {
  const names = (await execa('ip', ['-o', 'netns', 'list'])).stdout.split('\n').map((l) => l.split(/\s+/)[0]!);
  return names.filter((n) => tags.some((t) => n.endsWith(`.${t}`)));
}

describe('the installed package (npm pack, npm install -g of the tarball)', function () {
  this.timeout(120_000);
  let tmp: string;
  /** The installed package directory (<prefix>/lib/node_modules/ediv), real path. */
  let pkg: string;
  /** The installed command (<prefix>/bin/ediv). */
  let bin: string;
  /** A PATH with this Node (>= 22.18) first: the installed bin/ediv starts with `env node`. */
  let PATH: string;
  /** npm's environment: this process's, without what an enclosing `npm test` set. */
  let env: Record<string, string>;

  /** Runs the installed ediv (cwd: the temp dir, away from the checkout); json parsed when asked. */
  async function ediv(args: string[], opts: { nodeArgs?: string[]; extraEnv?: Record<string, string> } = {}) {
    const cmd = opts.nodeArgs ? process.execPath : bin;
    const r = await execa(cmd, [...(opts.nodeArgs ? [...opts.nodeArgs, bin] : []), ...args], {
      reject: false,
      cwd: tmp,
      env: { ...env, ...opts.extraEnv },
      extendEnv: false,
      timeout: 300_000,
    });
    let json: any;
    if (args.includes('--json')) {
      try {
        json = JSON.parse(r.stdout);
      } catch {
        // left undefined: the assertion that needs it shows stdout
      }
    }
    return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr, json };
  }

  before(async function () {
    this.timeout(300_000);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ediv-package-'));
    PATH = [path.dirname(process.execPath), ...(process.env.PATH ?? '/usr/bin:/bin').split(':')].join(':');
    env = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !/^npm_/i.test(k) && k !== 'INIT_CWD')) as Record<string, string>;
    env.PATH = PATH;

    const pack = await execa('npm', ['pack', '--offline', '--no-update-notifier', '--json', '--pack-destination', tmp], { cwd: edivRoot, env, extendEnv: false, reject: false });
    expect(pack.exitCode, `npm pack: ${pack.stderr}`).to.equal(0);
    const [{ filename }] = JSON.parse(pack.stdout) as { filename: string }[];
    const tarball = path.join(tmp, path.basename(filename!));
    expect(existsSync(tarball), tarball).to.equal(true);

    const prefix = path.join(tmp, 'prefix');
    const install = await execa(
      'npm',
      ['install', '--global', '--offline', '--no-update-notifier', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', prefix, tarball],
      { cwd: tmp, env, extendEnv: false, reject: false },
    );
    if (install.exitCode !== 0 && /ENOTCACHED/.test(install.stderr)) {
      const missing = install.stderr.match(/request to (\S+) failed/)?.[1] ?? 'registry metadata';
      console.warn(
        `    (skipped: npm cannot install the package offline, and this test never fetches: its cache lacks ${missing}` +
          ` (npm ci caches abbreviated metadata only). Fill it once, online: mkdir /tmp/p && npm pack --pack-destination /tmp/p` +
          ` && npm i -g --ignore-scripts --prefix /tmp/p/prefix /tmp/p/ediv-*.tgz && rm -rf /tmp/p)`,
      );
      this.skip();
    }
    expect(install.exitCode, `npm install -g --offline: ${install.stderr}`).to.equal(0);
    pkg = realpathSync(path.join(prefix, 'lib', 'node_modules', 'ediv'));
    bin = path.join(prefix, 'bin', 'ediv');
  });
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('holds the launcher, one compiled build with its run-time assets, docs and scenarios; no sources, tests, TypeScript or dev tools', () => {
    expect(lstatSync(bin).isSymbolicLink(), `${bin} is npm's link to the package's bin/ediv`).to.equal(true);
    expect(realpathSync(bin)).to.equal(path.join(pkg, 'bin', 'ediv'));
    for (const d of ['src', 'test', 'bench', 'scripts', '.ci']) expect(existsSync(path.join(pkg, d)), d).to.equal(false);
    const files = filesUnder(pkg);
    expect(files.filter((f) => /\.[cm]?ts$/.test(f)), 'TypeScript files').to.deep.equal([]);
    const builds = readdirSync(path.join(pkg, 'dist'));
    expect(builds, 'dist/ holds exactly one build').to.have.length(1);
    expect(builds[0]).to.match(/^build-[0-9a-f]{16}$/);
    for (const f of ['main.js', 'discovery-daemon-main.js', 'manifest.json', 'launcher.py', 'ns-config.py', 'completion.bash', 'completion.zsh']) {
      expect(files, f).to.include(`dist/${builds[0]}/${f}`);
    }
    for (const f of ['bin/ediv', 'bin/build-select.mjs', 'README.md', 'package.json', 'scenarios/tutorial.xml', 'scenarios/ospf-line.xml', 'docs/cluster-file.md']) {
      expect(files, f).to.include(f);
    }
    const deps = readdirSync(path.join(pkg, 'node_modules'));
    for (const dev of ['typescript', 'mocha', 'chai', 'esbuild', 'node', 'dependency-cruiser', '@swc']) expect(deps, 'devDependencies are not installed').to.not.include(dev);
  });

  it('--version prints package.json\'s version, from the installed build alone (no module of the checkout, no TypeScript)', async () => {
    const hook = path.join(tmp, 'hook.mjs');
    const log = path.join(tmp, 'modules.log');
    writeFileSync(
      hook,
      "import { registerHooks } from 'node:module';\nimport { appendFileSync } from 'node:fs';\n" +
        'registerHooks({ resolve(s, c, next) { const r = next(s, c); if (r.url.startsWith("file:")) appendFileSync(process.env.HOOK_LOG, r.url + "\\n"); return r; } });\n',
    );
    writeFileSync(log, '');
    const r = await ediv(['--version'], { nodeArgs: ['--import', pathToFileURL(hook).href], extraEnv: { HOOK_LOG: log } });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(version);
    const modules = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    const ours = pathToFileURL(pkg).href + '/';
    expect(modules.filter((m) => !m.startsWith(ours)), 'modules from outside the installed package').to.deep.equal([]);
    expect(modules.filter((m) => /\.[cm]?ts$/.test(m)), 'TypeScript modules').to.deep.equal([]);
    expect(modules.some((m) => /\/dist\/build-[0-9a-f]{16}\/main\.js$/.test(m)), 'the build ran').to.equal(true);
    // And as a user runs it: the command on PATH.
    const plain = await ediv(['--version']);
    expect({ code: plain.code, stdout: plain.stdout.trim() }).to.deep.equal({ code: 0, stdout: version });
  });

  it('validate --json accepts the tutorial shipped in the package', async () => {
    const r = await ediv(['validate', path.join(pkg, 'scenarios', 'tutorial.xml'), '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.json, r.stdout).to.include({ ok: true, scenario: 'tutorial' });
    expect(r.json.vms.map((v: { name: string }) => v.name)).to.deep.equal(['h1', 'h2', 'r1', 'r2', 'h3', 'h4']);
  });

  describe('on an emulated cluster (instance ' + INSTANCE + '), with the installed command only', function () {
    let clusterDir: string;
    let clusterUp = false;
    let state: string;
    let clusterFile: string;
    let deployed = false;

    before(async function () {
      if (!isRoot()) {
        console.warn('    (skipped: the emulated cluster needs root)');
        this.skip();
      }
      this.timeout(120_000);
      await removeStaleInstance(INSTANCE);
      clusterDir = path.join(tmp, 'cluster');
      state = path.join(tmp, 'state');
    });
    after(async function () {
      this.timeout(180_000);
      // What a failed test left, removed by the installed command, then by exact names.
      if (deployed) await ediv(['undeploy', 'tutorial', '--cluster', clusterFile, '--state', state, '--purge']);
      if (clusterUp) await ediv(['cluster', 'down', '--instance', String(INSTANCE), '--dir', clusterDir]);
      if (isRoot()) await removeStaleInstance(INSTANCE);
    });

    it('cluster up, deploy the tutorial, exec across hosts, undeploy, cluster down: nothing left', async function () {
      this.timeout(300_000);
      const up = await ediv(['cluster', 'up', '--local', '2', '--bare', '2', '--instance', String(INSTANCE), '--dir', clusterDir, '--json']);
      clusterUp = true;
      expect(up.code, up.stderr).to.equal(0);
      clusterFile = path.join(clusterDir, 'cluster.yaml');
      // Host 1 runs the installed agent (this Node and the package's bin/ediv); host 2 is bare (the
      // package is hidden from it): the installed controller brings it the agent bundle it holds.
      const written = parseYaml(readFileSync(clusterFile, 'utf8')) as { hosts: { name: string; agentCommand?: string[]; agentNode?: string; agentStateDir: string }[] };
      expect(written.hosts.map((h) => [h.agentCommand, h.agentNode])).to.deep.equal([
        [[process.execPath, path.join(pkg, 'bin', 'ediv')], undefined],
        [undefined, process.execPath],
      ]);
      const tags = written.hosts.map((h) => tagOf(h.agentStateDir));

      const dep = await ediv(['deploy', path.join(pkg, 'scenarios', 'tutorial.xml'), '--cluster', clusterFile, '--state', state, '--json']);
      deployed = dep.code === 0;
      expect(dep.code, dep.stderr).to.equal(0);
      const hosts = new Set((dep.json.mapping as { vm: string; host: string }[]).map((m) => m.host));
      expect([...hosts].sort(), 'VMs on both hosts').to.deep.equal(['host1', 'host2']);

      const bundles = path.join(written.hosts[1]!.agentStateDir, 'bundles');
      expect(readdirSync(bundles), 'the bundle the package brought').to.have.length(1);
      const builds = readdirSync(path.join(pkg, 'dist'));
      expect(readFileSync(path.join(bundles, readdirSync(bundles)[0]!, 'ediv-agent.mjs')).equals(readFileSync(path.join(pkg, 'dist', builds[0]!, 'ediv-agent.mjs')))).to.equal(true);

      const ex = await ediv(['exec', 'tutorial', 'ping-across', '--cluster', clusterFile, '--state', state, '--json']);
      expect(ex.code, ex.stdout + ex.stderr).to.equal(0);
      expect(ex.json.vms.map((v: { vm: string }) => v.vm)).to.deep.equal(['h1', 'h2', 'h3', 'h4']);
      for (const v of ex.json.vms as { vm: string; commands: { stdout: string }[] }[]) expect(v.commands[0]!.stdout, v.vm).to.match(/2 received/);

      const un = await ediv(['undeploy', 'tutorial', '--cluster', clusterFile, '--state', state, '--json']);
      expect(un.code, un.stderr).to.equal(0);
      deployed = false;
      expect(await ourVmNamespaces(tags), 'VM namespaces after undeploy').to.deep.equal([]);
      const down = await ediv(['cluster', 'down', '--instance', String(INSTANCE), '--dir', clusterDir, '--json']);
      expect(down.code, down.stderr).to.equal(0);
      clusterUp = false;

      expect(await emulatedLeftovers(INSTANCE), 'hosts, links and bridge of the instance').to.deep.equal([]);
      expect(await ourVmNamespaces(tags), 'VM namespaces after cluster down').to.deep.equal([]);
    });
  });
});
