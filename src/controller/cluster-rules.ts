// Semantic checks of a cluster document: the characters of every string (before the schema,
// so that no message echoes a control character), then, on a schema-valid document, what JSON
// Schema cannot say. Every problem points at the offending node.
import { isIP } from 'node:net';
import path from 'node:path';
import type { InputProblem } from '../common/errors.ts';
import { safeNameProblem } from '../common/names.ts';
import { AUTO_DRIVER, MTU_BOUNDS, VXLAN_OVERHEAD, type BackplaneKind } from '../protocol/cluster.ts';
import { BACKPLANES, DEFAULT_BACKPLANE } from '../protocol/backplane.ts';
import { findBuiltin, listSegmentators } from '../segmentators/registry.ts';
import { show } from './cluster-schema-errors.ts';
import type { DocPath, LocatedDoc } from './cluster-source.ts';
import { MAX_IFNAME, cidrProblem, controlCharacterProblem, hostAddressProblem, interfaceNameProblem, ipAddressProblem, printable } from './cluster-values.ts';

/** Longest key or string value: PATH_MAX; longer is a wrong file or an attack on a parser downstream. */
export const MAX_STRING = 4096;

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
  agentNode?: string;
  agentStateDir?: string;
  transport?: 'ssh' | 'local';
  driver?: string;
}
export interface RawCluster {
  hosts: RawHost[];
  ids?: IdRange | IdRange[];
  backplane?: BackplaneKind;
  trunkMTU?: number;
  vxlan?: { port?: number };
  management?: { network?: string; interface?: string };
  segmentator?: string;
  state?: string;
  admins?: string[];
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

/** Why a key or string cannot be in a cluster file (control characters, length), or undefined. */
function stringProblem(s: string): string | undefined {
  if (s.length > MAX_STRING) return `is longer than ${MAX_STRING} characters`;
  return controlCharacterProblem(s);
}

/**
 * Every key and string value of the document, checked for control characters and length,
 * iteratively (the reader has bounded the nesting and the node count). Each object is visited
 * once, so even a cyclic value (which the YAML reader refuses) cannot keep this walking.
 */
export function stringProblems(doc: LocatedDoc): InputProblem[] {
  const problems: InputProblem[] = [];
  const at = (p: DocPath, message: string, key = false) => problems.push({ loc: { file: doc.file, ...doc.locate(p, key) }, message });
  const stack: { value: unknown; path: DocPath }[] = [{ value: doc.data, path: [] }];
  const visited = new Set<object>();
  while (stack.length > 0) {
    const { value, path: p } = stack.pop()!;
    if (value !== null && typeof value === 'object') {
      if (visited.has(value)) continue;
      visited.add(value);
    }
    if (typeof value === 'string') {
      const bad = stringProblem(value);
      if (bad) at(p, `${printable(doc.describe(p))} ${bad}`);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: [...p, i] }));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const bad = stringProblem(k);
        // A bad key is reported at the key, naming its parent (the key itself is not printed).
        if (bad) at([...p, k], `a key in ${printable(doc.describe(p))} ${bad}`, true);
        else stack.push({ value: v, path: [...p, k] });
      }
    }
  }
  return problems;
}

/** A login name as `admins:` lists it (and owners record it). */
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/;

