// Semantic checks on a parsed Scenario (any dialect). Every problem is reported, each with
// the file, line and column of the element at fault and what to change. Values that reach a
// host's command lines are checked as the host would take them (values.ts): what validates,
// applies. Two sets:
//   - checkScenario: what every reader of a scenario refuses, a host agent re-reading the
//     fragment it applied included (names, structure, addresses, routes, MACs, interface names,
//     memory: what goes into ip and cgroup files);
//   - deployProblems: what the host agents refuse only when they apply (link shaping, a private
//     <vm_mgmt>, the <host> section, netns's filetree roots), and values ediv once passed through unchecked
//     (sequence names, exec and filetree attributes, lab-file paths, <net mtu>). ediv validate,
//     plan and deploy refuse them; an agent running `exec` on a lab applied before does not.
import type { InputProblem, SourceLocation } from '../common/errors.ts';
import { safeNameProblem } from '../common/names.ts';
import type { Exec, Filetree, Iface, IpAddress, Route, Scenario, Vm } from './model.ts';
import { checkIpAddress, checkRouteDestination, isAddress, notAnAddress, type Family } from './addresses.ts';
import { LOOPBACK_NET, MGMT_NET, isReservedNet } from './reserved-nets.ts';
import { expandSeq, seqNames } from './sequences.ts';
import { netConnections } from './net-connections.ts';
import { escaped, quote } from './quote.ts';
import { shapingProblems } from './shaping-values.ts';
import { MGMT_IFACE, mgmtDisabled, vmMgmtOf, vmMgmtProblem } from './vm-mgmt.ts';
import {
  accountProblem, filetreeRootProblem, ifaceNameProblem, labPathProblem, memProblem, mtuProblem, parseMac, permsProblem,
  rootCharsProblem, seqNameProblem, vmIfaceName, wordProblem,
} from './values.ts';

export { isWindowsPath } from './values.ts';

export function checkScenario(s: Scenario): InputProblem[] {
  const problems: InputProblem[] = [];
  const fileLoc: SourceLocation = { file: s.source.path };
  const add = (loc: SourceLocation | undefined, message: string) => problems.push({ loc: loc ?? fileLoc, message });

  if (!s.name) add(s.global.loc, 'the scenario has no name');
  else addName(add, s.global.loc, 'scenario', s.name);

  const nets = checkNets(s, add);

  // VMs.
  const vms = new Map<string, SourceLocation | undefined>();
  const seqs = new Set<string>();
  for (const vm of s.vms) {
    if (vm.name) {
      addName(add, vm.loc, 'VM', vm.name);
      const first = vms.get(vm.name);
      if (vms.has(vm.name)) add(vm.loc, `VM name ${quote(vm.name)} is used twice${at(first)}: VM names must be unique`);
      else vms.set(vm.name, vm.loc);
    }
    const label = `vm ${vm.name ? escaped(vm.name) : '(unnamed)'}`;
    if (vm.cpus !== undefined && !(Number.isInteger(vm.cpus) && vm.cpus > 0)) add(vm.loc, `${label}: vcpu must be a positive whole number`);
    const mem = vm.memMB === undefined ? undefined : memProblem(vm.memMB);
    if (mem) add(vm.loc, `${label}: ${mem}`);
    checkIfaces(add, vm, label, nets);
    for (const r of vm.routes) checkRoute(add, r, label);
    for (const x of vm.execs) checkExec(add, x, label, seqs);
    for (const f of vm.filetrees) checkFiletree(add, f, label, seqs);
  }

  // The <host> section.
  if (s.host) {
    for (const hi of s.host.ifaces) {
      checkNetRef(add, nets, hi.net, hi.loc, 'host interface', false);
      checkAddresses(add, hi.loc, `host interface on ${escaped(hi.net)}`, hi);
    }
    for (const r of s.host.routes) checkRoute(add, r, 'host');
    for (const x of s.host.execs) checkExec(add, x, 'host', seqs);
  }

  checkCmdSeqs(s, seqs, add, fileLoc);
  return problems;
}

type Add = (loc: SourceLocation | undefined, message: string) => void;

function at(loc: SourceLocation | undefined): string {
  return loc?.line !== undefined ? ` (first at line ${loc.line})` : '';
}

function addName(add: Add, loc: SourceLocation | undefined, kind: string, name: string): void {
  const p = safeNameProblem(kind, name);
  if (p) add(loc, p.replace(JSON.stringify(name), quote(name)));
}

