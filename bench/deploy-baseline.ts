// The raw baseline of bench/deploy.ts: what a deployment makes on each host — one namespace per
// VM, a bridge per net, a veth per VM into its bridge, a VXLAN link per net with head-end
// replication to the other hosts, addresses, links up — as hand-written iproute2 batches (one
// `ip -batch` on the host side, one `ip -n <ns> -batch` per namespace, as the host-agent
// benchmark's baseline does), run on every host in parallel.
import { execa } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface RawHost {
  name: string;
  netns: string;
  address: string;
}

export interface RawPlan {
  hosts: { host: RawHost; apply: string; destroy: string }[];
}

const VNI_BASE = 1900;

export function rawPlan(o: { vms: number; nets: number; mapping: Record<string, string>; hosts: RawHost[]; work: string }): RawPlan {
  const dir = path.join(o.work, 'raw');
  mkdirSync(dir, { recursive: true });
  return {
    hosts: o.hosts.map((h) => {
      const hostBatch: string[] = [];
      const fdb: string[] = [];
      const destroy: string[] = [];
      const script = ['set -e'];
      for (let j = 0; j < o.nets; j++) {
        hostBatch.push(
          `link add name r7br${j} type bridge`,
          `link set dev r7br${j} up`,
          `link add r7vx${j} type vxlan id ${VNI_BASE + j} dstport 4789 local ${h.address} dev eth0 nolearning`,
          `link set dev r7vx${j} master r7br${j} up`,
        );
        for (const other of o.hosts) if (other !== h) fdb.push(`fdb append 00:00:00:00:00:00 dev r7vx${j} dst ${other.address}`);
        destroy.push(`link del r7vx${j}`, `link del r7br${j}`);
      }
      const nsScripts: string[] = [];
      for (let i = 0; i < o.vms; i++) {
        if (o.mapping[`vm${i + 1}`] !== h.name) continue;
        const j = i % o.nets;
        const host = Math.floor(i / o.nets) + 2;
        const ns = `edivraw.${i}`;
        hostBatch.push(`netns add ${ns}`);
        hostBatch.push(`link add r7v${i} type veth peer name eth1 netns ${ns}`, `link set dev r7v${i} master r7br${j} up`);
        destroy.unshift(`netns del ${ns}`);
        const nsFile = path.join(dir, `${h.name}-${i}.batch`);
        writeFileSync(nsFile, [`link set lo up`, `addr add 10.${j}.${host >> 8}.${host & 255}/16 dev eth1`, `link set eth1 up`, ''].join('\n'));
        nsScripts.push(`ip -n ${ns} -batch ${nsFile}`);
      }
      const hostFile = path.join(dir, `${h.name}-host.batch`);
      const fdbFile = path.join(dir, `${h.name}-fdb.batch`);
      writeFileSync(hostFile, hostBatch.join('\n') + '\n');
      writeFileSync(fdbFile, fdb.join('\n') + '\n');
      script.push(`ip -batch ${hostFile}`, `bridge -batch ${fdbFile}`, ...nsScripts);
      const applyFile = path.join(dir, `${h.name}-apply.sh`);
      const destroyFile = path.join(dir, `${h.name}-destroy.batch`);
      writeFileSync(applyFile, script.join('\n') + '\n');
      writeFileSync(destroyFile, destroy.join('\n') + '\n');
      return { host: h, apply: applyFile, destroy: destroyFile };
    }),
  };
}

async function inHost(netns: string, argv: string[], reject = true): Promise<void> {
  await execa('nsenter', [`--net=/run/netns/${netns}`, ...argv], { reject });
}

/** Seconds to run every host's apply script, hosts in parallel. */
export async function rawApply(p: RawPlan): Promise<number> {
  const t0 = performance.now();
  await Promise.all(p.hosts.map((h) => inHost(h.host.netns, ['sh', h.apply])));
  return (performance.now() - t0) / 1000;
}

/** Seconds to remove everything rawApply made (-force: keeps going past what is already gone). */
export async function rawDestroy(p: RawPlan): Promise<number> {
  const t0 = performance.now();
  await Promise.all(p.hosts.map((h) => inHost(h.host.netns, ['ip', '-force', '-batch', h.destroy], false)));
  return (performance.now() - t0) / 1000;
}
