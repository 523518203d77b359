// Every built-in segmentator under extreme but valid host figures — the cluster file's bounds —
// and beyond them (facts from elsewhere: records, plugins' callers): a complete, valid mapping,
// shares that follow the weights, no Infinity/NaN arithmetic (mincut used to throw a TypeError
// for cpu 1.79e308 on two hosts; cpu 5e-324 put every VM on one host). Also: conflicts among
// many rules are named quickly and briefly.
import { expect } from 'chai';
import { generateScenario, scenarioFromSpec } from '../../../bench/lib/generate.ts';
import { InputError } from '../../../src/common/errors.ts';
import { CLUSTER_BOUNDS } from '../../../src/controller/cluster-schema.ts';
import { noRestrictions } from '../../../src/protocol/restrictions.ts';
import type { HostFacts, Mapping } from '../../../src/segmentators/api.ts';
import { dynamicWeights } from '../../../src/segmentators/dynamic.ts';
import { MAX_APART_PAIRS, MIN_RELATIVE_WEIGHT, cpuWeights, describeRule, structuralConflict, rulesOf } from '../../../src/segmentators/problem.ts';
import { builtinSegmentators } from '../../../src/segmentators/registry.ts';
import { mappingProblems } from '../../../src/segmentators/validate.ts';
import { hosts, input } from './fixtures.ts';

const { cpu, memMB, maxVMs } = CLUSTER_BOUNDS;
const counts = (m: Mapping, hs: HostFacts[]) => hs.map((h) => Object.values(m).filter((x) => x === h.name).length);

describe('segmentators at the extremes of host figures', () => {
  const s = generateScenario({ shape: 'ring', vms: 40, seed: 5 });

  it('cpu weights are normalised: the fastest host weighs 1, none less than 1e-9, all finite', () => {
    for (const cpus of [[cpu.max, cpu.max], [cpu.min, cpu.min], [1.79e308, 1.79e308], [5e-324, 5e-324], [1.79e308, 5e-324], [Infinity, NaN, -1, 0]]) {
      const w = cpuWeights(hosts(cpus.length, { cpu: cpus }));
      for (const x of w) expect(x).to.be.finite.and.within(MIN_RELATIVE_WEIGHT, 1);
      expect(Math.max(...w)).to.equal(1);
    }
    expect(cpuWeights(hosts(2, { cpu: [cpu.max, cpu.min] }))).to.deep.equal([1, MIN_RELATIVE_WEIGHT]);
    // Live facts are the host's own report: a negative load over a tiny CPU count must not make a weight infinite.
    const busy = hosts(3, { cpu: [1.79e308, 1.79e308, 100] }).map((h, i) => ({ ...h, cpus: [1e-308, NaN, Infinity][i], loadAvg: [-1e308, 1e308, 3][i] }));
    for (const x of dynamicWeights(busy)!) expect(x).to.be.finite.and.within(MIN_RELATIVE_WEIGHT * 0.05, 1);
  });

  const equal: [string, number][] = [
    ['the largest cpu', cpu.max],
    ['the smallest cpu', cpu.min],
    ['cpu 1.79e308 (beyond the bound)', 1.79e308],
    ['cpu 5e-324 (beyond the bound)', 5e-324],
  ];
  for (const seg of builtinSegmentators) {
    describe(seg.name, () => {
      for (const [what, c] of equal) {
        it(`two hosts of ${what}, the largest memory and maxVMs: a valid mapping, evenly shared`, async () => {
          const hs = hosts(2, { cpu: [c, c], memMB: [memMB.max, memMB.max], maxVMs: [maxVMs.max, maxVMs.max] });
          const inp = input(s, hs);
          const m = await seg.segment(inp);
          expect(mappingProblems(inp, m)).to.deep.equal([]);
          const [a, b] = counts(m, hs);
          expect(Math.abs(a! - b!), `${a} / ${b}`).to.be.at.most(seg.name === 'mincut' ? 2 : 1);
        });
      }
      it('the fastest and the slowest host (10^9 apart): valid, and the fast host gets (nearly) all', async () => {
        for (const cpus of [[cpu.max, cpu.min], [1.79e308, 5e-324]]) {
          const hs = hosts(2, { cpu: cpus });
          const inp = input(s, hs);
          const m = await seg.segment(inp);
          expect(mappingProblems(inp, m)).to.deep.equal([]);
          // round-robin and the idle fallback of dynamic ignore cpu, as EDIV did.
          if (seg.name !== 'round-robin' && seg.name !== 'dynamic') expect(counts(m, hs)[1]).to.be.at.most(1);
        }
      });
    });
  }
});

