// Link shaping of a net (VNX `bw`, `delay`, `loss` on <net> and <if>, VNUML/VNX `<net><bw>`),
// applied with tc on each VM interface of the net:
//
//   * the host-side veth end (egress = towards the VM): the rate (tbf), and delay and loss
//     (netem, when the host has it; the tbf then hangs below the netem);
//   * the VM-side end (egress = from the VM): the rate only (tbf), so what a VM sends is limited
//     too, also towards a backplane link or the host's own interface. Delay and loss are added
//     once per direction (at the receiving VM's port), not twice.
//
// Units. `bw` is in bits per second, as in VNUML/VNX (VNX passes it to `tc ... tbf rate <bw>`,
// and a bare tc rate is bits per second); tc's suffixes are accepted too (`kbit`, `mbit`,
// `gbit`, `kibit`…, and `bps`, `kbps`, `mbps`… for bytes per second). `delay` is in
// milliseconds when bare (`us`, `ms`, `s` accepted); `loss` in percent (`1` or `1%`).
// An <if>'s own attribute wins over its net's. `dscp` is not applied (a scenario warning says so).
import type { InputProblem, SourceLocation } from '../../../common/errors.ts';
import type { Iface, Net, XmlElement } from '../../../scenario/model.ts';

export interface Shaping {
  /** bits per second */
  rate?: number;
  /** microseconds */
  delayUs?: number;
  /** percent */
  lossPct?: number;
}

export interface ShapingSupport {
  tbf: boolean;
  netem: boolean;
}

const RATE_UNITS: Record<string, number> = {
  '': 1, bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12, kibit: 1024, mibit: 1024 ** 2, gibit: 1024 ** 3,
  bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9, kibps: 8 * 1024, mibps: 8 * 1024 ** 2, gibps: 8 * 1024 ** 3,
};

/** A rate in bits per second, or undefined when it is not one. */
export function parseRate(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? RATE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  const bits = Math.round(Number(m[1]) * unit);
  return bits >= 1 && Number.isSafeInteger(bits) ? bits : undefined;
}

/** A delay in microseconds (a bare number is milliseconds). */
export function parseDelay(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(us|usec|ms|msec|s|sec)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'ms').toLowerCase();
  const us = Math.round(Number(m[1]) * (unit.startsWith('u') ? 1 : unit.startsWith('m') ? 1e3 : 1e6));
  return us <= 3_600_000_000 ? us : undefined;
}

/** A loss in percent (0..100). */
export function parseLoss(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text.trim());
  if (!m || Number(m[1]) > 100) return undefined;
  return Number(m[1]);
}

function textOf(el: XmlElement): string {
  return el.children.map((c) => ('text' in c ? c.text : '')).join('').trim();
}

interface Found {
  shaping: Shaping;
  problems: string[];
}

/** The shaping attributes of one element (its attrs, plus a <bw> child for nets). */
function read(attrs: Record<string, string>, bwChild: string | undefined, what: string): Found {
  const out: Found = { shaping: {}, problems: [] };
  const bw = attrs.bw ?? bwChild;
  if (bw !== undefined) {
    const r = parseRate(bw);
    if (r === undefined) out.problems.push(`${what}: bw "${bw}" is not a rate (bits per second, e.g. 1000000 or 10mbit)`);
    else out.shaping.rate = r;
  }
  if (attrs.delay !== undefined) {
    const d = parseDelay(attrs.delay);
    if (d === undefined) out.problems.push(`${what}: delay "${attrs.delay}" is not a delay (milliseconds, e.g. 20 or 20ms)`);
    else out.shaping.delayUs = d;
  }
  if (attrs.loss !== undefined) {
    const l = parseLoss(attrs.loss);
    if (l === undefined) out.problems.push(`${what}: loss "${attrs.loss}" is not a percentage from 0 to 100 (e.g. 1 or 1%)`);
    else out.shaping.lossPct = l;
  }
  return out;
}

function netFound(net: Net): Found {
  const child = net.extra.children.find((c) => c.node.tag === 'bw');
  return read(net.extra.attrs, child ? textOf(child.node) : undefined, `net ${net.name}`);
}

