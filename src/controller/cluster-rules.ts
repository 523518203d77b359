// Semantic checks of a schema-valid cluster document: what JSON Schema cannot say.
// Every problem points at the offending node.
import type { InputProblem } from '../common/errors.ts';
import { safeNameProblem } from '../common/names.ts';
import { AUTO_DRIVER, type BackplaneKind } from '../protocol/cluster.ts';
import { BACKPLANES, DEFAULT_BACKPLANE } from '../protocol/backplane.ts';
import type { DocPath, LocatedDoc } from './cluster-source.ts';
import { MAX_IFNAME, cidrProblem, hostAddressProblem, interfaceNameProblem, ipAddressProblem } from './cluster-values.ts';

export interface IdRange {
  first: number;
  last: number;
}

/** The shape of a document that passed the schema. */
export interface RawHost {
  name: string;
  address?: string;
  trunk: string;
  trunkAddress?: string;
  ssh?: { user?: string; port?: number; identity?: string; knownHosts?: string };
  cpu?: number;
  memMB?: number;
  maxVMs?: number;
  labels?: Record<string, string | number | boolean>;
  agentCommand?: string[];
  agentStateDir?: string;
  transport?: 'ssh' | 'local';
  driver?: string;
}
export interface RawCluster {
  hosts: RawHost[];
  ids?: IdRange | IdRange[];
  backplane?: BackplaneKind;
  management?: { network?: string; interface?: string };
  segmentator?: string;
  driver?: string;
  drivers?: Record<string, string>;
}

export const DEFAULT_IDS: IdRange = { first: 1000, last: 1999 };

/** A `drivers:` key: a VM type, or type/subtype. */
const VM_TYPE_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9][A-Za-z0-9_.-]*)?$/;

export function rangesOf(raw: RawCluster): IdRange[] {
  const ids = raw.ids ?? DEFAULT_IDS;
  return Array.isArray(ids) ? ids : [ids];
}

export function checkCluster(raw: RawCluster, doc: LocatedDoc): InputProblem[] {
  const problems: InputProblem[] = [];
  const at = (path: DocPath, message: string, key = false) => problems.push({ loc: { file: doc.file, ...doc.locate(path, key) }, message });
  const backplane = raw.backplane ?? DEFAULT_BACKPLANE;
  const kind = BACKPLANES[backplane];

  const seen = new Map<string, number>();
  raw.hosts.forEach((h, i) => {
    const p = (...rest: (string | number)[]) => ['hosts', i, ...rest];
    const bad = safeNameProblem('host', h.name);
    if (bad) at(p('name'), bad);
    const first = seen.get(h.name);
    if (first !== undefined) at(p('name'), `host name "${h.name}" is used twice (also ${doc.describe(['hosts', first])})`);
    else seen.set(h.name, i);
    if (h.address !== undefined) {
      const badAddr = hostAddressProblem(h.address);
      if (badAddr) at(p('address'), `${doc.describe(p('address'))}: ${badAddr}`);
    } else if (!bad) {
      const badAddr = hostAddressProblem(h.name);
      if (badAddr) at(p('name'), `host "${h.name}" has no address and its name is not one: ${badAddr}`);
    }
    if (h.trunkAddress !== undefined) {
      const badIp = ipAddressProblem(h.trunkAddress);
      if (badIp) at(p('trunkAddress'), `${doc.describe(p('trunkAddress'))}: ${badIp}`);
    }
    const badIf = interfaceNameProblem(h.trunk);
    if (badIf) {
      at(p('trunk'), `${doc.describe(p('trunk'))}: ${badIf}`);
    } else if (kind.namedAfterTrunk) {
      // The vlan backplane makes <trunk>.<id>, which must still fit in an interface name.
      const longest = kind.external(h.trunk, Math.max(...rangesOf(raw).map((r) => r.last)));
      if (longest.length > MAX_IFNAME) {
        at(p('trunk'), `${doc.describe(p('trunk'))}: ${kind.label} interface "${longest}" would exceed ${MAX_IFNAME} characters; use a shorter trunk name`);
      }
    }
    if (h.driver !== undefined) {
      const badDriver = safeNameProblem('driver', h.driver);
      if (badDriver) at(p('driver'), badDriver);
    }
  });
  if (raw.driver !== undefined) {
    const badDriver = safeNameProblem('driver', raw.driver);
    if (badDriver) at(['driver'], badDriver);
  }
  for (const [type, driver] of Object.entries(raw.drivers ?? {})) {
    if (!VM_TYPE_KEY.test(type)) {
      const message = `drivers: ${JSON.stringify(type)} is not a VM type: write a type (lxc, libvirt, uml, dynamips, ovf, …) or type/subtype (libvirt/kvm)`;
      at(['drivers', type], message, true);
    }
    const badDriver = driver === AUTO_DRIVER ? `drivers.${type}: name a driver (${AUTO_DRIVER} is what the map is used by)` : safeNameProblem('driver', driver);
    if (badDriver) at(['drivers', type], badDriver);
  }

  const ranges = rangesOf(raw);
  const single = !Array.isArray(raw.ids);
  ranges.forEach((r, i) => {
    const path = single ? ['ids'] : ['ids', i];
    if (r.first > r.last) at(path, `id range ${r.first}-${r.last}: first is greater than last`);
    if (r.last > kind.maxId || r.first < 1) {
      at(path, `id range ${r.first}-${r.last} is outside 1-${kind.maxId}, the ids a ${backplane} backplane can use`);
    }
  });
  for (let i = 0; i < ranges.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = ranges[j]!;
      const b = ranges[i]!;
      if (a.first <= b.last && b.first <= a.last) {
        at(['ids', i], `id range ${b.first}-${b.last} overlaps range ${a.first}-${a.last} (${doc.describe(['ids', j])})`);
      }
    }
  }

  if (raw.management?.network !== undefined) {
    const badNet = cidrProblem(raw.management.network);
    if (badNet) at(['management', 'network'], `${doc.describe(['management', 'network'])}: ${badNet}`);
  }
  if (raw.management?.interface !== undefined) {
    const badIf = interfaceNameProblem(raw.management.interface);
    if (badIf) at(['management', 'interface'], `${doc.describe(['management', 'interface'])}: ${badIf}`);
  }
  return problems;
}
