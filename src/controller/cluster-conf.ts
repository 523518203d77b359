// EDIV's own cluster.conf (INI-like), read as it is and translated into the cluster-file
// document shape (cluster-schema.ts), so that the same validation applies to both.
//
// Two generations of key names are accepted:
//   VNX-era (/etc/vnx.conf):  [cluster] host = <id>;  [<id>] host_name, mem, cpu, max_vms, if_name
//   EDIV 0.9.4:               [cluster] host = <name>; [<name>] mem, cpu, max_vhost(s), ifname
// [db] and any other section (vnx.conf holds many) is ignored, as is a host section for a
// host that [cluster] does not list.
import { InputError, type InputProblem } from '../common/errors.ts';
import { CLUSTER_BOUNDS } from './cluster-schema.ts';
import { orderedProblems } from './cluster-schema-errors.ts';
import type { DocPath, LocatedDoc, Position } from './cluster-source.ts';
import { maskToPrefix } from './cluster-values.ts';

interface Entry {
  key: string;
  value: string;
  line: number;
  column: number;
}

interface Section {
  name: string;
  line: number;
  entries: Entry[];
}

/**
 * Host-section keys (both generations) → cluster-file host field. A Map, so that a key named
 * like an Object.prototype member (constructor, __proto__, toString) is just an unknown key.
 */
const HOST_KEYS: ReadonlyMap<string, string> = new Map([
  ['host_name', 'address'],
  ['mem', 'memMB'],
  ['cpu', 'cpu'],
  ['max_vms', 'maxVMs'],
  ['max_vhost', 'maxVMs'],
  ['max_vhosts', 'maxVMs'],
  ['if_name', 'trunk'],
  ['ifname', 'trunk'],
]);
const VLAN_KEYS = ['first', 'last'];
const CLUSTER_KEYS = ['host', 'default_segmentation', 'mgmt_network', 'mgmt_network_mask', 'backplane', 'vxlan_port', 'trunk_mtu'];

function splitSections(text: string, file: string): Section[] {
  const sections: Section[] = [];
  const problems: InputProblem[] = [];
  let current: Section | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    // A lone carriage return would let a value overwrite what a terminal shows of a message.
    if (raw.includes('\r')) {
      problems.push({ loc: { file, line, column: raw.indexOf('\r') + 1 }, message: 'a carriage return inside a line (U+000D): cluster.conf lines end with a newline' });
      return;
    }
    const header = /^\[\s*([^\]]*?)\s*\]$/.exec(trimmed);
    if (header) {
      current = { name: header[1]!, line, entries: [] };
      sections.push(current);
      return;
    }
    const kv = /^([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!kv) {
      problems.push({ loc: { file, line, column: raw.search(/\S/) + 1 }, message: `expected "key = value" or "[section]", found ${JSON.stringify(trimmed.slice(0, 60))}` });
      return;
    }
    if (!current) {
      problems.push({ loc: { file, line, column: 1 }, message: `"${kv[1]}" is outside any [section]` });
      return;
    }
    // A " #" after the value starts a comment.
    const value = kv[2]!.replace(/\s+[#;].*$/, '').trim();
    current.entries.push({ key: kv[1]!.toLowerCase(), value, line, column: raw.indexOf(kv[2]!) + 1 });
  });
  if (problems.length > 0) throw new InputError(orderedProblems(problems));
  return sections;
}

/** Sections by name (a file may repeat a section; its entries are read in order). */
function sectionIndex(sections: Section[]): Map<string, Section[]> {
  const index = new Map<string, Section[]>();
  for (const sec of sections) {
    const list = index.get(sec.name);
    if (list) list.push(sec);
    else index.set(sec.name, [sec]);
  }
  return index;
}

