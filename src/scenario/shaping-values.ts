// The link-shaping values of a scenario (VNX `bw`, `delay`, `loss` on <net> and <if>, VNUML/VNX
// `<net><bw>`), read and checked here so that `ediv validate` refuses what the host agents'
// tc lines (src/host-agent/drivers/netns/shaping.ts) could not apply.
//
// Units. `bw` is in bits per second, as in VNUML/VNX (VNX passes it to `tc ... tbf rate <bw>`,
// and a bare tc rate is bits per second); tc's suffixes are accepted too (`kbit`, `mbit`,
// `gbit`, `kibit`…, and `bps`, `kbps`, `mbps`… for bytes per second). `delay` is in
// milliseconds when bare (`us`, `ms`, `s` accepted); `loss` in percent (`1` or `1%`).
// An <if>'s own attribute wins over its net's.
import type { InputProblem, SourceLocation } from '../common/errors.ts';
import type { Iface, Net, XmlElement } from './model.ts';
import { quote } from './quote.ts';

export interface Shaping {
  /** bits per second */
  rate?: number;
  /** microseconds */
  delayUs?: number;
  /** percent */
  lossPct?: number;
}

/** Bits per unit (a Map: `bw="1constructor"` names no unit). */
const RATE_UNITS = new Map<string, number>([
  ['', 1], ['bit', 1], ['kbit', 1e3], ['mbit', 1e6], ['gbit', 1e9], ['tbit', 1e12], ['kibit', 1024], ['mibit', 1024 ** 2], ['gibit', 1024 ** 3],
  ['bps', 8], ['kbps', 8e3], ['mbps', 8e6], ['gbps', 8e9], ['kibps', 8 * 1024], ['mibps', 8 * 1024 ** 2], ['gibps', 8 * 1024 ** 3],
]);

/** A rate in bits per second, or undefined when it is not one. */
export function parseRate(text: string): number | undefined {
  const m = /^(\d{1,20}(?:\.\d{1,20})?)\s*([a-z]{0,5})$/i.exec(text.trim());
  const unit = m ? RATE_UNITS.get(m[2]!.toLowerCase()) : undefined;
  if (!m || unit === undefined) return undefined;
  const bits = Math.round(Number(m[1]) * unit);
  return bits >= 1 && Number.isSafeInteger(bits) ? bits : undefined;
}

/** A delay in microseconds (a bare number is milliseconds), at most an hour. */
export function parseDelay(text: string): number | undefined {
  const m = /^(\d{1,20}(?:\.\d{1,20})?)\s*(us|usec|ms|msec|s|sec)?$/i.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'ms').toLowerCase();
  const us = Math.round(Number(m[1]) * (unit.startsWith('u') ? 1 : unit.startsWith('m') ? 1e3 : 1e6));
  return us <= 3_600_000_000 ? us : undefined;
}

/** A loss in percent (0..100). */
export function parseLoss(text: string): number | undefined {
  const m = /^(\d{1,20}(?:\.\d{1,20})?)\s*%?$/.exec(text.trim());
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
export function readShaping(attrs: Record<string, string>, bwChild: string | undefined, what: string): Found {
  const out: Found = { shaping: {}, problems: [] };
  const bw = Object.hasOwn(attrs, 'bw') ? attrs.bw : bwChild;
  if (bw !== undefined) {
    const r = parseRate(bw);
    if (r === undefined) out.problems.push(`${what}: bw ${quote(bw, 40)} is not a rate (bits per second, e.g. 1000000 or 10mbit)`);
    else out.shaping.rate = r;
  }
  if (Object.hasOwn(attrs, 'delay')) {
    const d = parseDelay(attrs.delay!);
    if (d === undefined) out.problems.push(`${what}: delay ${quote(attrs.delay!, 40)} is not a delay (milliseconds, e.g. 20 or 20ms; at most an hour)`);
    else out.shaping.delayUs = d;
  }
  if (Object.hasOwn(attrs, 'loss')) {
    const l = parseLoss(attrs.loss!);
    if (l === undefined) out.problems.push(`${what}: loss ${quote(attrs.loss!, 40)} is not a percentage from 0 to 100 (e.g. 1 or 1%)`);
    else out.shaping.lossPct = l;
  }
  return out;
}

/** A net's shaping values and problems (its attributes, and a <bw> child). */
export function netShapingFound(net: Net): Found {
  const child = net.extra.children.find((c) => c.node.tag === 'bw');
  return readShaping(net.extra.attrs, child ? textOf(child.node) : undefined, `net ${net.name}`);
}

/** What is wrong with the shaping values of the nets and interfaces, at their lines. */
export function shapingProblems(nets: Net[], vms: { name: string; ifaces: Iface[] }[], file: string): InputProblem[] {
  const out: InputProblem[] = [];
  const at = (loc: SourceLocation | undefined, message: string) => out.push({ loc: loc ?? { file }, message });
  for (const n of nets) {
    const bwLoc = n.extra.children.find((c) => c.node.tag === 'bw')?.loc;
    for (const p of netShapingFound(n).problems) at(p.includes(' bw ') ? (bwLoc ?? n.loc) : n.loc, p);
  }
  for (const vm of vms) {
    for (const i of vm.ifaces) for (const p of readShaping(i.extra.attrs, undefined, `vm ${vm.name}, interface ${i.id}`).problems) at(i.loc, p);
  }
  return out;
}