/** Nets: unique, usable names, known connections, vlan and mtu in range. The names, with where each is. */
function checkNets(s: Scenario, add: Add): Map<string, SourceLocation | undefined> {
  const nets = new Map<string, SourceLocation | undefined>();
  for (const n of s.nets) {
    if (!n.name) continue; // reported by the parser
    const label = `net ${escaped(n.name)}`;
    addName(add, n.loc, 'net', n.name);
    if (isReservedNet(n.name)) add(n.loc, `${quote(n.name)} is a reserved net name (lo, unconnected, vm_mgmt: interfaces on no net): rename the net`);
    const first = nets.get(n.name);
    if (nets.has(n.name)) add(n.loc, `net name ${quote(n.name)} is used twice${at(first)}: net names must be unique`);
    else nets.set(n.name, n.loc);
    for (const c of netConnections([n])) {
      if (!s.nets.some((m) => m.name === c.to)) add(c.loc ?? n.loc, `${label}: <connection${c.name ? ` name=${quote(c.name)}` : ''}> is to net ${quote(c.to)}, which is not declared`);
      else if (c.to === n.name) add(c.loc ?? n.loc, `${label}: <connection> to itself`);
    }
    if (n.vlan !== undefined && !(Number.isInteger(n.vlan) && n.vlan >= 1 && n.vlan <= 4094)) {
      add(n.loc, `${label}: vlan ${n.vlan} is out of range 1-4094`);
    }
  }
  return nets;
}

/**
 * A VM's interfaces: ids unique, nets declared, MACs unicast, addresses valid, and names that
 * Linux takes, unique among the interfaces made in the VM (an unnamed one is eth<id>).
 */
function checkIfaces(add: Add, vm: Vm, label: string, nets: Map<string, unknown>): void {
  const ids = new Map<number, SourceLocation | undefined>();
  const names = new Map<string, Iface>();
  for (const i of vm.ifaces) {
    const idTwice = ids.has(i.id);
    if (Number.isInteger(i.id)) {
      if (idTwice) add(i.loc, `${label}: interface id ${i.id} is used twice${at(ids.get(i.id))}: give each <if> its own id`);
      else ids.set(i.id, i.loc);
    } else if (!Number.isNaN(i.id)) add(i.loc, `${label}: interface id ${i.id} must be a whole number`);
    checkNetRef(add, nets, i.net, i.loc, `${label}, interface ${Number.isNaN(i.id) ? '?' : i.id}`, true);
    const nameProblem = i.name === undefined ? undefined : ifaceNameProblem(i.name);
    if (nameProblem) add(i.loc, `${label}: ${nameProblem}`);
    // Interfaces on lo and vm_mgmt are not made as such (their addresses go to lo / the management
    // link); an unnamed interface with an id used twice is reported as that.
    const unnamedTwice = idTwice && i.name === undefined;
    if (!nameProblem && !unnamedTwice && i.net !== LOOPBACK_NET && i.net !== MGMT_NET && !Number.isNaN(i.id)) {
      const name = vmIfaceName(i);
      const first = names.get(name);
      if (first) {
        add(i.loc, `${label}: interfaces ${first.id} and ${i.id} are both named ${quote(name)}${at(first.loc)} (an <if> without a name is eth<id>): give each its own name`);
      } else names.set(name, i);
    }
    if (i.mac !== undefined) {
      const mac = parseMac(i.mac);
      if (!mac.ok) add(i.loc, `${label}: ${mac.message}`);
      else if (mac.mac !== i.mac) add(i.loc, `${label}: MAC address ${quote(i.mac)} must be written ${mac.mac}`);
    }
    checkAddresses(add, i.loc, label, i);
  }
}

function checkNetRef(
  add: Add,
  nets: Map<string, unknown>,
  net: string,
  loc: SourceLocation | undefined,
  what: string,
  reservedOk: boolean,
): void {
  if (!net || nets.has(net) || (reservedOk && isReservedNet(net))) return;
  const names = [...nets.keys()];
  const hint = names.length ? ` (declared nets: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''})` : '';
  add(loc, `${what} is on net ${quote(net)}, which is not declared: add <net name=${quote(net)} .../> or fix the name${hint}`);
}

function checkAddresses(add: Add, loc: SourceLocation | undefined, label: string, from: { ipv4: IpAddress[]; ipv6: IpAddress[] }): void {
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const a of from[family]) {
      const p = checkIpAddress(family, a);
      if (p) add(loc, `${label}: ${p}`);
    }
  }
}

