import { expect } from 'chai';
import { generateScenario, scenarioFromSpec, SHAPES } from '../../../bench/lib/generate.ts';
import { InputError } from '../../../src/common/errors.ts';
import { noRestrictions } from '../../../src/protocol/restrictions.ts';
import type { Mapping } from '../../../src/segmentators/api.ts';
import { dynamic, dynamicWeights } from '../../../src/segmentators/dynamic.ts';
import { mincut } from '../../../src/segmentators/mincut.ts';
import { builtinSegmentators } from '../../../src/segmentators/registry.ts';
import { roundRobin } from '../../../src/segmentators/round-robin.ts';
import { constraints } from '../../../src/segmentators/constraints.ts';
import { mappingProblems } from '../../../src/segmentators/validate.ts';
import { weighted } from '../../../src/segmentators/weighted.ts';
import { counts, hosts, input, satisfiableRestrictions, spanning } from './fixtures.ts';

describe('built-in segmentators: properties', function () {
  this.timeout(60000);
  for (const seg of builtinSegmentators) {
    describe(seg.name, () => {
      for (const shape of SHAPES) {
        for (const [n, k] of [
          [40, 3],
          [150, 5],
        ]) {
          it(`${shape}, ${n} VMs on ${k} hosts: complete, within restrictions and capacity, deterministic`, async () => {
            const scenario = generateScenario({ shape, vms: n, seed: n + k });
            const plain = input(scenario, hosts(k, { cpu: [100, 85, 60, 100, 50] }));
            const m1 = await seg.segment(plain);
            expect(mappingProblems(plain, m1)).to.deep.equal([]);
            expect(await seg.segment(plain)).to.deep.equal(m1);

            const { restrictions, hosts: capped } = satisfiableRestrictions(scenario, hosts(k), n * 7 + k);
            const restricted = input(scenario, capped, restrictions);
            const m2 = await seg.segment(restricted);
            expect(mappingProblems(restricted, m2)).to.deep.equal([]);
            expect(await seg.segment(restricted)).to.deep.equal(m2);
          });
        }
      }
      it('puts everything on the only host', async () => {
        const s = generateScenario({ shape: 'mesh', vms: 10, seed: 3 });
        const m = await seg.segment(input(s, hosts(1)));
        expect(new Set(Object.values(m))).to.deep.equal(new Set(['h1']));
      });
      it('honours memory capacity', async () => {
        const s = scenarioFromSpec('mem', { a: ['n1'], b: ['n1'], c: ['n2'], d: ['n2'] }, { memMB: { a: 600, b: 600, c: 100, d: 100 } });
        const inp = input(s, hosts(2, { memMB: [1000, 1000] }));
        const m = await seg.segment(inp);
        expect(mappingProblems(inp, m)).to.deep.equal([]);
        expect(m.a).to.not.equal(m.b);
      });
    });
  }
});

describe('round-robin', () => {
  it('deals VMs in document order: VM i → host i mod n, as EDIV did', () => {
    const s = generateScenario({ shape: 'ring', vms: 10, seed: 1 });
    const m = roundRobin.segment(input(s, hosts(3))) as Mapping;
    expect(s.vms.map((v) => m[v.name])).to.deep.equal(['h1', 'h2', 'h3', 'h1', 'h2', 'h3', 'h1', 'h2', 'h3', 'h1']);
  });
  it('places restricted VMs first, then the rest on the least-loaded host', () => {
    const s = scenarioFromSpec('rr', { a: ['n'], b: ['n'], c: ['n'], d: ['n'] });
    const r = noRestrictions();
    r.vmDeployAt.push({ vm: 'd', host: 'h1' });
    const m = roundRobin.segment(input(s, hosts(2), r)) as Mapping;
    expect(m).to.deep.equal({ d: 'h1', a: 'h2', b: 'h1', c: 'h2' });
  });
});

describe('weighted', () => {
  it('gives each host a share proportional to cpu, within one VM', () => {
    const s = generateScenario({ shape: 'stars', vms: 101, seed: 2 });
    const hs = hosts(3, { cpu: [100, 50, 25] });
    const c = counts(weighted.segment(input(s, hs)) as Mapping);
    const total = 175;
    hs.forEach((h) => expect(Math.abs((c[h.name] ?? 0) - (101 * h.cpu) / total)).to.be.at.most(1));
    expect(c.h1 + c.h2 + c.h3).to.equal(101);
  });
  it('treats hosts of equal cpu like round-robin', () => {
    const s = generateScenario({ shape: 'ring', vms: 9, seed: 1 });
    expect(weighted.segment(input(s, hosts(3)))).to.deep.equal(roundRobin.segment(input(s, hosts(3))));
  });
});

