// Which driver runs a VM (docs/drivers.md): the table from the scenario's VM type (VNX/VNUML
// `type` and `subtype`, OVF virtual systems) to a driver, the cluster file's settings over it
// (`driver:` at the top and per host, the `drivers:` map), the one driver of each host's
// fragment, and the warnings of a scenario for the drivers its VMs get: the notices that a VM
// does not run as what its type names, plus what feature-support.ts says is not applied.
import { InputError } from '../common/errors.ts';
import { featureWarnings, sortByLocation, type DriversOf, type ScenarioWarning } from '../scenario/feature-support.ts';
import type { Scenario, Vm } from '../scenario/model.ts';
import { AUTO_DRIVER, type Cluster, type ClusterHost } from '../protocol/cluster.ts';
import type { HostPlan, Mapping } from '../protocol/plan.ts';

/** The driver of plans recorded before plans named their host's driver (netns was the only one). */
export const LEGACY_DRIVER = 'netns';

export interface TypeRow {
  /** A VNX/VNUML `type`; `ovf` for an OVF virtual system; `*` for any other (or none). */
  type: string;
  driver: string;
  /** True when the driver makes what the type names: no notice. */
  native: boolean;
  /** What the scenario asks for, for the notice ("a libvirt/kvm virtual machine"). */
  names: (vm: Vm) => string;
  /** What does not happen, when the VM is not run as what it names. */
  lost?: string;
}

/** The table (docs/drivers.md). The first row whose `type` matches wins; `*` is last. */
export const VM_TYPE_TABLE: readonly TypeRow[] = [
  { type: 'lxc', driver: 'container', native: true, names: () => 'a Linux container' },
  {
    type: 'libvirt',
    driver: 'container',
    native: false,
    names: (vm) => `a libvirt${vm.subtype ? `/${vm.subtype}` : ''} virtual machine`,
    lost: 'its disk image and operating system are not booted',
  },
  {
    type: 'uml',
    driver: 'container',
    native: false,
    names: () => 'a User-Mode Linux virtual machine',
    lost: 'its kernel is not booted',
  },
  {
    type: 'ovf',
    driver: 'container',
    native: false,
    names: () => 'the virtual machine its OVF virtual system describes',
    lost: 'its disk image and operating system are not booted',
  },
  {
    type: 'dynamips',
    driver: 'container',
    native: false,
    names: (vm) => `the Dynamips${vm.subtype ? ` ${vm.subtype}` : ''} router it names`,
    lost: 'the router image it names does not run (no router OS, no router configuration)',
  },
  {
    type: '*',
    driver: 'container',
    native: false,
    names: (vm) => (vm.type ? `the "${vm.type}" machine it names` : 'a machine of the type it does not name'),
    lost: 'ediv does not know this type',
  },
];

const RUNS_AS: Record<string, string> = {
  container: 'as a Linux container (container driver)',
  netns: 'in a bare network namespace (netns driver)',
};

function runsAs(driver: string): string {
  return RUNS_AS[driver] ?? `with the ${driver} driver`;
}

/** The VM's kind as the table and the `drivers:` map name it: its type, `ovf`, or `uml` for VNUML. */
export function vmType(vm: Vm, s: Pick<Scenario, 'source'>): string {
  if (s.source.format === 'ovf') return 'ovf';
  if (vm.type) return vm.type;
  return s.source.format === 'vnuml' ? 'uml' : '';
}

/** `libvirt/kvm`, `lxc`, `ovf`, or `no type`, for messages. */
export function vmTypeLabel(vm: Vm, s: Pick<Scenario, 'source'>): string {
  const type = vmType(vm, s);
  if (!type) return 'no type';
  return vm.subtype && type !== 'ovf' ? `${type}/${vm.subtype}` : type;
}

export function typeRow(type: string): TypeRow {
  return VM_TYPE_TABLE.find((r) => r.type === type) ?? VM_TYPE_TABLE.find((r) => r.type === '*')!;
}

/** The driver `auto` gives a VM: the `drivers:` map (`type/subtype`, then `type`), else the table. */
export function autoDriver(vm: Vm, s: Pick<Scenario, 'source'>, drivers: Record<string, string> = {}): string {
  const type = vmType(vm, s);
  const own = (key: string): string | undefined => (Object.hasOwn(drivers, key) ? drivers[key] : undefined);
  const mapped = (vm.subtype && type !== 'ovf' ? own(`${type}/${vm.subtype}`) : undefined) ?? own(type);
  if (mapped) return mapped;
  return typeRow(type).driver;
}

/**
 * The driver of a VM on `host` (the host's `driver`, already defaulted to the cluster's);
 * without a host, the cluster's top-level setting; without a cluster, `auto` with no map.
 */
export function vmDriver(vm: Vm, s: Pick<Scenario, 'source'>, cluster?: Cluster, host?: ClusterHost): string {
  const setting = host?.driver ?? cluster?.driver ?? AUTO_DRIVER;
  return setting === AUTO_DRIVER ? autoDriver(vm, s, cluster?.drivers) : setting;
}

