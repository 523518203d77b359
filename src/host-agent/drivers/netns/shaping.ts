// Link shaping of a net (VNX `bw`, `delay`, `loss` on <net> and <if>, VNUML/VNX `<net><bw>`),
// applied with tc on each VM interface of the net:
//
//   * the host-side veth end (egress = towards the VM): the rate (tbf), and delay and loss
//     (netem, when the host has it; the tbf then hangs below the netem);
//   * the VM-side end (egress = from the VM): the rate only (tbf), so what a VM sends is limited
//     too, also towards a backplane link or the host's own interface. Delay and loss are added
//     once per direction (at the receiving VM's port), not twice.
//
// The values themselves (units, limits, problems) are read by src/scenario/shaping-values.ts,
// which `ediv validate` checks with; an <if>'s own attribute wins over its net's. `dscp` is not
// applied (a scenario warning says so).
import { netShapingFound, readShaping, type Shaping } from '../../../scenario/shaping-values.ts';
import type { Iface, Net } from '../../../scenario/model.ts';

export { parseDelay, parseLoss, parseRate, shapingProblems, type Shaping } from '../../../scenario/shaping-values.ts';

export interface ShapingSupport {
  tbf: boolean;
  netem: boolean;
}

function isEmpty(s: Shaping): boolean {
  return s.rate === undefined && s.delayUs === undefined && s.lossPct === undefined;
}

/** The shaping a net asks for (values that do not parse are left out: shapingProblems refuses them). */
export function netShaping(net: Net): Shaping | undefined {
  const s = netShapingFound(net).shaping;
  return isEmpty(s) ? undefined : s;
}

/** The shaping of one interface: its own values over its net's; undefined when none. */
export function ifaceShaping(netShape: Shaping | undefined, iface: Iface): Shaping | undefined {
  const own = readShaping(iface.extra.attrs, undefined, '').shaping;
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