describe('dynamic', () => {
  const s = generateScenario({ shape: 'tiered', vms: 60, seed: 4 });
  it('falls back to round-robin when every host is idle (or reports no load)', () => {
    const idle = hosts(3).map((h) => ({ ...h, loadAvg: 0, cpus: 4 }));
    expect(dynamicWeights(idle)).to.equal(undefined);
    expect(dynamic.segment(input(s, idle))).to.deep.equal(roundRobin.segment(input(s, idle)));
    expect(dynamic.segment(input(s, hosts(3)))).to.deep.equal(roundRobin.segment(input(s, hosts(3))));
  });
  it('sends fewer VMs to a busy host', () => {
    const hs = hosts(3).map((h, i) => ({ ...h, cpus: 4, loadAvg: i === 0 ? 3 : 0 }));
    const c = counts(dynamic.segment(input(s, hs)) as Mapping);
    expect(c.h1).to.be.below(c.h2);
    expect(Math.abs(c.h2 - c.h3)).to.be.at.most(1);
    // weights 100·0.25 : 100 : 100 → 60 · 25/225 ≈ 6.7
    expect(c.h1).to.be.within(6, 7);
  });
});

describe('constraints', () => {
  const s = scenarioFromSpec('c', { a: ['n1'], b: ['n1'], c: ['n2'], d: ['n2'], e: ['n3'] });
  it('names exactly the rules in conflict', () => {
    const r = noRestrictions();
    r.source = 'r.xml';
    r.vmDeployAt.push({ vm: 'a', host: 'h1' }, { vm: 'b', host: 'h2' }, { vm: 'e', host: 'h2' });
    r.affinity.push({ vms: ['a', 'b'] });
    r.antiAffinity.push({ vms: ['c', 'd'] });
    let err: unknown;
    try {
      constraints.segment(input(s, hosts(2), r));
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(InputError);
    const msg = (err as InputError).message;
    expect(msg).to.contain('r.xml').and.contain('vm_deploy_at a → h1').and.contain('vm_deploy_at b → h2').and.contain('affinity {a, b}');
    expect(msg).to.not.contain('vm_deploy_at e').and.not.contain('antiaffinity');
  });
  it('reports capacity that cannot hold the scenario', () => {
    const inp = input(s, hosts(2, { maxVMs: [2, 2] }));
    expect(() => constraints.segment(inp)).to.throw(InputError, /capacity of host h1.*capacity of host h2/);
  });
  it('reports an anti-affinity larger than the host count', () => {
    const r = noRestrictions();
    r.antiAffinity.push({ vms: ['a', 'c', 'e'] });
    expect(() => constraints.segment(input(s, hosts(2), r))).to.throw(InputError, /antiaffinity \{a, c, e\}/);
  });
  it('the same conflicts are errors with every segmentator', async () => {
    const r = noRestrictions();
    r.netDeployAt.push({ net: 'n1', host: 'h1' });
    r.vmDeployAt.push({ vm: 'b', host: 'h2' });
    for (const seg of builtinSegmentators) {
      let err: unknown;
      try {
        await seg.segment(input(s, hosts(2), r));
      } catch (e) {
        err = e;
      }
      expect(err, seg.name).to.be.instanceOf(InputError);
      expect((err as Error).message).to.contain('net_deploy_at n1 → h1').and.contain('vm_deploy_at b → h2');
    }
  });
  it('unknown names in restrictions are input errors', () => {
    const r = noRestrictions();
    r.vmDeployAt.push({ vm: 'zz', host: 'h9' });
    expect(() => roundRobin.segment(input(s, hosts(2), r))).to.throw(InputError, /no VM named "zz".*\n?.*not an active host/);
  });
});

describe('mincut', () => {
  it('cuts a ring into arcs: one spanning net per host', () => {
    const s = generateScenario({ shape: 'ring', vms: 60, seed: 1 });
    const m = mincut.segment(input(s, hosts(3))) as Mapping;
    expect(spanning(s.vms, m)).to.equal(3);
    expect(Object.values(counts(m))).to.deep.equal([20, 20, 20]);
  });
  for (const shape of SHAPES) {
    it(`${shape}: far fewer spanning nets than round-robin, within 5 % imbalance`, () => {
      const s = generateScenario({ shape, vms: 800, seed: 9 });
      const inp = input(s, hosts(4));
      const m = mincut.segment(inp) as Mapping;
      const rr = roundRobin.segment(inp) as Mapping;
      expect(spanning(s.vms, m)).to.be.below(spanning(s.vms, rr) / 3);
      for (const c of Object.values(counts(m))) expect(c).to.be.at.most(Math.floor(200 * 1.05));
    });
  }
  it('keeps pinned VMs where they are pinned', () => {
    const s = generateScenario({ shape: 'ring', vms: 30, seed: 1 });
    const r = noRestrictions();
    r.vmDeployAt.push({ vm: 'v1', host: 'h2' }, { vm: 'v2', host: 'h1' });
    const m = mincut.segment(input(s, hosts(3), r)) as Mapping;
    expect(m.v1).to.equal('h2');
    expect(m.v2).to.equal('h1');
  });
});
