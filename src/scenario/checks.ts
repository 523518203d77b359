// Semantic checks on a parsed Scenario (any dialect). Every problem is reported, each with
// the file, line and column of the element at fault and what to change.
import type { InputProblem, SourceLocation } from '../common/errors.ts';
import { safeNameProblem } from '../common/names.ts';
import type { Exec, Filetree, IpAddress, Route, Scenario } from './model.ts';
import { checkIpAddress, checkRouteDestination, isAddress, isMac, type Family } from './addresses.ts';
import { isReservedNet } from './reserved-nets.ts';
import { expandSeq, seqNames } from './sequences.ts';
import { netConnections } from './net-connections.ts';

export function checkScenario(s: Scenario): InputProblem[] {
  const problems: InputProblem[] = [];
  const fileLoc: SourceLocation = { file: s.source.path };
  const add = (loc: SourceLocation | undefined, message: string) => problems.push({ loc: loc ?? fileLoc, message });

  if (!s.name) add(s.global.loc, 'the scenario has no name');
  else addName(add, s.global.loc, 'scenario', s.name);

  // Nets: unique, usable names.
  const nets = new Map<string, SourceLocation | undefined>();
  for (const n of s.nets) {
    if (!n.name) continue; // reported by the parser
    addName(add, n.loc, 'net', n.name);
    if (isReservedNet(n.name)) add(n.loc, `"${n.name}" is a reserved net name (lo, unconnected, vm_mgmt: interfaces on no net): rename the net`);
    const first = nets.get(n.name);
    if (nets.has(n.name)) add(n.loc, `net name "${n.name}" is used twice${at(first)}: net names must be unique`);
    else nets.set(n.name, n.loc);
    for (const c of netConnections([n])) {
      if (!s.nets.some((m) => m.name === c.to)) add(c.loc ?? n.loc, `net ${n.name}: <connection${c.name ? ` name="${c.name}"` : ''}> is to net "${c.to}", which is not declared`);
      else if (c.to === n.name) add(c.loc ?? n.loc, `net ${n.name}: <connection> to itself`);
    }
    if (n.vlan !== undefined && !(Number.isInteger(n.vlan) && n.vlan >= 1 && n.vlan <= 4094)) {
      add(n.loc, `net ${n.name}: vlan ${n.vlan} is out of range 1-4094`);
    }
  }

  // VMs.
  const vms = new Map<string, SourceLocation | undefined>();
  const seqs = new Set<string>();
  for (const vm of s.vms) {
    if (vm.name) {
      addName(add, vm.loc, 'VM', vm.name);
      const first = vms.get(vm.name);
      if (vms.has(vm.name)) add(vm.loc, `VM name "${vm.name}" is used twice${at(first)}: VM names must be unique`);
      else vms.set(vm.name, vm.loc);
    }
    const label = `vm ${vm.name || '(unnamed)'}`;
    if (vm.cpus !== undefined && !(Number.isInteger(vm.cpus) && vm.cpus > 0)) add(vm.loc, `${label}: vcpu must be a positive whole number`);
    if (vm.memMB !== undefined && !(vm.memMB > 0)) add(vm.loc, `${label}: memory must be more than zero`);
    const ids = new Map<number, SourceLocation | undefined>();
    for (const i of vm.ifaces) {
      if (Number.isInteger(i.id)) {
        if (ids.has(i.id)) add(i.loc, `${label}: interface id ${i.id} is used twice${at(ids.get(i.id))}: give each <if> its own id`);
        else ids.set(i.id, i.loc);
      } else if (!Number.isNaN(i.id)) add(i.loc, `${label}: interface id ${i.id} must be a whole number`);
      checkNetRef(add, nets, i.net, i.loc, `${label}, interface ${Number.isNaN(i.id) ? '?' : i.id}`, true);
      if (i.mac !== undefined && !isMac(i.mac)) add(i.loc, `${label}: MAC address "${i.mac}" is not of the form 02:fd:00:00:01:01`);
      checkAddresses(add, i.loc, label, i);
    }
    for (const r of vm.routes) checkRoute(add, r, label);
    for (const x of vm.execs) checkExec(add, x, label, seqs);
    for (const f of vm.filetrees) checkFiletree(add, f, label, seqs);
  }

  // The <host> section.
  if (s.host) {
    for (const hi of s.host.ifaces) {
      checkNetRef(add, nets, hi.net, hi.loc, 'host interface', false);
      checkAddresses(add, hi.loc, `host interface on ${hi.net}`, hi);
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
  if (p) add(loc, p);
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
  add(loc, `${what} is on net "${net}", which is not declared: add <net name="${net}" .../> or fix the name${hint}`);
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
  if (!isAddress(family, r.gateway)) {
    add(r.loc, `${label}: route gateway ${JSON.stringify(r.gateway)} is not a valid ${family} address`);
  }
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
  // VNX takes X:\dir too, for Windows VMs (the container driver refuses what it cannot copy into).
  if (!f.root.startsWith('/') && !isWindowsPath(f.root)) add(f.loc, `${label}: filetree root "${f.root}" must be an absolute path inside the VM (/dir, or X:\\dir on a Windows VM)`);
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
      if (hidden) add(locOf(seq), `cmd-seq "${seq}" has the same name as an exec/filetree sequence (line ${hidden.loc?.line ?? '?'}) that it does not run: rename one of them`);
    }
    for (const p of parts) {
      if (!seqs.has(p) && !s.cmdSeqs.has(p)) {
        add(locOf(seq), `cmd-seq "${seq}" refers to sequence "${p}", which no exec, filetree or cmd-seq defines`);
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
        add(locOf(p), `cmd-seq loop: ${cycle.join(' → ')}: a sequence cannot include itself`);
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

/** A Windows absolute path (`c:\temp`, `C:/temp`): VNX's filetree roots on Windows VMs. */
export function isWindowsPath(p: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(p);
}
