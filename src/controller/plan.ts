// makePlan: segment (vm → host) → split into per-host fragments → allocate backplane ids.
import { InputError, OperationError } from '../common/errors.ts';
import type { Scenario } from '../scenario/model.ts';
import { writeScenario } from '../scenario/index.ts';
import type { HostFacts, SegmentInput } from '../segmentators/api.ts';
import { assertValidMapping, clusterSegmentator, resolveSegmentator } from '../segmentators/registry.ts';
import type { Cluster } from '../protocol/cluster.ts';
import { noRestrictions, type Restrictions } from '../protocol/restrictions.ts';
import type { HostPlan, Plan } from '../protocol/plan.ts';
import { fragmentDrivers, placedWarnings } from './drivers.ts';
import { planQuality } from './quality.ts';
import { splitScenario } from './split.ts';

export interface MakePlanOptions {
  scenario: Scenario;
  cluster: Cluster;
  /** Facts of the active hosts (live load, cpus); default: every cluster host, from the cluster file. */
  hosts?: HostFacts[];
  /** Built-in name, EDIV alias, plugin path or package; default the cluster's. */
  segmentator?: string;
  restrictions?: Restrictions;
  /** Backplane ids used by other running scenarios. */
  idsInUse?: Set<number>;
  /** Ids spanning nets already hold (a redeploy: nets that still span keep theirs). */
  keepIds?: ReadonlyMap<string, number>;
}

/** Host facts as the cluster file gives them (no live load). */
export function clusterFacts(cluster: Cluster): HostFacts[] {
  return cluster.hosts.map((h) => ({ name: h.name, cpu: h.cpu, memMB: h.memMB, maxVMs: h.maxVMs, labels: h.labels }));
}

export async function makePlan(opts: MakePlanOptions): Promise<Plan> {
  const { scenario, cluster } = opts;
  const hosts = activeHosts(cluster, opts.hosts);
  // Only an explicit --segmentator may load a plugin; the cluster's default is a built-in or an error.
  const segmentator = opts.segmentator !== undefined ? await resolveSegmentator(opts.segmentator) : clusterSegmentator(cluster);
  const input: SegmentInput = { scenario, hosts, restrictions: opts.restrictions ?? noRestrictions() };
  if (hosts.length === 0 && scenario.vms.length > 0) {
    throw new OperationError('no active host to place the scenario on');
  }
  const mapping = await segmentator.segment(input);
  // Plugins are checked inside their wrapper; this catches a broken built-in just as clearly.
  assertValidMapping(input, mapping, `segmentator "${segmentator.name}"`);

  const drivers = fragmentDrivers(scenario, mapping, cluster); // one per host, else InputError
  const split = splitScenario(scenario, mapping, cluster, opts.idsInUse, opts.keepIds);
  const planHosts: Record<string, HostPlan> = {};
  for (const f of split.fragments) {
    planHosts[f.host] = { ...f, fragmentXml: writeScenario(f.fragment), driver: drivers.get(f.host) };
  }
  return {
    scenario: scenario.name,
    segmentator: segmentator.name,
    backplane: cluster.backplane,
    mapping,
    spanning: split.spanning,
    hosts: planHosts,
    quality: planQuality(split.carriers, mapping, hosts),
    warnings: placedWarnings(scenario, mapping, drivers),
  };
}

/** The hosts to plan for, in cluster order; facts given for hosts outside the cluster are an error. */
function activeHosts(cluster: Cluster, given?: HostFacts[]): HostFacts[] {
  const all = clusterFacts(cluster);
  if (!given) return all;
  const known = new Set(all.map((h) => h.name));
  const unknown = given.filter((h) => !known.has(h.name)).map((h) => h.name);
  if (unknown.length) {
    throw new InputError({ loc: { file: cluster.source.path }, message: `hosts not in the cluster: ${unknown.join(', ')}` });
  }
  const byName = new Map(given.map((h) => [h.name, h]));
  return all.filter((h) => byName.has(h.name)).map((h) => ({ ...h, ...byName.get(h.name)! }));
}
