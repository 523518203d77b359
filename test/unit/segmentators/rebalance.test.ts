// The built-in rebalance (src/segmentators/rebalance.ts): from live CPU figures, which VMs move
// so that no host is above the threshold — busiest first, to hosts that keep every restriction,
// preferring moves that make no net span hosts; pinned VMs stay; what cannot be helped is said.
import { expect } from 'chai';
import { noRestrictions } from '../../../src/protocol/restrictions.ts';
import type { HostFacts, Mapping } from '../../../src/segmentators/api.ts';
import { rebalanceByLoad } from '../../../src/segmentators/rebalance.ts';
import { parseScenarioText } from '../../../src/scenario/index.ts';

/** VMs on nets: `{ a: ['n1'], b: ['n1', 'n2'] }`. */
function lab(vms: Record<string, string[]>) {
  const nets = [...new Set(Object.values(vms).flat())];
  const body = Object.entries(vms)
    .map(([vm, ns]) => `<vm name="${vm}" type="lxc">${ns.map((n, i) => `<if id="${i + 1}" net="${n}"/>`).join('')}</vm>`)
    .join('\n');
  return parseScenarioText(`<vnx><global><version>2.0</version><scenario_name>lab</scenario_name></global>${nets.map((n) => `<net name="${n}" mode="virtual_bridge"/>`).join('')}\n${body}</vnx>`, 'lab.xml');
}
const hosts = (n: number, cpus = 2): HostFacts[] => Array.from({ length: n }, (_, i) => ({ name: `h${i + 1}`, cpu: 100, cpus, labels: {} }));

describe('rebalance: moves from live CPU figures', () => {
  it('three busy VMs on one host: the busiest leave until no host is above the threshold', () => {
    const scenario = lab({ a: ['n1'], b: ['n2'], c: ['n3'], d: ['n4'] });
    const current: Mapping = { a: 'h1', b: 'h1', c: 'h1', d: 'h2' };
    const plan = rebalanceByLoad({ scenario, hosts: hosts(3), restrictions: noRestrictions(), current, vmCpu: { a: 100, b: 99, c: 98, d: 0 }, maxLoad: 0.75 });
    // h1 had 2.97 CPUs' worth on 2 CPUs (1.485); a goes to h2 (least loaded, first), then b to h3.
    expect(plan.moves).to.deep.equal([{ vm: 'a', from: 'h1', to: 'h2' }, { vm: 'b', from: 'h1', to: 'h3' }]);
    expect(plan.loads).to.deep.equal([{ host: 'h1', before: 1.485, after: 0.49 }, { host: 'h2', before: 0, after: 0.5 }, { host: 'h3', before: 0, after: 0.495 }]);
    expect(plan.over).to.deep.equal([]);
  });

  it('nothing above the threshold: no move', () => {
    const scenario = lab({ a: ['n1'], b: ['n1'] });
    const plan = rebalanceByLoad({ scenario, hosts: hosts(2), restrictions: noRestrictions(), current: { a: 'h1', b: 'h1' }, vmCpu: { a: 50, b: 50 }, maxLoad: 0.75 });
    expect(plan.moves).to.deep.equal([]);
  });

  it('prefers the target where the move makes no net span hosts', () => {
    // a is busy on h1 and shares net n with c, which runs on h3: moving a to h3 spans nothing.
    const scenario = lab({ a: ['n'], b: ['m'], c: ['n'] });
    const plan = rebalanceByLoad({ scenario, hosts: hosts(3), restrictions: noRestrictions(), current: { a: 'h1', b: 'h1', c: 'h3' }, vmCpu: { a: 150, b: 100, c: 10 }, maxLoad: 1 });
    expect(plan.moves).to.deep.equal([{ vm: 'a', from: 'h1', to: 'h3' }]);
  });

  it('restrictions hold: a pinned VM stays, affine VMs move together, anti-affine ones never meet', () => {
    const scenario = lab({ a: ['n1'], b: ['n2'], c: ['n3'], d: ['n4'] });
    const r = noRestrictions();
    r.vmDeployAt.push({ vm: 'a', host: 'h1' });
    r.affinity.push({ vms: ['b', 'c'] });
    r.antiAffinity.push({ vms: ['b', 'd'] });
    const plan = rebalanceByLoad({ scenario, hosts: hosts(3), restrictions: r, current: { a: 'h1', b: 'h1', c: 'h1', d: 'h2' }, vmCpu: { a: 200, b: 60, c: 60, d: 10 }, maxLoad: 1.5 });
    // a (pinned) cannot go; b and c go together, not to h2 where d is.
    expect(plan.moves).to.deep.equal([{ vm: 'b', from: 'h1', to: 'h3' }, { vm: 'c', from: 'h1', to: 'h3' }]);
    expect(plan.over).to.deep.equal([]);
  });

  it('capacity holds, and a host nothing can help stays above and is reported', () => {
    const scenario = lab({ a: ['n1'], b: ['n2'] });
    const hs = hosts(2).map((h) => (h.name === 'h2' ? { ...h, maxVMs: 1 } : h));
    const plan = rebalanceByLoad({ scenario, hosts: hs, restrictions: noRestrictions(), current: { a: 'h1', b: 'h2' }, vmCpu: { a: 190, b: 10 }, maxLoad: 0.5 });
    expect(plan.moves).to.deep.equal([]);
    expect(plan.over).to.deep.equal(['h1']);
  });

  it('deterministic: the same figures give the same plan', () => {
    const scenario = lab({ a: ['n1'], b: ['n1'], c: ['n2'], d: ['n2'], e: ['n3'] });
    const args = { scenario, hosts: hosts(3), restrictions: noRestrictions(), current: { a: 'h1', b: 'h1', c: 'h1', d: 'h1', e: 'h2' } as Mapping, vmCpu: { a: 90, b: 90, c: 90, d: 90, e: 5 }, maxLoad: 0.9 };
    expect(rebalanceByLoad(args)).to.deep.equal(rebalanceByLoad(structuredClone(args)));
  });
});