function checkRoute(add: Add, r: Route, label: string): void {
  const family: Family = r.family;
  const d = checkRouteDestination(family, r.destination);
  if (d) add(r.loc, `${label}: ${d}`);
  if (!isAddress(family, r.gateway)) add(r.loc, `${label}: ${notAnAddress(family, r.gateway, 'route gateway')}`);
}

function checkExec(add: Add, x: Exec, label: string, seqs: Set<string>): void {
  if (!x.seq) add(x.loc, `${label}: an exec has no sequence name (seq="...")`);
  else for (const q of seqNames(x.seq)) seqs.add(q);
  if (x.type !== 'verbatim' && x.type !== 'file') add(x.loc, `${label}: exec type must be verbatim or file`);
  if (x.type === 'file' && !x.text) add(x.loc, `${label}: exec of type file needs the file name as its text`);
}

function checkFiletree(add: Add, f: Filetree, label: string, seqs: Set<string>): void {
  if (!f.seq) add(f.loc, `${label}: a filetree has no sequence name (seq="...")`);
  else for (const q of seqNames(f.seq)) seqs.add(q);
  const root = filetreeRootProblem(f.root);
  if (root) add(f.loc, `${label}: ${root}`);
  if (!f.source) add(f.loc, `${label}: filetree needs a source path`);
}

/** Every cmd-seq names existing sequences (exec, filetree or other cmd-seqs) and none loops. */
function checkCmdSeqs(s: Scenario, seqs: Set<string>, add: Add, fileLoc: SourceLocation): void {
  const locOf = (seq: string) => s.cmdSeqLoc?.get(seq) ?? s.global.loc ?? fileLoc;
  const steps = [...s.vms.flatMap((vm) => [...vm.execs, ...vm.filetrees]), ...(s.host?.execs ?? [])];
  for (const [seq, parts] of s.cmdSeqs) {
    // A name that is both runs the cmd-seq's members (as in VNX): fine when those reach every
    // exec/filetree of that name (`<exec seq="step44,discover-hosts">` with discover-hosts = step44).
    if (seqs.has(seq)) {
      const hidden = steps.find((x) => seqNames(x.seq).includes(seq) && !expandedOrEmpty(seq, s).some((leaf) => seqNames(x.seq).includes(leaf)));
      if (hidden) add(locOf(seq), `cmd-seq ${quote(seq)} has the same name as an exec/filetree sequence (line ${hidden.loc?.line ?? '?'}) that it does not run: rename one of them`);
    }
    for (const p of parts) {
      if (!seqs.has(p) && !s.cmdSeqs.has(p)) {
        add(locOf(seq), `cmd-seq ${quote(seq)} refers to sequence ${quote(p)}, which no exec, filetree or cmd-seq defines`);
      }
    }
  }
  // Cycles: depth-first search with colours; each cycle reported once, at its first member.
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (seq: string): void => {
    state.set(seq, 1);
    stack.push(seq);
    for (const p of s.cmdSeqs.get(seq) ?? []) {
      if (!s.cmdSeqs.has(p)) continue;
      if (state.get(p) === 1) {
        const cycle = [...stack.slice(stack.indexOf(p)), p];
        add(locOf(p), `cmd-seq loop: ${cycle.map((q) => escaped(q)).join(' → ')}: a sequence cannot include itself`);
      } else if (!state.has(p)) visit(p);
    }
    stack.pop();
    state.set(seq, 2);
  };
  for (const seq of s.cmdSeqs.keys()) if (!state.has(seq)) visit(seq);
}

/** The leaf sequences a cmd-seq runs ([] when it loops: reported apart). */
function expandedOrEmpty(seq: string, s: Scenario): string[] {
  try {
    return expandSeq(seq, s.cmdSeqs);
  } catch {
    return [];
  }
}

// ---- deployProblems ----------------------------------------------------------------------------

/**
 * What the host agents would refuse when they apply the scenario, or what reaches their command
 * lines unchecked until now (see the head of this file): run by ediv validate, plan and deploy.
 */
