// What `ediv status LAB` shows of a deployment's links on this host: per VM interface its name
// in the VM, its net, the host-side name of its cable (what `tcpdump -i` takes), its MAC and
// addresses as the VM has them now; per net its bridge here and its backplane link. Names come
// from the journal; MACs and addresses from the VMs' namespaces (one `ip -j addr` per VM).
import { isBackplaneKind } from '../protocol/backplane.ts';
import type { NetLinks, VmLink } from '../protocol/agent.ts';
import { mapLimit } from '../common/parallel.ts';
import type { Journal } from './journal.ts';
import { run } from './sys.ts';

interface IpAddr {
  ifname: string;
  address?: string;
  addr_info?: { local: string; prefixlen: number; scope?: string }[];
}

/** The VM's interfaces with their live MAC and addresses (link-local ones left out). */
async function liveAddresses(netns: string): Promise<Map<string, { mac?: string; addresses: string[] }>> {
  const r = await run('ip', ['-n', netns, '-j', 'addr', 'show']);
  const out = new Map<string, { mac?: string; addresses: string[] }>();
  if (r.exitCode !== 0) return out;
  for (const l of JSON.parse(r.stdout || '[]') as IpAddr[]) {
    out.set(l.ifname, { mac: l.address, addresses: (l.addr_info ?? []).filter((a) => a.scope !== 'link').map((a) => `${a.local}/${a.prefixlen}`) });
  }
  return out;
}

export async function deploymentLinks(journal: Journal): Promise<{ vms: Record<string, VmLink[]>; nets: NetLinks[] }> {
  const resources = journal.resources();
  const namespaces = new Map(resources.filter((r) => r.kind === 'netns' && r.vm).map((r) => [r.vm!, r.name]));
  const vms: Record<string, VmLink[]> = {};
  await mapLimit([...namespaces], 8, async ([vm, netns]) => {
    const live = await liveAddresses(netns);
    vms[vm] = resources
      .filter((r) => r.kind === 'veth' && r.vm === vm)
      .map((r): VmLink => {
        const name = r.params ?? r.key.split(':').pop()!;
        const now = live.get(name);
        return { name, ...(r.net ? { net: r.net } : { net: 'vm_mgmt' }), hostSide: r.name, ...(now?.mac ? { mac: now.mac } : {}), addresses: now?.addresses ?? [] };
      });
  });
  const nets = new Map<string, NetLinks>();
  for (const r of resources) {
    if (r.vm || !r.net) continue;
    const n = nets.get(r.net) ?? { net: r.net };
    if (r.kind === 'bridge') n.bridge = r.name;
    else if (isBackplaneKind(r.kind)) n.backplane = r.name;
    nets.set(r.net, n);
  }
  return { vms, nets: [...nets.values()].filter((n) => n.bridge).sort((a, b) => a.net.localeCompare(b.net)) };
}