describe('prototype names', () => {
  it('every built-in maps VMs named __proto__, constructor and toString (the mapping has no prototype)', async () => {
    const s = scenarioFromSpec('p', Object.fromEntries([['__proto__', ['n']], ['constructor', ['n']], ['toString', ['n']], ['hasOwnProperty', ['n']]]));
    for (const seg of builtinSegmentators) {
      const inp = input(s, hosts(2));
      const m = await seg.segment(inp);
      expect(mappingProblems(inp, m), seg.name).to.deep.equal([]);
      expect(Object.keys(m).sort(), seg.name).to.deep.equal(['__proto__', 'constructor', 'hasOwnProperty', 'toString']);
    }
  });
});

describe('conflicts among many rules', () => {
  it('a pin chain through many net_deploy_together rules is named by the rules involved, in a short message', async () => {
    // 2 000 VMs in a line of nets n0..n1999: net_deploy_together {n_i, n_i+1} joins them all; pins at both ends disagree.
    const spec: Record<string, string[]> = {};
    for (let i = 0; i < 2000; i++) spec[`v${i}`] = [`n${i}`, `n${i + 1}`];
    const s = scenarioFromSpec('line', spec);
    const r = noRestrictions();
    r.source = 'r.xml';
    for (let i = 0; i < 400; i++) r.netDeployTogether.push({ nets: [`n${i}`, `n${i + 1}`] });
    r.vmDeployAt.push({ vm: 'v0', host: 'h1' }, { vm: 'v5', host: 'h2' }, { vm: 'v1999', host: 'h2' });
    const inp = input(s, hosts(2), r);
    const witness = structuralConflict(inp)!.map((i) => describeRule(rulesOf(inp)[i]!));
    expect(witness).to.include('vm_deploy_at v0 → h1').and.include('vm_deploy_at v5 → h2');
    expect(witness).to.not.include('vm_deploy_at v1999 → h2');
    expect(witness.filter((w) => w.startsWith('net_deploy_together'))).to.have.length.within(1, 5);
    for (const seg of builtinSegmentators) {
      const t0 = performance.now();
      let err: unknown;
      try {
        await seg.segment(inp);
      } catch (e) {
        err = e;
      }
      expect(performance.now() - t0, seg.name).to.be.below(2000);
      expect(err, seg.name).to.be.instanceOf(InputError);
      const msg = (err as Error).message;
      expect(msg).to.match(/^r\.xml: restrictions cannot all be met; these rules conflict: vm_deploy_at v0 → h1; vm_deploy_at v5 → h2; net_deploy_together/);
      expect(msg).to.not.contain('v1999');
      expect(msg.length).to.be.below(1000);
    }
  });

  it(`anti-affinity rules holding more than ${MAX_APART_PAIRS} pairs are refused at once, by every built-in`, async () => {
    const spec: Record<string, string[]> = {};
    for (let i = 0; i < 1024; i++) spec[`v${i}`] = ['n'];
    const s = scenarioFromSpec('wide', spec);
    const r = noRestrictions();
    r.source = 'r.xml';
    for (let g = 0; g < 300; g++) r.antiAffinity.push({ vms: Object.keys(spec).slice(g % 24, (g % 24) + 1000) }); // 300 × 499 500 pairs
    for (const seg of builtinSegmentators) {
      const t0 = performance.now();
      let err: unknown;
      try {
        await seg.segment(input(s, hosts(1024), r));
      } catch (e) {
        err = e;
      }
      expect(performance.now() - t0, seg.name).to.be.below(200);
      expect(err, seg.name).to.be.instanceOf(InputError);
      expect((err as Error).message).to.equal(`r.xml: the <antiaffinity> rules keep 149850000 pairs of VMs apart; at most ${MAX_APART_PAIRS} are supported`);
    }
    r.antiAffinity.length = 2; // 999 000 pairs: placed
    const m = await builtinSegmentators[0]!.segment(input(s, hosts(1024), r));
    expect(new Set(Object.keys(m).slice(0, 1000).map((v) => m[v])).size).to.equal(1000);
  });

  it('a rule with thousands of VMs is described with the first ten', () => {
    const vms = Array.from({ length: 5000 }, (_, i) => `v${i}`);
    expect(describeRule({ kind: 'antiaffinity', vms })).to.equal(`antiaffinity {${vms.slice(0, 10).join(', ')} and 4990 more}`);
  });
});