/** Why `state:` is not a PostgreSQL URL ediv can use without a password in the file, or undefined. */
export function stateUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${JSON.stringify(text.slice(0, 80))} is not a URL: write postgresql://USER@HOST[:PORT]/DATABASE`;
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    return `${url.protocol.replace(/:$/, '')} is not a state store ediv knows: write postgresql://USER@HOST[:PORT]/DATABASE (without state:, each controller keeps its own SQLite file)`;
  }
  if (url.password !== '') {
    return 'the URL holds a password, which everyone who can read this file would see: remove it and set PGPASSWORD or a ~/.pgpass line on each controller';
  }
  if (url.pathname.replace(/^\//, '') === '') return 'name the database: postgresql://USER@HOST[:PORT]/DATABASE';
  if (url.hostname === '' && !url.searchParams.has('host')) return 'name the server: postgresql://USER@HOST[:PORT]/DATABASE (or ?host=/socket/dir)';
  return undefined;
}

/** The cluster's default segmentator must be a built-in: a cluster file never names code to run. */
function segmentatorProblem(name: string): string | undefined {
  if (findBuiltin(name)) return undefined;
  const known = listSegmentators().flatMap((s) => [s.name, ...s.aliases]).join(', ');
  return (
    `${show(name)} is not a built-in segmentator (${known}); a cluster file may name only these: ` +
    'a plugin is code run with ediv\'s privileges, so it is loaded only from --segmentator on the command line'
  );
}

/** CLUSTER_DEFAULTS.sshPort (cluster.ts, which imports this module). */
const DEFAULT_SSH_PORT = 22;

/** An address as compared for sameness: IPv6 in canonical form, DNS names in lower case without the final dot. */
function canonicalAddress(address: string): string {
  if (isIP(address) === 6) {
    try {
      return new URL(`http://[${address}]/`).hostname;
    } catch {
      return address.toLowerCase(); // a zone id (fe80::1%eth0): compared as written
    }
  }
  return address.toLowerCase().replace(/\.$/, '');
}

/**
 * What makes two host entries one agent: the machine (a local host is the controller itself;
 * an SSH host is its address and port) and the agent's state directory (journal).
 */
function agentIdentity(h: RawHost): string {
  const machine = h.transport === 'local' ? 'local' : `${canonicalAddress(h.address ?? h.name)} port ${h.ssh?.port ?? DEFAULT_SSH_PORT}`;
  const stateDir = h.agentStateDir === undefined ? '' : path.posix.normalize(h.agentStateDir).replace(/(.)\/$/, '$1');
  return `${machine}\0${stateDir}`;
}

function sameAgentProblem(h: RawHost, other: string): string {
  const where = h.transport === 'local' ? 'the controller itself (transport local)' : `${h.address ?? h.name}, SSH port ${h.ssh?.port ?? DEFAULT_SSH_PORT}`;
  const dir = h.agentStateDir === undefined ? "the agent's default state directory" : `state directory ${h.agentStateDir}`;
  return (
    `host "${h.name}" is the same agent as ${other}: ${where}, ${dir}; two hosts sharing one agent journal would ` +
    'undo each other\'s work (give one another address, port or agentStateDir)'
  );
}

/**
 * `vxlan` and `trunkMTU`: the vxlan section only with the vxlan backplane (written without it,
 * the lab would silently run on vlan), and a trunk MTU that leaves the VMs' frames at least
 * MTU_BOUNDS.min bytes once the encapsulation is taken off (the schema bounds the number itself).
 */
function backplaneSettingsProblems(raw: RawCluster, doc: LocatedDoc): InputProblem[] {
  const problems: InputProblem[] = [];
  const at = (path: DocPath, message: string, key = false) => problems.push({ loc: { file: doc.file, ...doc.locate(path, key) }, message });
  const backplane = raw.backplane ?? DEFAULT_BACKPLANE;
  if (raw.vxlan !== undefined && backplane !== 'vxlan') {
    const which = `${backplane}${raw.backplane === undefined ? ' (the default)' : ''}`;
    at(['vxlan'], `${doc.describe(['vxlan'])}: these settings are the vxlan backplane's, but the backplane is ${which}: set backplane to vxlan, or remove them`, true);
  }
  if (raw.trunkMTU !== undefined && backplane === 'vxlan') {
    // The encapsulation is bigger over an IPv6 underlay; a DNS name is resolved later, so IPv4 is assumed for it.
    const ipv6 = raw.hosts.some((h) => isIP(h.trunkAddress ?? h.address ?? h.name) === 6);
    const overhead = ipv6 ? VXLAN_OVERHEAD.ipv6 : VXLAN_OVERHEAD.ipv4;
    const least = MTU_BOUNDS.min + overhead;
    if (raw.trunkMTU < least) {
      at(
        ['trunkMTU'],
        `${doc.describe(['trunkMTU'])} ${raw.trunkMTU} leaves ${raw.trunkMTU - overhead} bytes for the VMs' frames after VXLAN's ${overhead}-byte ` +
          `encapsulation (over ${ipv6 ? 'IPv6' : 'IPv4'}); an interface needs at least ${MTU_BOUNDS.min}: trunkMTU must be at least ${least}`,
      );
    }
  }
  return problems;
}

export function checkCluster(raw: RawCluster, doc: LocatedDoc): InputProblem[] {
  const problems: InputProblem[] = [];
  const at = (path: DocPath, message: string, key = false) => problems.push({ loc: { file: doc.file, ...doc.locate(path, key) }, message });
  const backplane = raw.backplane ?? DEFAULT_BACKPLANE;
  const kind = BACKPLANES[backplane];

  const seen = new Map<string, number>();
  const agents = new Map<string, number>();
  raw.hosts.forEach((h, i) => {
    const p = (...rest: (string | number)[]) => ['hosts', i, ...rest];
    const bad = safeNameProblem('host', h.name);
    if (bad) at(p('name'), bad);
    const first = seen.get(h.name);
    if (first !== undefined) at(p('name'), `host name "${h.name}" is used twice (also ${doc.describe(['hosts', first])})`);
    else seen.set(h.name, i);
    const agent = agentIdentity(h);
    const sameAgent = agents.get(agent);
    if (sameAgent !== undefined && first === undefined) at(p(h.address !== undefined ? 'address' : 'name'), sameAgentProblem(h, doc.describe(['hosts', sameAgent])));
    else if (sameAgent === undefined) agents.set(agent, i);
    if (h.address !== undefined) {
      const badAddr = hostAddressProblem(h.address);
      if (badAddr) at(p('address'), `${doc.describe(p('address'))}: ${badAddr}`);
    } else if (!bad) {
      const badAddr = hostAddressProblem(h.name);
      if (badAddr) at(p('name'), `host "${h.name}" has no address and its name is not one: ${badAddr}`);
    }
    if (h.agentCommand !== undefined && h.agentNode !== undefined) {
      at(p('agentNode'), `${doc.describe(p('agentNode'))}: give agentCommand (an ediv installed on the host) or agentNode (the Node.js that runs the agent the controller brings), not both`, true);
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
  if (raw.segmentator !== undefined) {
    const badSeg = segmentatorProblem(raw.segmentator);
    if (badSeg) at(['segmentator'], `${doc.describe(['segmentator'])}: ${badSeg}`);
  }
  if (raw.driver !== undefined) {
    const badDriver = safeNameProblem('driver', raw.driver);
    if (badDriver) at(['driver'], badDriver);
  }
  if (raw.state !== undefined) {
    const badState = stateUrlProblem(raw.state);
    if (badState) at(['state'], `${doc.describe(['state'])}: ${badState}`);
  }
  (raw.admins ?? []).forEach((user, i) => {
    if (!USER_NAME.test(user)) at(['admins', i], `${doc.describe(['admins', i])}: ${JSON.stringify(user)} is not a user name (letters, digits, '.', '_', '-', '@')`);
  });
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

  problems.push(...backplaneSettingsProblems(raw, doc));

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
