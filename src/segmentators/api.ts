// The Segmentator API (DESIGN.md, "Segmentator"): maps each VM of a scenario to a host.
// Built-ins live next to this file; external plugins are ES modules whose default export
// (or `segmentator` export) is a Segmentator.
import type { Scenario } from '../scenario/model.ts';
import type { Restrictions } from '../protocol/restrictions.ts';
import type { Mapping } from '../protocol/plan.ts';

export type { Mapping };

export interface HostFacts {
  name: string;
  /** Relative CPU speed. */
  cpu: number;
  memMB?: number;
  /** undefined or 0 = unlimited. */
  maxVMs?: number;
  /** 1-minute load average, when known. */
  loadAvg?: number;
  /** Number of CPUs, when known. */
  cpus?: number;
  labels: Record<string, string>;
}

export interface SegmentInput {
  scenario: Scenario;
  /** The active hosts, in cluster-file order. */
  hosts: HostFacts[];
  restrictions: Restrictions;
}

export interface Segmentator {
  name: string;
  description: string;
  /** Other names that select it (EDIV's RoundRobin, ...). */
  aliases?: string[];
  /** Must be deterministic for the same input. */
  segment(input: SegmentInput): Mapping | Promise<Mapping>;
}
