// The scenario's <host> section on the host that holds it (controller/split.ts decides which):
// the physical host's own participation, made in the agent's namespace (on an emulated host,
// the host's namespace).
//
//   * per <hostif net=N>: a veth pair in the agent's namespace: `eh…` is the host's interface
//     (with the hostif's addresses), `ep…` its port on N's bridge;
//   * the section's routes (`ip route add`, so a route of the host's own is never replaced; a
//     `default` route is refused: it would replace the route the cluster reaches the host by);
//     they go with the links;
//   * <forwarding>: net.ipv4.ip_forward / net.ipv6.conf.all.forwarding of the agent's namespace,
//     journaled with the value it had, which destroy restores (unless another deployment of this
//     agent still sets it).
//
// The section's <exec>s are not run (a scenario warning says so). The whole section is one unit
// with one hash: a change removes and remakes it. Its links are journaled `pending` first and
// with the hash once addresses and routes are in place, so a crash in between remakes it.
import { createHash } from 'node:crypto';
import { InputError, type InputProblem } from '../../../common/errors.ts';
import type { Scenario } from '../../../scenario/model.ts';
import { readableLinkName, type NameAllocator, type NamedAfter } from '../../naming.ts';
import type { Resource } from '../../journal.ts';
import type { LinkInfo } from '../../sys.ts';
import type { DriverContext } from '../driver.ts';

/** What the section needs of a net's spec (desired.ts NetSpec). */
type NetOf = { bridge: string; mtu?: number };
type RouteSpec = { family: 'ipv4' | 'ipv6'; destination: string; gateway: string };

export interface HostIfSpec {
  net: string;
  bridge: string;
  /** The host's interface (addresses). */
  outer: string;
  /** Its peer, the port on the bridge. */
  port: string;
  ipv4: string[];
  ipv6: string[];
  mtu?: number;
}

export interface HostSpec {
  ifaces: HostIfSpec[];
  routes: RouteSpec[];
  forwarding: { ipv4: boolean; ipv6: boolean };
  /** Hash of everything above. */
  hash: string;
}

export function hostifKey(net: string): string {
  return `hostif:${net}`;
}
export function hostportKey(net: string): string {
  return `hostif:${net}:port`;
}
export function hostSysctlKey(name: string): string {
  return `sysctl:host:${name}`;
}

export const FORWARDING_SYSCTLS = { ipv4: 'net.ipv4.ip_forward', ipv6: 'net.ipv6.conf.all.forwarding' } as const;

const PENDING = 'pending';

