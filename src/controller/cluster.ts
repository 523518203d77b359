// Loads a cluster description: a YAML or JSON cluster file (cluster-schema.ts) or EDIV's own
// cluster.conf (cluster-conf.ts), detected from the file name and content. Every problem is
// reported as an InputError naming file, line and column.
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../common/errors.ts';
import { readBoundedFile } from '../common/input-file.ts';
import { AUTO_DRIVER, VXLAN_DEFAULT_PORT, type Cluster, type ClusterHost } from '../protocol/cluster.ts';
import { DEFAULT_BACKPLANE } from '../protocol/backplane.ts';
import { readClusterConf } from './cluster-conf.ts';
import { checkCluster, rangesOf, stringProblems, type IdRange, type RawCluster, type RawHost } from './cluster-rules.ts';
import { schemaErrors } from './cluster-schema.ts';
import { orderedProblems, schemaProblems } from './cluster-schema-errors.ts';
import { offsetPosition, readYamlOrJson, type LocatedDoc } from './cluster-source.ts';
import { FORBIDDEN_IN_TEXT, charName } from './cluster-values.ts';

export type ClusterFormat = 'yaml' | 'json' | 'cluster.conf';

/** Cluster files are small; anything bigger is a mistake (wrong file) and is refused unread. */
export const MAX_CLUSTER_FILE_BYTES = 4 * 1024 * 1024;

export const CLUSTER_DEFAULTS = {
  sshUser: 'root',
  sshPort: 22, // also DEFAULT_SSH_PORT in cluster-rules.ts (duplicate hosts)
  cpu: 100,
  /** The Node.js that runs the pushed agent on a host that names neither agentCommand nor agentNode. */
  agentNode: 'node',
  transport: 'ssh',
  driver: AUTO_DRIVER,
  backplane: DEFAULT_BACKPLANE,
  segmentator: 'round-robin',
} as const;

/** Picks the format from the extension, else from the content. */
export function detectClusterFormat(text: string, file: string): ClusterFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  const body = text.replace(/^\uFEFF/, '');
  if (/^\s*\{/.test(body)) return 'json';
  // An INI section header alone on a line ("[cluster]", "[vlan]") marks cluster.conf.
  if (/^\s*\[[^\]\s][^\]]*\]\s*$/m.test(body) && /^\s*[A-Za-z_][\w.-]*\s*=/m.test(body)) return 'cluster.conf';
  return 'yaml';
}

function expandPath(p: string | undefined, baseDir: string): string | undefined {
  if (p === undefined) return undefined;
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return path.resolve(baseDir, p);
}

/** Sorts the ranges and joins ranges that touch (100-199 + 200-299 = 100-299). */
function mergeRanges(ranges: IdRange[]): IdRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first);
  const out: IdRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.first <= last.last + 1) last.last = Math.max(last.last, r.last);
    else out.push({ ...r });
  }
  return out;
}

function toHost(h: RawHost, baseDir: string, driver: string): ClusterHost {
  const host: ClusterHost = {
    name: h.name,
    address: h.address ?? h.name,
    ssh: {
      user: h.ssh?.user ?? CLUSTER_DEFAULTS.sshUser,
      port: h.ssh?.port ?? CLUSTER_DEFAULTS.sshPort,
    },
    trunk: h.trunk,
    cpu: h.cpu ?? CLUSTER_DEFAULTS.cpu,
    labels: Object.fromEntries(Object.entries(h.labels ?? {}).map(([k, v]) => [k, String(v)])),
    agentCommand: [...(h.agentCommand ?? [])],
    transport: h.transport ?? CLUSTER_DEFAULTS.transport,
    driver: h.driver ?? driver,
  };
  const identity = expandPath(h.ssh?.identity, baseDir);
  const knownHosts = expandPath(h.ssh?.knownHosts, baseDir);
  if (identity !== undefined) host.ssh.identity = identity;
  if (knownHosts !== undefined) host.ssh.knownHosts = knownHosts;
  // `sudo` is checked by the schema (a boolean); cluster-rules.ts's RawHost does not list it.
  if ((h.ssh as { sudo?: unknown } | undefined)?.sudo === true) host.ssh.sudo = true;
  if ((h.ssh as { client?: unknown } | undefined)?.client === 'openssh') host.ssh.client = 'openssh';
  if (h.trunkAddress !== undefined) host.trunkAddress = h.trunkAddress;
  if (h.memMB !== undefined) host.memMB = h.memMB;
  if (h.maxVMs !== undefined) host.maxVMs = h.maxVMs;
  if (h.agentStateDir !== undefined) host.agentStateDir = h.agentStateDir;
  if (h.agentCommand === undefined) host.agentNode = h.agentNode ?? CLUSTER_DEFAULTS.agentNode;
  return host;
}