export function deployProblems(s: Scenario): InputProblem[] {
  const problems: InputProblem[] = [];
  const fileLoc: SourceLocation = { file: s.source.path };
  const add = (loc: SourceLocation | undefined, message: string) => problems.push({ loc: loc ?? fileLoc, message });
  for (const n of s.nets) {
    const mtu = Object.hasOwn(n.extra.attrs, 'mtu') ? mtuProblem(n.extra.attrs.mtu!) : undefined;
    if (mtu) add(n.loc, `net ${escaped(n.name)}: ${mtu}`);
  }
  for (const p of [...shapingProblems(s.nets, s.vms, s.source.path), ...vmMgmtProblems(s), ...hostSectionProblems(s)]) add(p.loc, p.message);
  for (const vm of s.vms) {
    const label = `vm ${vm.name ? escaped(vm.name) : '(unnamed)'}`;
    for (const x of vm.execs) execValues(add, x, label);
    for (const f of vm.filetrees) filetreeValues(add, f, label);
  }
  for (const x of s.host?.execs ?? []) execValues(add, x, 'host');
  for (const [seq, parts] of s.cmdSeqs) {
    const bad = [seq, ...parts].map(seqNameProblem).find((p) => p !== undefined);
    if (bad) add(s.cmdSeqLoc?.get(seq) ?? s.global.loc, `cmd-seq ${quote(seq)}: ${bad}`);
  }
  return problems;
}

/** Each of `problems` that is one, at `loc`. */
function addAll(add: Add, loc: SourceLocation | undefined, label: string, problems: (string | undefined)[]): void {
  for (const p of problems) if (p) add(loc, `${label}: ${p}`);
}

/** An exec's sequence names (what `ediv exec` takes), its file name, ostype, mode and user. */
function execValues(add: Add, x: Exec, label: string): void {
  addAll(add, x.loc, label, [
    ...seqNames(x.seq).map(seqNameProblem),
    x.type === 'file' && x.text ? labPathProblem('exec file', x.text) : undefined,
    x.ostype !== undefined ? wordProblem('ostype', x.ostype) : undefined,
    x.mode !== undefined ? wordProblem('mode', x.mode) : undefined,
    x.user !== undefined ? accountProblem('user', x.user) : undefined,
  ]);
}

/** A filetree's sequence names, its root as a mount option, source path, owner and mode. */
function filetreeValues(add: Add, f: Filetree, label: string): void {
  addAll(add, f.loc, label, [
    ...seqNames(f.seq).map(seqNameProblem),
    filetreeRootProblem(f.root) ? undefined : rootCharsProblem(f.root),
    f.source ? labPathProblem('filetree source', f.source) : undefined,
    f.user !== undefined ? accountProblem('user', f.user) : undefined,
    f.group !== undefined ? accountProblem('group', f.group) : undefined,
    f.perms !== undefined ? permsProblem(f.perms) : undefined,
  ]);
}

/**
 * A private <vm_mgmt>: its network, mask and offset fit the VMs (VNX's checks), and no VM
 * interface takes the management interface's name. (type="net" is a warning: feature-support.ts.)
 * The host agents refuse the same at apply (src/host-agent/drivers/netns/desired.ts).
 */
export function vmMgmtProblems(s: Scenario): InputProblem[] {
  const m = vmMgmtOf(s);
  if (m?.type !== 'private') return [];
  const loc = m.loc ?? s.global.loc ?? { file: s.source.path };
  const out: InputProblem[] = [];
  const why = vmMgmtProblem(m, s.vms.length);
  if (why) out.push({ loc, message: why });
  for (const vm of s.vms) {
    if (mgmtDisabled(vm, s)) continue;
    const clash = vm.ifaces.find((i) => vmIfaceName(i) === MGMT_IFACE);
    if (clash) {
      out.push({
        loc: clash.loc ?? vm.loc ?? loc,
        message: `vm ${escaped(vm.name)}: interface ${clash.id} is ${MGMT_IFACE}, the name of its management interface (<vm_mgmt type="private">): give it another id or name, or add <mng_if>no</mng_if> to the VM`,
      });
    }
  }
  return out;
}

/**
 * The <host> section as the host agents build it (src/host-agent/drivers/netns/host-section.ts):
 * one interface per net, and no default route (it would replace the one the cluster reaches the
 * host by).
 */
export function hostSectionProblems(s: Scenario): InputProblem[] {
  const h = s.host;
  if (!h) return [];
  const out: InputProblem[] = [];
  const loc = (x: { loc?: SourceLocation }) => x.loc ?? h.loc ?? { file: s.source.path };
  const seen = new Set<string>();
  for (const hi of h.ifaces) {
    if (seen.has(hi.net)) out.push({ loc: loc(hi), message: `<hostif net=${quote(hi.net)}>: a second host interface on net ${escaped(hi.net)}: give the host one interface per net` });
    seen.add(hi.net);
  }
  for (const r of h.routes) {
    if (r.destination !== 'default') continue;
    out.push({
      loc: loc(r),
      message: `the <host> section's default route (via ${escaped(r.gateway)}) is refused: it would replace the route the cluster reaches this host by; route the lab's prefixes instead`,
    });
  }
  return out;
}
