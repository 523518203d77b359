// What a host needs to take its part in a deploy, judged from its facts (pure; unit-tested):
// the agent (version, root), the kernel (namespaces, bridges, veths, the backplane's link type),
// the programs (iproute2, python3, nsenter), the container driver's overlayfs and cgroups, FRR
// when the lab runs it, and the clock. `ediv cluster check` prints every item; `deploy` stops
// before touching anything when a required one fails on a host it would use.
import type { FactsResult, HostTools } from '../protocol/agent.ts';
import type { Cluster, ClusterHost } from '../protocol/cluster.ts';
import { BACKPLANES } from '../protocol/backplane.ts';
import type { Scenario } from '../scenario/model.ts';
import { hostDrivers } from './drivers.ts';

export interface Requirement {
  /** What is checked, e.g. "agent", "kernel: vxlan", "overlayfs". */
  check: string;
  ok: boolean;
  /** False: advice (a deploy goes on without it). */
  required: boolean;
  /** What the host has. */
  found: string;
  /** What is needed and why, when it is not there. */
  need?: string;
}

/** What the lab being deployed (or checked for) asks of hosts beyond the cluster's own needs. */
export interface LabNeeds {
  /** It runs FRR routers (its command sequences start FRR's daemons). */
  frr: boolean;
}

/** Clocks further apart than this are reported (discovery's cache times, logs and journals compare them). */
export const CLOCK_SKEW_LIMIT_MS = 2000;

const FRR_WORDS = /\/usr\/lib\/frr\/|\b(?:zebra|ospfd|ospf6d|bgpd|isisd|ripd|ripngd|frrinit\.sh|vtysh)\b/;

/** The lab's needs, from its scenario: FRR when an exec or a filetree of it names FRR's daemons or /etc/frr. */
export function labNeeds(s: Scenario): LabNeeds {
  const texts = s.vms.flatMap((vm) => [...vm.execs.map((e) => e.text), ...vm.filetrees.map((f) => f.root)]);
  return { frr: texts.some((t) => FRR_WORDS.test(t) || /^\/etc\/frr\/?$/.test(t)) };
}

const have = (v: string | null | undefined): string => v ?? 'missing';

export function hostRequirements(
  cluster: Cluster,
  host: ClusterHost,
  f: FactsResult,
  o: { controllerVersion?: string; skewMs?: number; lab?: LabNeeds },
): Requirement[] {
  const out: Requirement[] = [];
  const add = (check: string, ok: boolean, found: string, need: string, required = true) => out.push({ check, ok, required, found, ...(ok ? {} : { need }) });

  const how = f.bundle ? `brought by the controller, bundle ${f.bundle.slice(0, 12)}` : host.agentNode !== undefined ? 'brought by the controller' : 'installed';
  // (Without a controller version, a test's deploy with stand-in dependencies, any agent will do.)
  add('agent', o.controllerVersion === undefined || f.version === o.controllerVersion, `ediv ${f.version} (${how})`, `the controller's version, ${o.controllerVersion}: update the host's ediv, or leave out agentCommand so the controller brings its own`);
  if (f.node) add('node', true, f.node, '');
  add('root', f.root, f.root ? 'yes' : 'no', 'the agent must run as root (it makes namespaces and links): log in as root, or set ssh.sudo');
  const caps = f.capabilities ?? ({} as Partial<FactsResult['capabilities']>);
  for (const [cap, what] of [['netns', 'network namespaces'], ['bridge', 'Linux bridges'], ['veth', 'veth pairs']] as const) {
    add(`kernel: ${cap}`, Boolean(caps[cap]), caps[cap] ? 'yes' : 'missing', `the kernel must have ${what}`);
  }
  const backplane = BACKPLANES[cluster.backplane];
  if (backplane) {
    const yes = Boolean(caps[backplane.capability]);
    add(`kernel: ${backplane.capability}`, yes, yes ? 'yes' : 'missing', `the kernel lacks ${backplane.lacking}`);
  }
  const drivers = hostDrivers(cluster, host);
  for (const driver of drivers) {
    const yes = (f.drivers ?? []).includes(driver);
    add(`driver: ${driver}`, yes, yes ? 'yes' : 'missing', `the agent has no driver ${driver} (it has: ${(f.drivers ?? []).join(', ') || 'none'})`);
  }
  const t: Partial<HostTools> | undefined = f.tools;
  if (t) {
    add('iproute2', t.iproute2 !== null, have(t.iproute2), 'ip (iproute2) must be installed: apt-get install iproute2');
    add('nsenter', t.nsenter !== null, have(t.nsenter), 'nsenter (util-linux) must be installed');
    if (drivers.includes('container')) {
      add('python3', t.python3 !== null, have(t.python3), "the container driver's launcher runs on python3: apt-get install python3");
      add('overlayfs', Boolean(t.overlayfs), t.overlayfs ? 'yes' : 'missing', "the container driver's copy-on-write roots need overlayfs (modprobe overlay)");
      add('cgroups', t.cgroups !== null, have(t.cgroups), 'the container driver needs cgroups (v1 controllers or v2) mounted at /sys/fs/cgroup');
    }
    add('tc', t.tc !== null, have(t.tc), 'link shaping (bw, delay) needs tc (iproute2)', false);
    add('tcpdump', t.tcpdump !== null, have(t.tcpdump), '`ediv capture` needs tcpdump', false);
    const frr = o.lab?.frr === true;
    add('frr', t.frr !== null, have(t.frr), frr ? 'this lab runs FRR routers: apt-get install frr' : 'labs that run FRR routers need it (apt-get install frr)', frr);
  }
  if (o.skewMs !== undefined) {
    const s = o.skewMs / 1000;
    add('clock', Math.abs(o.skewMs) <= CLOCK_SKEW_LIMIT_MS, `${s >= 0 ? '+' : ''}${s.toFixed(1)} s from the controller's`, `clocks within ${CLOCK_SKEW_LIMIT_MS / 1000} s (run NTP, e.g. systemd-timesyncd or chrony)`, false);
  }
  return out;
}

/** The failed required items as problem lines ("kernel: vxlan: the kernel lacks VXLAN ..."). */
export function unmet(reqs: Requirement[]): string[] {
  return reqs.filter((r) => r.required && !r.ok).map((r) => `${r.check}: ${r.need}`);
}

/**
 * The host's clock minus the controller's, from facts answered between `sentAt` and
 * `receivedAt` (controller clock): the host read its clock about halfway.
 */
export function clockSkew(f: FactsResult, sentAt: number, receivedAt: number): number | undefined {
  return f.clockMs === undefined ? undefined : Math.round(f.clockMs - (sentAt + receivedAt) / 2);
}