/** What the host section asks that cannot be made (at the element's line): refused before anything is made. */
export function hostSectionProblems(s: Scenario): InputProblem[] {
  const h = s.host;
  if (!h) return [];
  const file = s.source.path;
  const nets = new Set(s.nets.map((n) => n.name));
  const out: InputProblem[] = [];
  const seen = new Set<string>();
  for (const hi of h.ifaces) {
    const loc = hi.loc ?? h.loc ?? { file };
    if (!nets.has(hi.net)) out.push({ loc, message: `<hostif net="${hi.net}">: the fragment has no net ${hi.net}, so the host cannot be connected to it` });
    else if (seen.has(hi.net)) out.push({ loc, message: `<hostif net="${hi.net}">: a second host interface on net ${hi.net}: give the host one interface per net` });
    seen.add(hi.net);
  }
  for (const r of h.routes) {
    if (r.destination === 'default') {
      out.push({
        loc: r.loc ?? h.loc ?? { file },
        message: `the <host> section's default route (via ${r.gateway}) is refused: it would replace the route the cluster reaches this host by; route the lab's prefixes instead`,
      });
    }
  }
  return out;
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** The host section's spec (names from the allocator), or undefined when the fragment has none. */
export function hostSpec(s: Scenario, { deployment, lab }: NamedAfter, nets: Map<string, NetOf>, names: NameAllocator): HostSpec | undefined {
  const h = s.host;
  if (!h) return undefined;
  const problems = hostSectionProblems(s);
  if (problems.length) throw new InputError(problems);
  const ifaces = h.ifaces.map((hi): HostIfSpec => {
    const net = nets.get(hi.net);
    if (!net) throw InputError.at(hi.loc?.file ?? s.source.path, hi.loc?.line, hi.loc?.column, `<hostif net="${hi.net}">: the fragment has no net ${hi.net}`);
    return {
      net: hi.net,
      bridge: net.bridge,
      outer: names.name('hostif', `${deployment}|${hostifKey(hi.net)}`, readableLinkName(lab, hi.net, 'h')),
      port: names.name('hostport', `${deployment}|${hostportKey(hi.net)}`, readableLinkName(lab, hi.net, 'p')),
      ipv4: hi.ipv4.map((a) => `${a.address}/${a.prefix}`),
      ipv6: hi.ipv6.map((a) => `${a.address}/${a.prefix}`),
      ...(net.mtu ? { mtu: net.mtu } : {}),
    };
  });
  const spec = {
    ifaces,
    routes: h.routes.map((r) => ({ family: r.family, destination: r.destination, gateway: r.gateway })),
    forwarding: { ipv4: h.forwarding?.ipv4 ?? false, ipv6: h.forwarding?.ipv6 ?? false },
  };
  return { ...spec, hash: hashOf(spec) };
}

/** ip -batch lines making the host's veths and plugging them into the bridges (host batch). */
export function hostLinkLines(h: HostSpec): string[] {
  return h.ifaces.flatMap((i) => {
    const mtu = i.mtu ? ` mtu ${i.mtu}` : '';
    return [`link add name ${i.outer}${mtu} type veth peer name ${i.port}${mtu}`, `link set dev ${i.port} master ${i.bridge} up`];
  });
}

/** ip -batch lines giving the host's interfaces their addresses, then the section's routes. */
export function hostConfigLines(h: HostSpec): string[] {
  const lines: string[] = [];
  for (const i of h.ifaces) {
    for (const a of i.ipv4) lines.push(`addr add ${a} dev ${i.outer}`);
    for (const a of i.ipv6) lines.push(`addr add ${a} dev ${i.outer} nodad`);
    lines.push(`link set dev ${i.outer} up`);
  }
  // The family follows from the addresses (a default route is refused: hostSectionProblems).
  for (const r of h.routes) lines.push(`route add ${r.destination} via ${r.gateway}`);
  return lines;
}

/** The sysctls the section sets (name → value). */
export function hostSysctls(h: HostSpec): [string, string][] {
  const out: [string, string][] = [];
  if (h.forwarding.ipv4) out.push([FORWARDING_SYSCTLS.ipv4, '1']);
  if (h.forwarding.ipv6) out.push([FORWARDING_SYSCTLS.ipv6, '1']);
  return out;
}

/** The journal's host-section resources of this deployment. */
export function journaledHostResources(ctx: Pick<DriverContext, 'journal'>): Resource[] {
  return ctx.journal.resources().filter((r) => r.kind === 'hostif' || (r.kind === 'sysctl' && r.key.startsWith('sysctl:host:')));
}

/** The link resources of the section (journaled before the host batch, `pending` until configured). */
export function hostLinkResources(h: HostSpec, params = PENDING): Resource[] {
  return h.ifaces.flatMap((i): Resource[] => [
    { key: hostifKey(i.net), kind: 'hostif', name: i.outer, net: i.net, params },
    { key: hostportKey(i.net), kind: 'hostif', name: i.port, net: i.net },
  ]);
}

/** Whether the section is there as specified: configured with this hash, its links present and plugged, nothing else journaled. */
export function hostSectionIsCurrent(ctx: Pick<DriverContext, 'journal'>, h: HostSpec | undefined, links: Map<string, LinkInfo>): boolean {
  const journaled = journaledHostResources(ctx);
  if (!h) return journaled.length === 0;
  const wanted = new Set([...hostLinkResources(h).map((r) => r.key), ...hostSysctls(h).map(([k]) => hostSysctlKey(k))]);
  if (journaled.length !== wanted.size || !journaled.every((r) => wanted.has(r.key))) return false;
  return h.ifaces.every(
    (i) => ctx.journal.get(hostifKey(i.net))?.params === h.hash && links.has(i.outer) && links.get(i.port)?.master === i.bridge,
  );
}
