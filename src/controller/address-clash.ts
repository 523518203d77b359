// Labs that would give one host the same addresses twice: two labs (two copies of a scenario
// under `deploy --name`, say) whose `<host>` sections put the same address on the host, or whose
// private `<vm_mgmt>` networks overlap, on a cluster they share. The host cannot tell them apart
// (one route per destination, one owner per address): such a deploy is refused up front.
import type { Scenario } from '../scenario/model.ts';
import { vmMgmtOf } from '../scenario/vm-mgmt.ts';
import type { StateStore } from '../state/store.ts';

export interface RunningLab {
  name: string;
  scenario: Pick<Scenario, 'global' | 'host'>;
  /** Addresses of the hosts it uses. */
  hosts: string[];
}

/** The host-side addresses of a lab: its <host> section's, and its private vm_mgmt network. */
function hostSide(s: Pick<Scenario, 'global' | 'host'>): { addresses: Set<string>; mgmt?: string } {
  const addresses = new Set((s.host?.ifaces ?? []).flatMap((i) => [...i.ipv4, ...i.ipv6].map((a) => a.address)));
  const m = vmMgmtOf(s);
  return { addresses, ...(m?.type === 'private' ? { mgmt: `${m.network}/${m.mask}` } : {}) };
}

/** Why `scenario` cannot run beside `others` on hosts `hosts`, or undefined when it can. */
export function addressClash(scenario: Pick<Scenario, 'name' | 'global' | 'host'>, hosts: string[], others: RunningLab[]): string | undefined {
  const mine = hostSide(scenario);
  if (mine.addresses.size === 0 && !mine.mgmt) return undefined;
  for (const o of others) {
    if (o.name === scenario.name || !o.hosts.some((h) => hosts.includes(h))) continue;
    const theirs = hostSide(o.scenario);
    const shared = [...mine.addresses].filter((a) => theirs.addresses.has(a));
    if (shared.length) return `lab ${o.name} already gives the host the <host> address(es) ${shared.join(', ')}: deploy this copy on another cluster, or without its <host> section`;
    if (mine.mgmt && mine.mgmt === theirs.mgmt) return `lab ${o.name} already uses the management network ${mine.mgmt} (<vm_mgmt type="private">) on these hosts: give this copy another <vm_mgmt network>, or another cluster`;
  }
  return undefined;
}

/** The labs recorded in `store`, as addressClash needs them (their global section, <host> section and hosts). */
export async function runningLabs(store: StateStore): Promise<RunningLab[]> {
  const labs: RunningLab[] = [];
  for (const rec of await store.listScenarios()) {
    // A lab still planning (deployed at this moment by another controller) has no plan yet.
    if (rec.status === 'planning') continue;
    const fragments = Object.values((await store.plan(rec.name)).hosts).flatMap((hp) => (hp.fragment ? [hp.fragment] : []));
    if (fragments.length === 0) continue;
    const hosts = (await store.cluster(rec.name)).hosts.map((h) => h.address);
    labs.push({ name: rec.name, scenario: { global: fragments[0]!.global, host: fragments.find((f) => f.host)?.host }, hosts });
  }
  return labs;
}
