// Quality figures of a placement: how many nets span hosts, how many extra trunk
// attachments they cost, and how far the busiest host is over its share.
import type { Scenario } from '../scenario/model.ts';
import { netIfaces } from '../scenario/reserved-nets.ts';
import { netSegments } from '../scenario/net-connections.ts';
import type { HostFacts, Mapping } from '../segmentators/api.ts';
import type { PlanQuality } from '../protocol/plan.ts';
import { cpuWeights } from '../segmentators/problem.ts';

/**
 * net → hosts that carry it: the hosts of the VMs attached to it, plus the host chosen for
 * the `<host>` section when one of its hostifs is on the net.
 */
export function netCarriers(scenario: Scenario, mapping: Mapping, hostSectionHost?: string): Map<string, Set<string>> {
  const carriers = new Map<string, Set<string>>();
  const add = (net: string, host: string) => {
    let set = carriers.get(net);
    if (!set) carriers.set(net, (set = new Set()));
    set.add(host);
  };
  for (const vm of scenario.vms) for (const f of netIfaces(vm)) add(f.net, mapping[vm.name]);
  if (hostSectionHost && scenario.host) for (const hi of scenario.host.ifaces) add(hi.net, hostSectionHost);
  // Nets linked by <connection> are one segment: each is carried wherever one of them is.
  const segments = netSegments(scenario);
  const bySegment = new Map<string, Set<string>>();
  for (const [net, hosts] of carriers) {
    const seg = segments.get(net) ?? net;
    bySegment.set(seg, new Set([...(bySegment.get(seg) ?? []), ...hosts]));
  }
  for (const [net, seg] of segments) {
    const hosts = bySegment.get(seg);
    if (hosts) carriers.set(net, new Set(hosts));
  }
  return carriers;
}

/**
 * Imbalance: max over hosts of (VMs on host / host's share) − 1, the share being the VM
 * count split in proportion to cpu over the hosts the segmentator could use.
 */
export function imbalance(mapping: Mapping, hosts: Pick<HostFacts, 'name' | 'cpu'>[]): number {
  const n = Object.keys(mapping).length;
  if (n === 0 || hosts.length === 0) return 0;
  const w = cpuWeights(hosts); // normalised: finite and non-zero whatever the cpu figures
  const sum = w.reduce((a, b) => a + b, 0);
  const count = new Map<string, number>();
  for (const h of Object.values(mapping)) count.set(h, (count.get(h) ?? 0) + 1);
  let worst = 0;
  hosts.forEach((h, i) => {
    worst = Math.max(worst, (count.get(h.name) ?? 0) / ((n * w[i]) / sum));
  });
  return Math.round((worst - 1) * 1e4) / 1e4;
}

export function planQuality(carriers: Map<string, Set<string>>, mapping: Mapping, hosts: Pick<HostFacts, 'name' | 'cpu'>[]): PlanQuality {
  let spanningNets = 0;
  let crossHostAttachments = 0;
  for (const set of carriers.values()) {
    if (set.size > 1) {
      spanningNets++;
      crossHostAttachments += set.size - 1;
    }
  }
  return { spanningNets, crossHostAttachments, imbalance: imbalance(mapping, hosts) };
}
