// The lab graph model: made from real plans (parse → place → split), no host touched.
import { expect } from 'chai';
import { parseWithMaps, stringifyWithMaps } from '../../../src/common/json.ts';
import { graphOfPlan, hostOfVm, netOn, type LabGraph } from '../../../src/controller/graph.ts';
import { GRAPH_LAB, graphOf, planOf } from '../../helpers/graph-lab.ts';

describe('lab graph model', () => {
  let graph: LabGraph;
  before(async () => {
    graph = await graphOf(GRAPH_LAB, 2);
  });

  it('groups the VMs by their host, in cluster order, and puts the <host> section on one host', () => {
    expect(graph).to.include({ scenario: 'g-lab', backplane: 'vxlan' });
    expect(graph.hosts.map((h) => [h.name, h.vms])).to.deep.equal([
      ['host1', ['a', 'c']],
      ['host2', ['b']],
    ]);
    // The section goes with the first VM on its hostif's net (a, on host1).
    expect(graph.hosts[0]!.hostSection).to.deep.equal({ ifaces: [{ net: 'Net0', addresses: ['10.0.0.254/24'] }] });
    expect(graph.hosts[1]!.hostSection).to.equal(undefined);
  });

  it('has every net: a spanning net once with its id and hosts, the others on their host, a host-local bridge per host', () => {
    expect(graph.nets).to.deep.equal([
      { name: 'Net0', spanning: { id: 1000, hosts: ['host1', 'host2'] } },
      { name: 'lan.a-1', host: 'host1' },
      { name: 'virbr0', host: 'host1' },
      { name: 'idle', host: 'host1' },
      { name: 'virbr0', host: 'host2' },
    ]);
  });

  it('links every interface on a net with its id and addresses (reserved nets such as lo are no link)', () => {
    expect(graph.links).to.deep.equal([
      { vm: 'a', iface: 1, net: 'Net0', addresses: ['10.0.0.1/24', '2001:db8::1/64'] },
      { vm: 'a', iface: 2, net: 'lan.a-1', addresses: ['dhcp'] },
      { vm: 'a', iface: 3, net: 'virbr0', addresses: [] },
      { vm: 'c', iface: 1, net: 'lan.a-1', addresses: ['10.1.0.3/24'] },
      { vm: 'b', iface: 1, net: 'Net0', addresses: ['10.0.0.2/24'] },
      { vm: 'b', iface: 2, net: 'virbr0', addresses: [] },
    ]);
  });

  it('resolves each link to one net node: the spanning one from any host, a host-local one per host', () => {
    const hostOf = hostOfVm(graph);
    expect(Object.fromEntries(hostOf)).to.deep.equal({ a: 'host1', c: 'host1', b: 'host2' });
    const nodeOf = (vm: string, net: string) => netOn(graph, hostOf.get(vm)!, net);
    expect(nodeOf('a', 'Net0')).to.equal(nodeOf('b', 'Net0'));
    expect(nodeOf('a', 'virbr0')).to.deep.equal({ name: 'virbr0', host: 'host1' });
    expect(nodeOf('b', 'virbr0')).to.deep.equal({ name: 'virbr0', host: 'host2' });
    for (const l of graph.links) expect(nodeOf(l.vm, l.net), `${l.vm}.${l.iface}`).to.not.equal(undefined);
  });

  it('on one host nothing spans; a recorded plan (JSON round trip) gives the same graph', async () => {
    const one = await graphOf(GRAPH_LAB, 1);
    expect(one.nets.filter((n) => n.spanning)).to.deep.equal([]);
    expect(one.hosts.map((h) => h.vms)).to.deep.equal([['a', 'b', 'c']]);
    const plan = await planOf(GRAPH_LAB, 2);
    expect(graphOfPlan(parseWithMaps(stringifyWithMaps(plan)))).to.deep.equal(graph);
  });
});