/** What is wrong with the shaping values of the nets and interfaces, at their lines. */
export function shapingProblems(nets: Net[], vms: { name: string; ifaces: Iface[] }[], file: string): InputProblem[] {
  const out: InputProblem[] = [];
  const at = (loc: SourceLocation | undefined, message: string) => out.push({ loc: loc ?? { file }, message });
  for (const n of nets) {
    const bwLoc = n.extra.children.find((c) => c.node.tag === 'bw')?.loc;
    for (const p of netFound(n).problems) at(p.includes(' bw ') ? (bwLoc ?? n.loc) : n.loc, p);
  }
  for (const vm of vms) for (const i of vm.ifaces) for (const p of read(i.extra.attrs, undefined, `vm ${vm.name}, interface ${i.id}`).problems) at(i.loc, p);
  return out;
}

function isEmpty(s: Shaping): boolean {
  return s.rate === undefined && s.delayUs === undefined && s.lossPct === undefined;
}

/** The shaping a net asks for (values that do not parse are left out: shapingProblems refuses them). */
export function netShaping(net: Net): Shaping | undefined {
  const s = netFound(net).shaping;
  return isEmpty(s) ? undefined : s;
}

/** The shaping of one interface: its own values over its net's; undefined when none. */
export function ifaceShaping(netShape: Shaping | undefined, iface: Iface): Shaping | undefined {
  const own = read(iface.extra.attrs, undefined, '').shaping;
  const s: Shaping = { ...netShape };
  if (own.rate !== undefined) s.rate = own.rate;
  if (own.delayUs !== undefined) s.delayUs = own.delayUs;
  if (own.lossPct !== undefined) s.lossPct = own.lossPct;
  return isEmpty(s) ? undefined : s;
}

/** What of `s` this host can apply, and what it cannot (said as `<what> not applied (no <qdisc> on host <host>)`). */
export function supportedShaping(s: Shaping, support: ShapingSupport): { applied?: Shaping; dropped: string[] } {
  const applied: Shaping = { ...s };
  const dropped: string[] = [];
  if (!support.tbf && applied.rate !== undefined) {
    delete applied.rate;
    dropped.push('tbf');
  }
  if (!support.netem && (applied.delayUs !== undefined || applied.lossPct !== undefined)) {
    delete applied.delayUs;
    delete applied.lossPct;
    dropped.push('netem');
  }
  return { applied: isEmpty(applied) ? undefined : applied, dropped };
}

/** tbf's bucket: 10 ms of traffic, at least two full-size frames (a smaller one stalls the link). */
export function tbfBurst(rate: number): number {
  return Math.max(Math.ceil(rate / 8 / 100), 2 * 1514 + 64);
}

function tbf(rate: number): string {
  return `tbf rate ${rate}bit burst ${tbfBurst(rate)} latency 50ms`;
}

function netem(s: Shaping): string {
  const parts = ['netem'];
  if (s.delayUs !== undefined) parts.push(`delay ${s.delayUs}us`);
  if (s.lossPct !== undefined) parts.push(`loss ${s.lossPct}%`);
  return parts.join(' ');
}

/**
 * `tc -batch` lines shaping `dev`: on the host side (towards the VM) rate, delay and loss; on the
 * VM side (from the VM) the rate only. Empty when that side has nothing to apply.
 */
export function shapingLines(dev: string, s: Shaping, side: 'host' | 'vm'): string[] {
  const delayed = side === 'host' && (s.delayUs !== undefined || s.lossPct !== undefined);
  if (!delayed) return s.rate !== undefined ? [`qdisc replace dev ${dev} root handle 1: ${tbf(s.rate)}`] : [];
  const lines = [`qdisc replace dev ${dev} root handle 1: ${netem(s)}`];
  if (s.rate !== undefined) lines.push(`qdisc replace dev ${dev} parent 1:1 handle 10: ${tbf(s.rate)}`);
  return lines;
}

/** The qdisc kinds shapingLines puts at the root (a root of another kind is not ours). */
export const SHAPING_ROOT_KINDS: ReadonlySet<string> = new Set(['tbf', 'netem']);

/** `tc -batch` line removing what shapingLines made on `dev`. */
export function unshapeLine(dev: string): string {
  return `qdisc del dev ${dev} root`;
}
