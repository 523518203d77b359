// dynamic (EDIV's DynamicWeightedRoundRobin): like weighted, but each host's weight is its
// cpu speed times its idle fraction, 1 - loadAvg / cpus (floored at 5 % so a busy host
// still takes VMs when nothing else fits). When every host is idle — or no host reports a
// load — the weights carry no information and it falls back to round-robin, as EDIV did.
import type { HostFacts, Segmentator } from './api.ts';
import { placeGreedy, proportionalChooser } from './greedy.ts';
import { cpuWeights } from './problem.ts';
import { roundRobin } from './round-robin.ts';

/** Below this 1-minute load average per CPU a host counts as idle. */
export const IDLE_LOAD = 0.05;
const MIN_FREE = 0.05;

/** The host's idle fraction in [MIN_FREE, 1] (a host's facts are its own report: a negative or absurd load is clamped). */
export function idleFraction(h: HostFacts): number | undefined {
  if (h.loadAvg === undefined || !Number.isFinite(h.loadAvg)) return undefined;
  const cpus = h.cpus !== undefined && Number.isFinite(h.cpus) && h.cpus > 0 ? h.cpus : 1;
  return Math.min(1, Math.max(MIN_FREE, 1 - h.loadAvg / cpus));
}

export function dynamicWeights(hosts: HostFacts[]): number[] | undefined {
  const idle = hosts.map(idleFraction);
  const allIdle = idle.every((f) => f === undefined || f >= 1 - IDLE_LOAD);
  if (allIdle) return undefined;
  const cpu = cpuWeights(hosts); // normalised: the products stay in [MIN_RELATIVE_WEIGHT × MIN_FREE, 1]
  return hosts.map((_h, i) => cpu[i] * (idle[i] ?? 1));
}

export const dynamic: Segmentator = {
  name: 'dynamic',
  description: 'weights from cpu speed and live load average per CPU; round-robin when every host is idle',
  aliases: ['DynamicWeightedRoundRobin'],
  segment(input) {
    const weights = dynamicWeights(input.hosts);
    if (!weights) return roundRobin.segment(input);
    return placeGreedy(input, (p) => proportionalChooser(p, weights));
  },
};
