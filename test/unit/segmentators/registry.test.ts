import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scenarioFromSpec } from '../../../bench/lib/generate.ts';
import { InputError, OperationError } from '../../../src/common/errors.ts';
import { edivRoot } from '../../../src/common/paths.ts';
import { noRestrictions } from '../../../src/protocol/restrictions.ts';
import { makePlan } from '../../../src/controller/plan.ts';
import { clusterSegmentator, findBuiltin, listSegmentators, pluginSpecifier, resolveSegmentator } from '../../../src/segmentators/registry.ts';
import { testCluster } from '../../helpers/test-cluster.ts';
import { hosts, input } from './fixtures.ts';

const scenario = scenarioFromSpec('p', { r1: ['a'], r2: ['a'], r3: ['b'], s1: ['b'] });

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

describe('segmentator registry', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ediv-plugins-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const plugin = (name: string, body: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, body);
    return file;
  };

  it('lists the built-ins with descriptions and EDIV aliases', () => {
    const list = listSegmentators();
    expect(list.map((s) => s.name)).to.deep.equal(['round-robin', 'weighted', 'dynamic', 'constraints', 'mincut']);
    for (const s of list) expect(s.description).to.be.a('string').and.not.equal('');
    expect(list.find((s) => s.name === 'weighted')!.aliases).to.deep.equal(['WeightedRoundRobin']);
  });

  it("resolves EDIV's names case-insensitively", async () => {
    expect((await resolveSegmentator('RoundRobin')).name).to.equal('round-robin');
    expect((await resolveSegmentator('weightedroundrobin')).name).to.equal('weighted');
    expect((await resolveSegmentator('DYNAMICWEIGHTEDROUNDROBIN')).name).to.equal('dynamic');
    expect(findBuiltin('MinCut')!.name).to.equal('mincut');
  });

  it('loads the documented example plugin by path and checks its mapping', async () => {
    const seg = await resolveSegmentator(path.join(edivRoot, 'docs', 'segmentator-plugin-example.mjs'));
    expect(seg.name).to.equal('blocks');
    const m = await seg.segment(input(scenario, hosts(2)));
    expect(m).to.deep.equal({ r1: 'h1', r2: 'h1', r3: 'h2', s1: 'h2' });
  });

  it('loads a plugin by a path relative to the working directory, and a named `segmentator` export', async () => {
    const file = plugin('named.mjs', `export const segmentator = { name: 'all-first', description: 'd', segment: ({ scenario, hosts }) => Object.fromEntries(scenario.vms.map((v) => [v.name, hosts[0].name])) };`);
    const rel = './' + path.relative(process.cwd(), file);
    const seg = await resolveSegmentator(rel);
    expect(await seg.segment(input(scenario, hosts(2)))).to.deep.equal({ r1: 'h1', r2: 'h1', r3: 'h1', s1: 'h1' });
  });

  it('loads a TypeScript plugin', async () => {
    const file = plugin('ts-plugin.ts', `export default { name: 'ts', description: 'd', segment: (i: { scenario: { vms: { name: string }[] }; hosts: { name: string }[] }) => Object.fromEntries(i.scenario.vms.map((v) => [v.name, i.hosts[1].name])) };`);
    const seg = await resolveSegmentator(file);
    expect(Object.values(await seg.segment(input(scenario, hosts(2))))).to.deep.equal(['h2', 'h2', 'h2', 'h2']);
  });

  it('refuses an unknown name or a module that is not a segmentator (InputError)', async () => {
    const e1 = await failure(resolveSegmentator('no-such-algorithm'));
    expect(e1).to.be.instanceOf(InputError);
    expect(e1.message).to.contain('no-such-algorithm').and.contain('round-robin');
    const e2 = await failure(resolveSegmentator(plugin('shape.mjs', `export default { name: 'x', description: 'd' };`)));
    expect(e2).to.be.instanceOf(InputError);
    expect(e2.message).to.contain('shape.mjs').and.contain('segment');
  });

  it('refuses URLs, Node.js modules and odd specifiers before importing anything (InputError on --segmentator)', async () => {
    const g = globalThis as { edivPwned?: number };
    delete g.edivPwned;
    const refused: [string, RegExp][] = [
      ['data:text/javascript,globalThis.edivPwned=1;export default {}', /URLs \(data:, http:, https:, file:, node:, \.\.\.\) are refused/],
      ['DATA:text/javascript,globalThis.edivPwned=2', /URLs .* are refused/],
      ['http://192.0.2.1/x.mjs', /URLs .* are refused/],
      ['https://192.0.2.1/x.mjs', /URLs .* are refused/],
      [`file://${path.join(edivRoot, 'docs', 'segmentator-plugin-example.mjs')}`, /URLs .* are refused/],
      ['node:child_process', /URLs .* are refused/],
      ['child_process', /that is a Node\.js module, not a segmentator plugin/],
      ['./cluster.json', /a plugin file is an ES module ending in \.js, \.mjs, \.ts or \.mts/],
      ['/etc/passwd', /a plugin file is an ES module ending in/],
      ['#internal', /not a built-in segmentator .*, a plugin file path .* or a package name/],
      ['pkg/../../etc', /a package name/],
      ['evil\u0000.mjs', /not a file path or package name/],
      ['', /not a file path or package name/],
    ];
    for (const [spec, why] of refused) {
      const e = await failure(resolveSegmentator(spec));
      expect(e, spec).to.be.instanceOf(InputError);
      expect((e as InputError).problems[0]!.loc.file).to.equal('command line');
      expect(e.message, spec).to.match(/^command line: --segmentator: /).and.match(why);
    }
    expect(g.edivPwned).to.equal(undefined);
    // What is imported: a file: URL of the path against the working directory, or the package name as written.
    expect(pluginSpecifier('./x.mjs')).to.equal(`file://${path.resolve('x.mjs')}`);
    expect(pluginSpecifier('lib/x.ts')).to.equal(`file://${path.resolve('lib/x.ts')}`);
    expect(pluginSpecifier('@lab/seg-blocks')).to.equal('@lab/seg-blocks');
    expect(pluginSpecifier('seg-blocks/sub')).to.equal('seg-blocks/sub');
  });

  it('a bare package name is resolved from ediv\'s own node_modules, not from the working directory', async () => {
    const cwd = process.cwd();
    const pkgDir = path.join(dir, 'node_modules', 'cwd-planted-seg');
    mkdirSync(pkgDir, { recursive: true });
    writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify({ name: 'cwd-planted-seg', type: 'module', main: 'index.js' }));
    writeFileSync(path.join(pkgDir, 'index.js'), `globalThis.edivPlanted = 1; export default { name: 'planted', description: 'd', segment: () => ({}) };`);
    process.chdir(dir);
    try {
      const e = await failure(resolveSegmentator('cwd-planted-seg'));
      expect(e).to.be.instanceOf(InputError);
      expect(e.message).to.contain('is neither a built-in').and.contain('nor a loadable module');
    } finally {
      process.chdir(cwd);
    }
    expect((globalThis as { edivPlanted?: number }).edivPlanted).to.equal(undefined);
  });

  it("a cluster's segmentator is a built-in or an error, never imported", async () => {
    expect(clusterSegmentator({ segmentator: 'WeightedRoundRobin', source: { path: 'c.yaml', format: 'yaml' } }).name).to.equal('weighted');
    const plugin = path.join(edivRoot, 'docs', 'segmentator-plugin-example.mjs');
    const g = globalThis as { edivPwned?: number };
    delete g.edivPwned;
    for (const spec of [plugin, 'data:text/javascript,globalThis.edivPwned=1;export default {name:"x",description:"",segment(){return {}}}']) {
      const cluster = { ...testCluster(2), segmentator: spec };
      // makePlan without --segmentator: the cluster's value is looked up among the built-ins only.
      const e = await failure(makePlan({ scenario, cluster }));
      expect(e).to.be.instanceOf(InputError);
      expect((e as InputError).problems[0]!.loc.file).to.equal('c.yaml');
      expect(e.message).to.match(/is not a built-in .*; a cluster file names built-ins only: plugins load only from --segmentator/);
      // The same value given as --segmentator is a plugin path (or a refused URL).
      if (spec === plugin) expect((await makePlan({ scenario, cluster, segmentator: spec })).segmentator).to.equal('blocks');
    }
    expect(g.edivPwned).to.equal(undefined);
  });

  it('reports a plugin that throws, naming it (OperationError)', async () => {
    const seg = await resolveSegmentator(plugin('throws.mjs', `export default { name: 'boom', description: 'd', segment() { throw new Error('out of ideas'); } };`));
    const e = await failure(Promise.resolve(seg.segment(input(scenario, hosts(2)))));
    expect(e).to.be.instanceOf(OperationError);
    expect(e.message).to.contain('"boom"').and.contain('out of ideas');
  });

  it('rejects bad mappings: a VM missing, an unknown host, a restriction broken', async () => {
    const missing = await resolveSegmentator(plugin('missing.mjs', `export default { name: 'missing', description: 'd', segment: () => ({ r1: 'h1', r2: 'h1', r3: 'h2' }) };`));
    const e1 = await failure(Promise.resolve(missing.segment(input(scenario, hosts(2)))));
    expect(e1).to.be.instanceOf(OperationError);
    expect(e1.message).to.match(/"missing".*bad mapping.*VMs missing from the mapping: s1/);

    const unknown = await resolveSegmentator(plugin('unknown.mjs', `export default { name: 'nowhere', description: 'd', segment: ({ scenario }) => Object.fromEntries(scenario.vms.map((v) => [v.name, 'mars'])) };`));
    const e2 = await failure(Promise.resolve(unknown.segment(input(scenario, hosts(2)))));
    expect(e2.message).to.match(/"nowhere".*unknown or inactive host: r1 → "mars"/);

    const r = noRestrictions();
    r.antiAffinity.push({ vms: ['r1', 'r2'] });
    const example = await resolveSegmentator(path.join(edivRoot, 'docs', 'segmentator-plugin-example.mjs'));
    const e3 = await failure(Promise.resolve(example.segment(input(scenario, hosts(2), r))));
    expect(e3).to.be.instanceOf(OperationError);
    expect(e3.message).to.contain('"blocks"').and.contain('antiaffinity {r1, r2} is not honoured');
  });
});
