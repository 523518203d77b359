// The raw baseline of bench/deploy.ts: what a deployment of the lab makes on each host, as
// hand-written iproute2 batches run on every host in parallel, for the same VM → host mapping:
//   - a bridge per net the host has (brought up last, as the agent does: a down bridge does not
//     flood each new port's IPv6 start-up traffic to every port already there);
//   - for a net that spans hosts, a VXLAN link into its bridge with head-end replication (an
//     all-zeros FDB entry per other host of the net), MTU 1450 on it, its bridge and its VMs'
//     interfaces (as the vxlan backplane sets); a net on one host gets only its bridge;
//   - per VM a namespace and a veth per interface into its net's bridge (one `ip -batch` on the
//     host side), then one in-namespace spawn per VM, `nsenter --net=<ns> ip -batch`: lo up,
//     addresses, interfaces up. (Not `ip -n <ns>`: that also copies the whole mount table, one
//     mount per VM namespace under /run/netns, so each spawn costs O(VMs) and the whole O(VMs²);
//     the agent uses nsenter --net too.)
// Its destroy deletes every namespace (`netns del`: the kernel removes their veths in its
// batched clean-up), the VXLAN links and bridges, and is timed until everything is gone: one
// `ip -o link show` listing per host per round, until no host-side veth, VXLAN link or bridge of
// the baseline is left, and no namespace of it is named in /run/netns.
import { execa } from 'execa';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Scenario } from '../src/scenario/model.ts';

export interface RawHost {
  name: string;
  /** The host's network namespace (an emulated host). */
  netns: string;
  /** Its backplane address (VXLAN local / remote). */
  address: string;
  /** Its trunk interface (VXLAN underlay). */
  trunk: string;
}

export interface RawHostPlan {
  host: RawHost;
  apply: string;
  destroy: string;
  /** Exact names of the VM namespaces it makes. */
  namespaces: string[];
  /** Exact names of the host-side links it makes (veths, VXLAN links, bridges). */
  links: string[];
}

export interface RawPlan {
  hosts: RawHostPlan[];
  /** Nets on more than one host (each gets a VXLAN link on each of its hosts). */
  spanning: number;
}

/** Prefix of the baseline's VM namespaces (`<prefix><vm>`); unique to this benchmark. */
export const RAW_NS_PREFIX = 'edivdr.';
/** VNIs of the baseline: outside the emulated cluster's id range (1000–1999). */
const VNI_BASE = 19_000;
const VXLAN_PORT = 4789;
/** The trunk's MTU (1500 on the emulated hosts) less VXLAN's 50 bytes. */
const SPANNING_MTU = 1450;

export function rawPlan(o: { scenario: Scenario; mapping: Record<string, string>; hosts: RawHost[]; work: string }): RawPlan {
  const dir = path.join(o.work, 'raw');
  mkdirSync(path.join(dir, 'ns'), { recursive: true });
  const netIdx = new Map(o.scenario.nets.map((n, k) => [n.name, k]));
  const hostsOfNet = new Map<string, Set<string>>();
  for (const vm of o.scenario.vms) {
    const h = o.mapping[vm.name];
    if (h === undefined) throw new Error(`the mapping does not place ${vm.name}`);
    for (const i of vm.ifaces) {
      let set = hostsOfNet.get(i.net);
      if (!set) hostsOfNet.set(i.net, (set = new Set()));
      set.add(h);
    }
  }
  const spans = (net: string) => (hostsOfNet.get(net)?.size ?? 0) > 1;
  const byName = new Map(o.hosts.map((h) => [h.name, h]));
  const plans = o.hosts.map((h): RawHostPlan => {
    const hostBatch: string[] = [];
    const fdb: string[] = [];
    const up: string[] = [];
    const destroyNs: string[] = [];
    const destroyLinks: string[] = [];
    const namespaces: string[] = [];
    const links: string[] = [];
    const script = ['set -e'];
    for (const [net, set] of hostsOfNet) {
      if (!set.has(h.name)) continue;
      const k = netIdx.get(net)!;
      const br = `rdb${k}`;
      const mtu = spans(net) ? ` mtu ${SPANNING_MTU}` : '';
      hostBatch.push(`link add name ${br}${mtu} type bridge`);
      up.push(`link set dev ${br} up`);
      links.push(br);
      if (spans(net)) {
        const vx = `rdx${k}`;
        hostBatch.push(
          `link add name ${vx}${mtu} type vxlan id ${VNI_BASE + k} local ${h.address} dstport ${VXLAN_PORT} dev ${h.trunk}`,
          `link set dev ${vx} master ${br} up`,
        );
        for (const other of set) if (other !== h.name) fdb.push(`fdb append 00:00:00:00:00:00 dev ${vx} dst ${byName.get(other)!.address}`);
        destroyLinks.push(`link del dev ${vx}`);
        links.push(vx);
      }
      destroyLinks.push(`link del dev ${br}`);
    }
    const nsScripts: string[] = [];
    o.scenario.vms.forEach((vm, v) => {
      if (o.mapping[vm.name] !== h.name) return;
      const ns = `${RAW_NS_PREFIX}${vm.name}`;
      hostBatch.push(`netns add ${ns}`);
      namespaces.push(ns);
      destroyNs.push(`netns del ${ns}`);
      const inner = ['link set dev lo up'];
      for (const i of vm.ifaces) {
        const k = netIdx.get(i.net)!;
        const outer = `rdv${v}i${i.id}`;
        const mtu = spans(i.net) ? ` mtu ${SPANNING_MTU}` : '';
        hostBatch.push(`link add name ${outer}${mtu} type veth peer name eth${i.id}${mtu} netns ${ns}`, `link set dev ${outer} master rdb${k} up`);
        links.push(outer);
        for (const a of i.ipv4) inner.push(`addr add ${a.address}/${a.prefix} dev eth${i.id}`);
        inner.push(`link set dev eth${i.id} up`);
      }
      const nsFile = path.join(dir, 'ns', `${vm.name}.batch`);
      writeFileSync(nsFile, inner.join('\n') + '\n');
      nsScripts.push(`nsenter --net=/run/netns/${ns} ip -batch ${nsFile}`);
    });
    const file = (what: string) => path.join(dir, `${h.name}-${what}`);
    writeFileSync(file('host.batch'), hostBatch.join('\n') + '\n');
    script.push(`ip -batch ${file('host.batch')}`);
    if (fdb.length > 0) {
      writeFileSync(file('fdb.batch'), fdb.join('\n') + '\n');
      script.push(`bridge -batch ${file('fdb.batch')}`);
    }
    script.push(...nsScripts);
    writeFileSync(file('up.batch'), up.join('\n') + '\n');
    script.push(`ip -batch ${file('up.batch')}`);
    writeFileSync(file('apply.sh'), script.join('\n') + '\n');
    // Namespaces first: their veths go with them; then the VXLAN links and bridges.
    writeFileSync(file('destroy.batch'), [...destroyNs, ...destroyLinks].join('\n') + '\n');
    return { host: h, apply: file('apply.sh'), destroy: file('destroy.batch'), namespaces, links };
  });
  return { hosts: plans, spanning: [...hostsOfNet.keys()].filter(spans).length };
}