/** Validates a located document and builds the Cluster model. */
export function clusterFromDoc(doc: LocatedDoc, format: ClusterFormat): Cluster {
  if (doc.data === null || doc.data === undefined) {
    throw InputError.at(doc.file, undefined, undefined, 'the cluster file is empty: it needs at least a "hosts" list');
  }
  // Strings first: no later message may echo a control character.
  const badStrings = stringProblems(doc);
  if (badStrings.length > 0) throw new InputError(orderedProblems(badStrings));
  const errors = schemaErrors(doc.data);
  if (errors.length > 0) throw new InputError(schemaProblems(errors, doc));
  const raw = doc.data as RawCluster;
  const problems = checkCluster(raw, doc);
  if (problems.length > 0) throw new InputError(orderedProblems(problems));

  const baseDir = path.dirname(path.resolve(doc.file));
  const ranges = mergeRanges(rangesOf(raw));
  const ids: Cluster['ids'] = { first: ranges[0]!.first, last: ranges[ranges.length - 1]!.last };
  if (ranges.length > 1) ids.ranges = ranges;
  const management: Cluster['management'] = {};
  if (raw.management?.network !== undefined) management.network = raw.management.network;
  if (raw.management?.interface !== undefined) management.interface = raw.management.interface;
  const driver = raw.driver ?? CLUSTER_DEFAULTS.driver;
  return {
    hosts: raw.hosts.map((h) => toHost(h, baseDir, driver)),
    ids,
    backplane: raw.backplane ?? CLUSTER_DEFAULTS.backplane,
    ...(raw.trunkMTU !== undefined ? { trunkMTU: raw.trunkMTU } : {}),
    ...(raw.vxlan !== undefined ? { vxlan: { port: raw.vxlan.port ?? VXLAN_DEFAULT_PORT } } : {}),
    management,
    segmentator: raw.segmentator ?? CLUSTER_DEFAULTS.segmentator,
    ...(raw.state !== undefined ? { state: raw.state } : {}),
    ...(raw.admins !== undefined ? { admins: [...raw.admins] } : {}),
    driver,
    drivers: { ...raw.drivers },
    source: { path: doc.file, format },
  };
}

/**
 * Refuses text that cannot be a cluster description before any parser sees it: empty, binary
 * (a NUL byte), or holding another control character; reported where the first one is.
 */
function checkText(text: string, file: string): void {
  const refuse = (offset: number, message: string) => {
    throw new InputError({ loc: { file, ...offsetPosition(text, offset) }, message });
  };
  const nul = text.indexOf('\u0000');
  if (nul !== -1) refuse(nul, 'this is a binary file (a NUL byte here), not a cluster file (YAML, JSON or cluster.conf)');
  const bad = FORBIDDEN_IN_TEXT.exec(text);
  if (bad) refuse(bad.index, `the control character ${charName(bad[0])} has no place in a cluster file (YAML, JSON or cluster.conf are text)`);
  if (text.trim() === '') throw InputError.at(file, undefined, undefined, 'the cluster file is empty: it needs at least a "hosts" list');
}

/** Parses cluster text; the format is detected unless given. */
export function parseClusterText(text: string, file: string, format?: ClusterFormat): Cluster {
  const body = text.replace(/^\uFEFF/, '');
  checkText(body, file);
  const fmt = format ?? detectClusterFormat(body, file);
  const doc = fmt === 'cluster.conf' ? readClusterConf(body, file) : readYamlOrJson(body, file, fmt);
  return clusterFromDoc(doc, fmt);
}

/** Reads and parses a cluster file (YAML, JSON or EDIV cluster.conf). */
export async function loadCluster(file: string): Promise<Cluster> {
  const text = (await readBoundedFile(file, MAX_CLUSTER_FILE_BYTES, 'cluster file')).toString('utf8');
  return parseClusterText(text, file);
}