/** "2048" → 2048; anything else stays a string, for the schema to report at its line. */
function numeric(value: string): number | string {
  return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

/** Parses cluster.conf text into a located cluster document. */
export function readClusterConf(text: string, file: string): LocatedDoc {
  const sections = splitSections(text, file);
  const problems: InputProblem[] = [];
  const where = new Map<string, Position>();
  const names = new Map<string, string>();
  const note = (path: DocPath, e: Entry | Section, confName: string) => {
    where.set(path.join('/'), 'key' in e ? { line: e.line, column: e.column } : { line: e.line, column: 1 });
    names.set(path.join('/'), confName);
  };
  const index = sectionIndex(sections);
  const bySection = (name: string): Section[] => index.get(name) ?? [];

  /** Single-valued keys of the named sections, checked against the keys allowed there. */
  const single = (secName: string, allowed: string[]): Map<string, Entry> => {
    const out = new Map<string, Entry>();
    for (const sec of bySection(secName)) {
      for (const e of sec.entries) {
        if (!allowed.includes(e.key)) {
          problems.push({ loc: { file, line: e.line, column: 1 }, message: `unknown key "${e.key}" in [${secName}] (known: ${allowed.join(', ')})` });
        } else if (e.key !== 'host' && out.has(e.key)) {
          problems.push({ loc: { file, line: e.line, column: 1 }, message: `"${e.key}" is given twice in [${secName}] (first at line ${out.get(e.key)!.line})` });
        } else if (e.key !== 'host') {
          out.set(e.key, e);
        }
      }
    }
    return out;
  };

  const doc: Record<string, unknown> = {};
  const cluster = bySection('cluster');
  if (cluster.length === 0) {
    throw InputError.at(file, undefined, undefined, 'no [cluster] section: EDIV cluster.conf lists its hosts there (host = <name>)');
  }
  const clusterKeys = single('cluster', CLUSTER_KEYS);
  const hostEntries = cluster.flatMap((s) => s.entries.filter((e) => e.key === 'host'));
  if (hostEntries.length === 0) problems.push({ loc: { file, line: cluster[0]!.line }, message: '[cluster] lists no host (add "host = <name>" lines)' });
  const tooMany = hostEntries[CLUSTER_BOUNDS.hosts];
  if (tooMany) {
    // Refused before the hosts are read: each one costs a section lookup and its checks.
    throw InputError.at(file, tooMany.line, tooMany.column, `[cluster] lists more than ${CLUSTER_BOUNDS.hosts} hosts`);
  }

  const hosts: Record<string, unknown>[] = [];
  hostEntries.forEach((he, i) => {
    const host: Record<string, unknown> = { name: he.value };
    note(['hosts', i], he, `host ${he.value}`);
    note(['hosts', i, 'name'], he, 'host');
    const secs = bySection(he.value);
    if (secs.length === 0) {
      problems.push({ loc: { file, line: he.line, column: he.column }, message: `host "${he.value}" has no [${he.value}] section (it needs at least ifname)` });
    }
    const seen = new Map<string, Entry>();
    for (const e of secs.flatMap((s) => s.entries)) {
      const field = HOST_KEYS.get(e.key);
      if (!field) {
        problems.push({ loc: { file, line: e.line, column: 1 }, message: `unknown key "${e.key}" in [${he.value}] (known: ${[...HOST_KEYS.keys()].join(', ')})` });
        continue;
      }
      const earlier = seen.get(field);
      if (earlier) {
        problems.push({ loc: { file, line: e.line, column: 1 }, message: `"${e.key}" repeats "${earlier.key}" of line ${earlier.line} in [${he.value}]` });
        continue;
      }
      seen.set(field, e);
      host[field] = field === 'address' || field === 'trunk' ? e.value : numeric(e.value);
      note(['hosts', i, field], e, `${e.key} in [${he.value}]`);
    }
    if (secs.length > 0 && !seen.has('trunk')) {
      problems.push({ loc: { file, line: secs[0]!.line }, message: `[${he.value}] has no ifname (the interface that connects the hosts)` });
      host.trunk = '';
    }
    hosts.push(host);
  });
  doc.hosts = hosts;

  const vlan = single('vlan', VLAN_KEYS);
  if (vlan.size > 0) {
    const ids: Record<string, unknown> = {};
    for (const [k, e] of vlan) {
      ids[k] = numeric(e.value);
      note(['ids', k], e, `${k} in [vlan]`);
    }
    const sec = bySection('vlan')[0]!;
    note(['ids'], sec, '[vlan]');
    doc.ids = ids;
  }

  const seg = clusterKeys.get('default_segmentation');
  if (seg) {
    doc.segmentator = seg.value;
    note(['segmentator'], seg, 'default_segmentation');
  }
  const backplane = clusterKeys.get('backplane');
  if (backplane) {
    doc.backplane = backplane.value;
    note(['backplane'], backplane, 'backplane');
  }
  // ediv extensions, like backplane: the cluster file's vxlan.port and trunkMTU.
  const vxlanPort = clusterKeys.get('vxlan_port');
  if (vxlanPort) {
    doc.vxlan = { port: numeric(vxlanPort.value) };
    note(['vxlan'], vxlanPort, 'vxlan_port');
    note(['vxlan', 'port'], vxlanPort, 'vxlan_port');
  }
  const trunkMtu = clusterKeys.get('trunk_mtu');
  if (trunkMtu) {
    doc.trunkMTU = numeric(trunkMtu.value);
    note(['trunkMTU'], trunkMtu, 'trunk_mtu');
  }
  const net = clusterKeys.get('mgmt_network');
  const mask = clusterKeys.get('mgmt_network_mask');
  if (net) {
    let prefix: number | string | undefined = mask?.value;
    if (mask && !/^\d+$/.test(mask.value)) {
      prefix = maskToPrefix(mask.value);
      if (prefix === undefined) problems.push({ loc: { file, line: mask.line, column: mask.column }, message: `mgmt_network_mask ${JSON.stringify(mask.value)} is neither a prefix length nor a netmask` });
    }
    doc.management = { network: prefix === undefined ? net.value : `${net.value}/${prefix}` };
    note(['management'], net, 'mgmt_network');
    note(['management', 'network'], mask ?? net, mask ? 'mgmt_network/mgmt_network_mask' : 'mgmt_network');
  } else if (mask) {
    problems.push({ loc: { file, line: mask.line, column: 1 }, message: 'mgmt_network_mask is given without mgmt_network' });
  }

  if (problems.length > 0) throw new InputError(orderedProblems(problems));

  const lookup = <T>(map: Map<string, T>, path: DocPath): T | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const hit = map.get(path.slice(0, n).join('/'));
      if (hit !== undefined) return hit;
    }
    return undefined;
  };
  return {
    file,
    data: doc,
    locate: (path) => lookup(where, path) ?? {},
    describe: (path) => names.get(path.join('/')) ?? lookup(names, path) ?? path.join('.'),
  };
}