/** Every driver a VM may get before it is placed: one per distinct host setting. */
export function candidateDrivers(vm: Vm, s: Pick<Scenario, 'source'>, cluster?: Cluster): string[] {
  if (!cluster || cluster.hosts.length === 0) return [vmDriver(vm, s, cluster)];
  return [...new Set(cluster.hosts.map((h) => vmDriver(vm, s, cluster, h)))];
}

/** Drivers a host may be asked for (cluster check): its own setting, or what `auto` can give. */
export function hostDrivers(cluster: Cluster, host: ClusterHost): string[] {
  if (host.driver && host.driver !== AUTO_DRIVER) return [host.driver];
  const table = VM_TYPE_TABLE.map((r) => r.driver);
  return [...new Set([...table, ...Object.values(cluster.drivers ?? {})])];
}

/**
 * The driver of each host's fragment (host → driver, for hosts with VMs). All VMs of one host
 * must get the same driver: per-VM drivers on one host are not supported yet, so a host whose
 * VMs would need several is an InputError naming the VMs, their types and drivers.
 */
export function fragmentDrivers(s: Scenario, mapping: Mapping, cluster: Cluster): Map<string, string> {
  const byHost = new Map(cluster.hosts.map((h) => [h.name, h]));
  const perHost = new Map<string, Map<string, Vm[]>>();
  for (const vm of s.vms) {
    const host = mapping[vm.name];
    if (host === undefined) continue;
    const driver = vmDriver(vm, s, cluster, byHost.get(host));
    let drivers = perHost.get(host);
    if (!drivers) perHost.set(host, (drivers = new Map()));
    drivers.set(driver, [...(drivers.get(driver) ?? []), vm]);
  }
  const out = new Map<string, string>();
  const problems: string[] = [];
  for (const [host, drivers] of perHost) {
    if (drivers.size === 1) {
      out.set(host, [...drivers.keys()][0]!);
      continue;
    }
    const parts = [...drivers].map(([d, vms]) => `${d} for ${vms.map((vm) => `${vm.name} (${vmTypeLabel(vm, s)})`).join(', ')}`);
    problems.push(`host ${host} would run VMs that need different drivers: ${parts.join('; ')}`);
  }
  if (problems.length) {
    throw new InputError(
      problems.map((p) => ({
        loc: { file: cluster.source.path },
        message:
          `${p}. One driver per host is supported for now: map these types to one driver (the cluster file's ` +
          '"drivers:"), set the host\'s "driver:", or keep these VMs on different hosts (a restriction file)',
      })),
    );
  }
  return out;
}

/** The driver to send with a host's apply: the plan's, or for a plan recorded before plans named it, the host's. */
export function recordedDriver(hp: Pick<HostPlan, 'driver'>, host: ClusterHost): string {
  if (hp.driver) return hp.driver;
  return host.driver && host.driver !== AUTO_DRIVER ? host.driver : LEGACY_DRIVER;
}

/** The notices of VMs that do not run as what their type names, for the drivers they may get. */
export function vmTypeNotices(s: Scenario, driversOf: DriversOf): ScenarioWarning[] {
  const out: ScenarioWarning[] = [];
  for (const vm of s.vms) {
    const row = typeRow(vmType(vm, s));
    const drivers = [...new Set(driversOf(vm))];
    const other = drivers.filter((d) => !(row.native && d === row.driver));
    if (other.length === 0) continue;
    // Before placement some hosts may run it as what it names: say where it does not.
    const where = other.length < drivers.length ? ' on some hosts' : '';
    const how = other.map(runsAs).join(' or ') + where;
    const lost = row.lost ? `: ${row.lost}` : '';
    out.push({
      vm: vm.name,
      feature: 'vm-type',
      message: `vm ${vm.name} (${vmTypeLabel(vm, s)}) runs ${how}, not as ${row.names(vm)}${lost}`,
      loc: vm.loc ?? { file: s.source.path },
    });
  }
  return out;
}

/** Every warning of a scenario whose VMs get `driversOf` drivers, in document order. */
export function scenarioWarnings(s: Scenario, driversOf: DriversOf): ScenarioWarning[] {
  return sortByLocation([...vmTypeNotices(s, driversOf), ...featureWarnings(s, driversOf)]);
}

/** The warnings before placement (validate): each VM may get any of its candidate drivers. */
export function unplacedWarnings(s: Scenario, cluster?: Cluster): ScenarioWarning[] {
  return scenarioWarnings(s, (vm) => candidateDrivers(vm, s, cluster));
}

/** The warnings of a plan: each VM gets its host's driver. */
export function placedWarnings(s: Scenario, mapping: Mapping, drivers: Map<string, string>): ScenarioWarning[] {
  return scenarioWarnings(s, (vm) => {
    const d = drivers.get(mapping[vm.name] ?? '');
    return d ? [d] : [];
  });
}
