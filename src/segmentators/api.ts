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

/** A running lab and its live figures, for a rebalance (rebalance.ts). */
export interface RebalanceInput extends SegmentInput {
  /** Where each VM runs now. */
  current: Mapping;
  /** Each VM's CPU use, in percent of one CPU (a status sample); VMs not listed use none. */
  vmCpu: Record<string, number>;
  /** The share of a host's CPUs (HostFacts.cpus; 1 when unknown) its lab VMs may use, e.g. 0.75. */
  maxLoad: number;
}

export interface Move {
  vm: string;
  from: string;
  to: string;
}

export interface HostLoad {
  host: string;
  /** Share of the host's CPUs the VMs use, before and after the moves. */
  before: number;
  after: number;
}

export interface RebalancePlan {
  moves: Move[];
  loads: HostLoad[];
  /** Hosts still above maxLoad after the moves (nothing of theirs could go anywhere). */
  over: string[];
}

export interface Segmentator {
  name: string;
  description: string;
  /** Other names that select it (EDIV's RoundRobin, ...). */
  aliases?: string[];
  /** Must be deterministic for the same input. */
  segment(input: SegmentInput): Mapping | Promise<Mapping>;
  /**
   * Optional: which VMs of a running lab to move, from live figures (rebalance.ts has the
   * built-in answer, used when a segmentator has none). Must be deterministic too.
   */
  rebalance?(input: RebalanceInput): RebalancePlan | Promise<RebalancePlan>;
}
