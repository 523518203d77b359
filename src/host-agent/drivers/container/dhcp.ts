// DHCP in container VMs: an interface whose address the scenario gives as `dhcp` (VNX
// `<ipv4>dhcp</ipv4>`) is configured by the VM's own DHCP client, started once the VM runs, in
// the background (the lab's DHCP server may come up later: the client keeps asking). The client
// is the one the VM's root file system has; a VM without one is named in a warning.
import fs from 'node:fs';
import path from 'node:path';
import { run } from '../../sys.ts';
import type { VmSpec } from '../netns/desired.ts';

type Family = 'ipv4' | 'ipv6';

interface DhcpClient {
  name: string;
  /** Where the VM's root may have it. */
  paths: string[];
  /** The command that configures `ifname` in the background. */
  argv(family: Family, ifname: string): string[];
}

const CLIENTS: DhcpClient[] = [
  {
    name: 'dhclient',
    paths: ['/sbin/dhclient', '/usr/sbin/dhclient'],
    argv: (f, ifname) => {
      const v = f === 'ipv6' ? '6' : '4';
      return ['dhclient', `-${v}`, '-nw', '-pf', `/run/dhclient${v}.${ifname}.pid`, '-lf', `/run/dhclient${v}.${ifname}.leases`, ifname];
    },
  },
  { name: 'dhcpcd', paths: ['/sbin/dhcpcd', '/usr/sbin/dhcpcd'], argv: (f, ifname) => ['dhcpcd', f === 'ipv6' ? '-6' : '-4', '-b', ifname] },
];

/** The DHCP client a VM whose root's lower layer is `lower` has, if any. */
export function dhcpClientOf(lower: string, exists: (p: string) => boolean = fs.existsSync): DhcpClient | undefined {
  return CLIENTS.find((c) => c.paths.some((p) => exists(path.join(lower, p))));
}

/** The commands that start DHCP on a VM's interfaces (none when it asks for none). */
export function dhcpCommands(vm: Pick<VmSpec, 'ifaces'>, client: DhcpClient): string[][] {
  return vm.ifaces.flatMap((i) => (i.dhcp ?? []).map((f) => client.argv(f, i.inner)));
}

/**
 * Starts the DHCP clients of freshly started VMs. `enter` is the argv prefix that runs a
 * program inside a VM (its namespaces, root and cgroups). Returns warnings for what it could
 * not start.
 */
export async function startDhcpClients(vms: { spec: VmSpec; lower: string; enter: string[] }[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const { spec, lower, enter } of vms) {
    const asking = spec.ifaces.filter((i) => i.dhcp?.length);
    if (asking.length === 0) continue;
    const client = dhcpClientOf(lower);
    if (!client) {
      warnings.push(`vm ${spec.vm}: interface(s) ${asking.map((i) => i.inner).join(', ')} ask for DHCP, but the VM's root has no DHCP client (${CLIENTS.map((c) => c.name).join(' or ')}): left without an address`);
      continue;
    }
    for (const argv of dhcpCommands(spec, client)) {
      const r = await run(enter[0]!, [...enter.slice(1), ...argv]);
      if (r.exitCode !== 0) warnings.push(`vm ${spec.vm}: ${argv.join(' ')} failed: ${r.stderr.trim().split('\n').pop()}`);
    }
  }
  return warnings;
}
