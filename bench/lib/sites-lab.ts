// The deploy benchmark's lab: the generator's `sites` shape (S sites, each one LAN of its
// gateway and its hosts, the gateways in a ring of point-to-point nets), with one IPv4 address
// per interface, as a Scenario and as the VNX 2.0 file `ediv deploy` reads (written by the
// fragment writer, src/scenario/vnx-write.ts).
//
// Addresses: the k-th net (1-based, in the scenario's order) is 10.k.0.0/16 and its m-th member
// (1-based, in VM order) gets 10.k.<m / 256>.<m % 256>/16.
import type { Scenario } from '../../src/scenario/model.ts';
import { writeScenario } from '../../src/scenario/index.ts';
import { generateScenario } from './generate.ts';

export function sitesLab(name: string, vms: number, sites: number): Scenario {
  const s = generateScenario({ shape: 'sites', vms, sites, seed: 7 });
  if (s.nets.length > 254) throw new RangeError(`${s.nets.length} nets: at most 254 fit the 10.<net>.0.0/16 addresses`);
  const netIndex = new Map(s.nets.map((n, k) => [n.name, k + 1]));
  const members = new Map<string, number>();
  for (const vm of s.vms) {
    for (const i of vm.ifaces) {
      const m = (members.get(i.net) ?? 0) + 1;
      if (m > 65_534) throw new RangeError(`net ${i.net}: more than 65 534 members`);
      members.set(i.net, m);
      i.ipv4 = [{ address: `10.${netIndex.get(i.net)}.${m >> 8}.${m & 255}`, prefix: 16 }];
    }
  }
  return { ...s, name, source: { ...s.source, path: `${name}.xml` } };
}

export function sitesLabXml(name: string, vms: number, sites: number): string {
  return writeScenario(sitesLab(name, vms, sites));
}
