// `ediv cluster up|down|status`: the emulated cluster as text and as JSON.
import type { ClusterStatus } from '../../emulated/cluster.ts';

export function clusterStatusJson(s: ClusterStatus) {
  return {
    instance: s.instance,
    up: s.up,
    hosts: s.hosts.map((h) => ({ name: h.name, address: h.address, netns: h.netns, up: h.up, sshd: h.sshd, bare: h.bare })),
    mgmtInterface: s.mgmtInterface,
    controllerAddress: s.controllerAddress,
    clusterFile: s.clusterFile,
    dir: s.dir,
    backplane: s.backplane,
  };
}

export function renderClusterStatus(s: ClusterStatus): string {
  if (s.hosts.length === 0) return `no emulated cluster instance ${s.instance} (looked in ${s.dir})\n`;
  const lines = [
    `emulated cluster instance ${s.instance}: ${s.up ? 'up' : 'NOT fully up'}`,
    `  switch ${s.mgmtInterface} (controller ${s.controllerAddress}), backplane ${s.backplane ?? '?'}`,
    `  cluster file ${s.clusterFile}`,
    ...s.hosts.map(
      (h) => `  ${h.name.padEnd(8)} ${h.address.padEnd(15)} ${h.netns.padEnd(14)} ${h.up ? 'up' : 'DOWN'}${h.sshd ? `  sshd ${h.sshd}` : '  no sshd'}${h.bare ? '  bare (agent brought by the controller)' : ''}`,
    ),
  ];
  return lines.join('\n') + '\n';
}

export function renderClusterDown(r: { removed: unknown[] }): string {
  return r.removed.length ? `removed ${r.removed.length} items of the emulated cluster\n` : 'nothing to remove\n';
}
