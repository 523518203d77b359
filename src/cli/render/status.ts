// Text report of `ediv status`: the scenarios (or one scenario's VMs) and the hosts' live view.
import type { StatusReport } from '../../controller/status.ts';
import { table } from './table.ts';

export function renderStatus(r: StatusReport, one: boolean): string {
  const all = r.unrecorded !== undefined;
  if (r.scenarios.length === 0 && !r.unrecorded?.length) return `no scenario is deployed${r.hidden ? ` (${r.hidden} of other owners not shown: only administrators see them)` : ''}\n`;
  let s = '';
  if (!one) {
    const owner = (o: { user: string; store: string } | undefined) => (o ? `${o.user}@${o.store.slice(0, 8)}` : '-');
    s += table(
      ['SCENARIO', 'STATUS', ...(all ? ['OWNER'] : []), 'VMS', 'HOSTS', 'IDS', 'SINCE'],
      [
        ...r.scenarios.map((x) => [x.name, x.status, ...(all ? [owner(x.owner)] : []), x.vms.length, x.hosts.map((h) => h.host).join(','), x.ids.map((i) => i.id).join(',') || '-', x.updatedAt]),
        ...(r.unrecorded ?? []).map((u) => [u.key, 'not recorded here', owner(u.owner), u.vms, u.hosts.join(','), u.ids.map((i) => i.id).join(',') || '-', '-']),
      ],
    );
    if (r.hidden) s += `(${r.hidden} lab(s) of other owners not shown: only administrators see them)\n`;
  } else {
    const x = r.scenarios[0]!;
    s += `${x.name}: ${x.status} since ${x.updatedAt} (source ${x.source}, cluster ${x.clusterFile})\n`;
    s += `  owner: ${x.owner.user} (state store ${x.owner.store}); on the hosts: ${x.key}\n`;
    if (x.error) s += `  last error: ${x.error}\n`;
    if (x.ids.length) s += `  ids: ${x.ids.map((i) => `${i.net}=${i.id}`).join(', ')}\n`;
    const b = x.backplane;
    s += `  backplane: ${b.kind}${b.port !== undefined ? `, UDP port ${b.port}` : ''}${b.trunkMTU !== undefined ? `, trunk MTU ${b.trunkMTU}` : ''}\n`;
    const drivers = x.hosts.filter((h) => h.driver).map((h) => `${h.host}=${h.driver}`);
    if (drivers.length) s += `  drivers: ${drivers.join(', ')}\n`;
    const usage = x.vms.some((v) => v.cpuSeconds !== undefined || v.memMB !== undefined);
    const sampled = x.vms.some((v) => v.cpuPercent !== undefined);
    const head = ['VM', 'HOST', 'RECORDED', 'LIVE', ...(sampled ? ['CPU %'] : []), ...(usage ? ['CPU S', 'MEM MB'] : [])];
    const num = (n: number | undefined, digits: number) => (n === undefined ? '-' : n.toFixed(digits));
    s += '\n' + table(head, x.vms.map((v) => [v.vm, v.host, v.recorded, v.live, ...(sampled ? [num(v.cpuPercent, 1)] : []), ...(usage ? [num(v.cpuSeconds, 2), num(v.memMB, 1)] : [])]));
    const links = x.vms.flatMap((v) => (v.links ?? []).map((l) => [v.vm, l.name, l.net, l.addresses.join(' ') || '-', l.mac ?? '-', `${v.host}:${l.hostSide}`]));
    if (links.length) s += '\n' + table(['VM', 'IF', 'NET', 'ADDRESSES', 'MAC', 'HOST-SIDE LINK'], links);
    if (x.nets?.length) {
      s += '\n' + table(['NET', 'ID', 'HOST', 'BRIDGE', 'BACKPLANE'], x.nets.flatMap((n) => n.hosts.map((h) => [n.net, n.id ?? '-', h.host, h.bridge ?? '-', h.backplane ?? '-'])));
    }
  }
  if (r.hosts.length > 0) {
    s += '\n' + table(
      ['HOST', 'ADDRESS', 'LOAD', 'CPUS', 'MEM FREE', 'STATE'],
      r.hosts.map((h) => [
        h.host,
        h.address,
        h.loadAvg ? h.loadAvg.map((l) => l.toFixed(2)).join(' ') : '-',
        h.usage?.cpus ?? '-',
        h.usage ? `${h.usage.memAvailableMB} of ${h.usage.memTotalMB} MB` : '-',
        h.reachable ? 'up' : `unreachable: ${h.error}`,
      ]),
    );
  }
  return s;
}