function inHost(netns: string, argv: string[], reject = true) {
  return execa('nsenter', [`--net=/run/netns/${netns}`, ...argv], { reject });
}

/** The baseline's namespaces still named in /run/netns. */
function namespacesLeft(): Set<string> {
  try {
    return new Set(readdirSync('/run/netns').filter((n) => n.startsWith(RAW_NS_PREFIX)));
  } catch {
    return new Set();
  }
}

/** Names of the links in a host namespace (one `ip -o link show`). */
async function linksOf(netns: string): Promise<Set<string>> {
  const r = await inHost(netns, ['ip', '-o', 'link', 'show'], false);
  const names = new Set<string>();
  for (const line of String(r.stdout).split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** Seconds to run every host's apply script, hosts in parallel; checks every namespace is there. */
export async function rawApply(p: RawPlan): Promise<number> {
  const t0 = performance.now();
  await Promise.all(p.hosts.map((h) => inHost(h.host.netns, ['sh', h.apply])));
  const secs = (performance.now() - t0) / 1000;
  const made = namespacesLeft();
  const missing = p.hosts.flatMap((h) => h.namespaces).filter((n) => !made.has(n));
  if (missing.length > 0) throw new Error(`raw apply: ${missing.length} namespaces missing (${missing.slice(0, 3).join(', ')}…)`);
  return secs;
}

/** What of the baseline is still there: [namespaces, links] (one listing per host). */
export async function rawLeft(p: RawPlan): Promise<[number, number]> {
  const ns = namespacesLeft();
  const perHost = await Promise.all(
    p.hosts.map(async (h) => {
      const present = await linksOf(h.host.netns);
      return h.links.filter((l) => present.has(l)).length;
    }),
  );
  return [p.hosts.reduce((a, h) => a + h.namespaces.filter((n) => ns.has(n)).length, 0), perHost.reduce((a, b) => a + b, 0)];
}

export interface RawDestroyTimes {
  /** Seconds until everything was gone. */
  secs: number;
  /** Seconds the `ip -batch` deletions took (the rest is the kernel's clean-up, waited for). */
  batchSecs: number;
  /** Listing rounds until everything was gone. */
  rounds: number;
}

/**
 * Removes everything rawApply made (-force: goes on past what is already gone), hosts in
 * parallel, and waits until it is gone. Throws after `timeoutMs` with what is left.
 */
export async function rawDestroy(p: RawPlan, timeoutMs = 120_000): Promise<RawDestroyTimes> {
  const t0 = performance.now();
  await Promise.all(p.hosts.map((h) => inHost(h.host.netns, ['ip', '-force', '-batch', h.destroy], false)));
  const batchSecs = (performance.now() - t0) / 1000;
  for (let rounds = 1; ; rounds++) {
    const [ns, links] = await rawLeft(p);
    if (ns === 0 && links === 0) return { secs: (performance.now() - t0) / 1000, batchSecs, rounds };
    if (performance.now() - t0 > timeoutMs) throw new Error(`raw destroy: after ${timeoutMs / 1000} s, ${ns} namespaces and ${links} links are left`);
    await sleep(10);
  }
}
