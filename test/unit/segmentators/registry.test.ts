import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scenarioFromSpec } from '../../../bench/lib/generate.ts';
import { InputError, OperationError } from '../../../src/common/errors.ts';
import { edivRoot } from '../../../src/common/paths.ts';
import { noRestrictions } from '../../../src/protocol/restrictions.ts';
import { findBuiltin, listSegmentators, resolveSegmentator } from '../../../src/segmentators/registry.ts';
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
