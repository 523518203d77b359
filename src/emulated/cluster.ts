// The emulated cluster (`ediv cluster up --local N`): N cluster hosts on this machine. Each host
// is a network namespace with a management address on a veth whose peer sits on a bridge in the
// root namespace (the cluster switch, carrying the controller's address), and a real OpenSSH
// server through which the controller runs the ediv agent, exactly as on a real cluster.
// Names and addresses come from emulated-layout.ts. Everything made is journaled first in a
// manifest (emulated-cluster-manifest.ts), so `down` works after a crash.
import { existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { OperationError } from '../common/errors.ts';
import { defaultStateDir, edivRoot } from '../common/paths.ts';
import type { BackplaneKind, Cluster } from '../protocol/cluster.ts';
import { BACKPLANES } from '../protocol/backplane.ts';
import {
  EMULATED,
  emulatedCluster,
  emulatedHostAddress,
  emulatedHostName,
  emulatedHostNamespace,
  emulatedInstance,
  localClusterDir,
} from './layout.ts';
import { destroyLeftoverDeployments } from './leftovers.ts';
import { journal, readManifest, writeManifest, manifestPath } from './manifest.ts';
import type { Manifest, Resource } from './manifest.ts';
import {
  ensureKey,
  isOurSshd,
  killPid,
  sshdFiles,
  startSshd,
  tcpOpen,
  waitForSshd,
  writeSshdConfig,
} from './sshd.ts';
import { pidAlive } from '../common/process.ts';
import {
  checkTools,
  kernelHasVlan,
  linkExists,
  netnsList,
  netnsPids,
  requireEmulatedRoot,
  run,
  tryRun,
} from './sys.ts';

const SSH_PORT = 22;

export interface ClusterOptions {
  /** Instance number (0 = the user's default cluster; tests use their own). */
  instance?: number;
  /** Directory holding the keys, known_hosts, cluster file and manifest. */
  dir?: string;
  /** Progress lines while building or tearing down. */
  onProgress?: (message: string, host?: string) => void;
}

export interface ClusterUpOptions extends ClusterOptions {
  hosts: number;
  /**
   * Host numbers (1-based) to make bare, as a fresh machine would be: the ediv package the
   * controller runs from is hidden from their sshd (a tmpfs over it in the sshd's mount
   * namespace), and their agent is the one the controller brings (agentNode). Default none.
   */
  bare?: number[];
}

export interface HostStatus {
  name: string;
  address: string;
  netns: string;
  /** Namespace present, sshd alive and answering on the management address. */
  up: boolean;
  /** sshd pid, or null when it is not running. */
  sshd: number | null;
  /** A bare host: this ediv is hidden from it, the controller brings the agent. */
  bare: boolean;
}

export interface ClusterStatus {
  instance: number;
  dir: string;
  /** Whether a cluster exists (a manifest) and every host is up. */
  up: boolean;
  hosts: HostStatus[];
  mgmtInterface: string;
  controllerAddress: string;
  clusterFile: string;
  backplane?: BackplaneKind;
}

export interface ClusterUpResult extends ClusterStatus {
  /** True when the cluster was already up with the same number of hosts (nothing done). */
  alreadyUp: boolean;
}

/** Default directory of emulated cluster instance k. */
export function defaultClusterDir(instance = 0): string {
  const base = localClusterDir(defaultStateDir());
  return instance === 0 ? base : `${base}-${instance}`;
}

/** Root-namespace end of host i's management veth (≤ 15 characters for any instance/host). */
export function emulatedHostLink(i: number, k = 0): string {
  return `ediv${k}h${i}`;
}

function resolveDir(o: ClusterOptions): string {
  return path.resolve(o.dir ?? defaultClusterDir(o.instance ?? 0));
}

function files(dir: string) {
  return {
    clientKey: path.join(dir, 'id_ed25519'),
    authorizedKeys: path.join(dir, 'authorized_keys'),
    knownHosts: path.join(dir, 'known_hosts'),
    clusterFile: path.join(dir, 'cluster.yaml'),
    hostsDir: path.join(dir, 'hosts'),
  };
}

/** Builds the emulated cluster (or completes a half-built one); a no-op when it is already up. */
export async function clusterUp(o: ClusterUpOptions): Promise<ClusterUpResult> {
  const k = o.instance ?? 0;
  const inst = emulatedInstance(k);
  const n = o.hosts;
  if (!Number.isInteger(n) || n < 1 || n > EMULATED.maxHosts) {
    throw new RangeError(`the number of hosts must be 1..${EMULATED.maxHosts}`);
  }
  requireEmulatedRoot('ediv cluster up --local');
  await checkTools();
  const dir = resolveDir(o);
  const say = o.onProgress ?? (() => {});

  const existing = readManifest(dir);
  if (existing) {
    if (existing.instance !== k) {
      throw new OperationError(`${dir} holds emulated cluster instance ${existing.instance}, not ${k}`);
    }
    if (existing.hosts !== n) {
      throw new OperationError(
        `emulated cluster instance ${k} is already up with ${existing.hosts} hosts (asked for ${n}); ` +
          `run 'ediv cluster down${k ? ` --instance ${k}` : ''}' first`,
      );
    }
    if (o.bare !== undefined && JSON.stringify([...new Set(o.bare)].sort((a, b) => a - b)) !== JSON.stringify(existing.bare ?? [])) {
      throw new OperationError(
        `emulated cluster instance ${k} is already up with bare hosts [${(existing.bare ?? []).join(', ')}] (asked for [${o.bare.join(', ')}]); ` +
          `run 'ediv cluster down${k ? ` --instance ${k}` : ''}' first`,
      );
    }
    const st = await clusterStatus({ instance: k, dir });
    if (st.up) {
      say(`emulated cluster instance ${k} is already up with ${n} hosts`);
      return { ...st, alreadyUp: true };
    }
    say(`completing the half-built emulated cluster instance ${k}`);
  } else if (await linkExists(inst.bridge)) {
    throw new OperationError(
      `bridge ${inst.bridge} of emulated cluster instance ${k} exists but ${manifestPath(dir)} does not: ` +
        `the instance belongs to another directory, or was left behind; remove it with ` +
        `'ediv cluster down --instance ${k}' (with --dir if it was built elsewhere)`,
    );
  }

  const createdDir = !existsSync(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const backplane = existing?.backplane ?? ((await kernelHasVlan(`ediv${k}vlanprobe`.slice(0, 15))) ? BACKPLANES.vlan.kind : BACKPLANES.vxlan.kind);
  const bare = [...new Set(o.bare ?? [])].sort((a, b) => a - b);
  if (bare.some((i) => !Number.isInteger(i) || i < 1 || i > n)) throw new RangeError(`bare host numbers must be 1..${n}`);
  const m: Manifest = existing ?? { version: 1, instance: k, hosts: n, createdDir, backplane, ...(bare.length ? { bare } : {}), resources: [] };
  if (!existing) writeManifest(dir, m);

  try {
    await build(dir, k, n, m, say);
  } catch (err) {
    if (!existing) {
      say('building failed; removing what was made');
      await clusterDown({ instance: k, dir }).catch(() => {});
    }
    throw err;
  }
  const st = await clusterStatus({ instance: k, dir });
  if (!st.up) {
    const down = st.hosts.filter((h) => !h.up).map((h) => h.name);
    throw new OperationError(`emulated cluster built but hosts are not answering: ${down.join(', ')}`);
  }
  say(`emulated cluster up: ${n} hosts on ${inst.bridge}, cluster file ${st.clusterFile}`);
  return { ...st, alreadyUp: false };
}

async function build(dir: string, k: number, n: number, m: Manifest, say: (msg: string, host?: string) => void) {
  const inst = emulatedInstance(k);
  const f = files(dir);
  for (const p of [f.clientKey, `${f.clientKey}.pub`, f.authorizedKeys, f.knownHosts, f.clusterFile, f.hostsDir]) {
    journal(dir, m, { kind: 'path', path: p });
  }

  say('generating the client key');
  const clientPub = await ensureKey(f.clientKey, `ediv-emulated-cluster-${k}`);
  writeFileSync(f.authorizedKeys, clientPub + '\n', { mode: 0o600 });

  say(`creating bridge ${inst.bridge} (${inst.controllerAddress}/${EMULATED.prefix})`);
  journal(dir, m, { kind: 'bridge', name: inst.bridge });
  if (!(await linkExists(inst.bridge))) {
    // No multicast snooping: SSDP between hosts and controller must flood like on a plain switch.
    await run('ip', ['link', 'add', 'name', inst.bridge, 'type', 'bridge', 'mcast_snooping', '0']);
  }
  await run('ip', ['addr', 'replace', `${inst.controllerAddress}/${EMULATED.prefix}`, 'dev', inst.bridge]);
  await run('ip', ['link', 'set', inst.bridge, 'up']);

  // A bare host may run a copy of this Node.js kept in the directory (layout.ts, bareHostNode).
  if (m.bare?.length) journal(dir, m, { kind: 'path', path: path.join(dir, 'node') });
  const model = emulatedCluster(n, dir, k, m.bare);
  model.backplane = m.backplane;
  const hostKeys = await Promise.all(model.hosts.map((_, idx) => buildHost(dir, k, idx + 1, m, say)));

  // Pinned known_hosts: each host's key for its management address.
  const known = model.hosts.map((h, idx) => `${h.address} ${hostKeys[idx]}`).join('\n') + '\n';
  writeFileSync(f.knownHosts, known, { mode: 0o600 });
  writeFileSync(f.clusterFile, clusterFileText(model, k, n), { mode: 0o644 });
}

/** Builds host i: namespace, management link and address, host key, sshd. Returns its public host key. */
async function buildHost(dir: string, k: number, i: number, m: Manifest, say: (msg: string, host?: string) => void) {
  const inst = emulatedInstance(k);
  const name = emulatedHostName(i);
  const ns = emulatedHostNamespace(i, k);
  const link = emulatedHostLink(i, k);
  const address = emulatedHostAddress(i, k);
  const hostDir = path.join(files(dir).hostsDir, name);

  say(`namespace ${ns}, ${address} on ${inst.bridge}`, name);
  journal(dir, m, { kind: 'netns', name: ns });
  journal(dir, m, { kind: 'link', name: link });
  if (!(await netnsList()).has(ns)) await run('ip', ['netns', 'add', ns]);
  if (!(await linkExists(link))) {
    await run('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', EMULATED.hostInterface, 'netns', ns]);
  }
  await run('ip', ['link', 'set', link, 'master', inst.bridge, 'up']);
  await run('ip', ['-n', ns, '-batch', '-'], [
    `link set lo up`,
    `addr replace ${address}/${EMULATED.prefix} dev ${EMULATED.hostInterface}`,
    `link set ${EMULATED.hostInterface} up`,
    // Multicast (SSDP) leaves through the management interface; there is no default route.
    `route replace 224.0.0.0/4 dev ${EMULATED.hostInterface}`,
  ].join('\n') + '\n');

  mkdirSync(path.join(hostDir, 'agent'), { recursive: true, mode: 0o700 });
  const sf = sshdFiles(hostDir);
  const hostKey = await ensureKey(sf.hostKey, `${name}@ediv-emulated-cluster-${k}`);
  writeSshdConfig(sf, address, SSH_PORT, files(dir).authorizedKeys);

  const running = m.resources.find((r): r is Extract<Resource, { kind: 'sshd' }> => r.kind === 'sshd' && r.host === name);
  if (!running || !isOurSshd(running.pid, sf.config)) {
    say('starting sshd', name);
    const pid = startSshd(ns, name, sf, m.bare?.includes(i) ? [edivRoot] : []);
    if (running) m.resources.splice(m.resources.indexOf(running), 1);
    journal(dir, m, { kind: 'sshd', host: name, pid, config: sf.config });
    await waitForSshd(pid, address, SSH_PORT, sf);
  }
  // "ssh-ed25519 AAAA... comment" → type and key only.
  return hostKey.split(/\s+/).slice(0, 2).join(' ');
}

function clusterFileText(model: Cluster, k: number, n: number): string {
  const { source: _source, ...rest } = model;
  // A bare host names only its agentNode (a cluster file's agentCommand is never empty).
  rest.hosts = rest.hosts.map(({ agentCommand, ...h }) => (h.agentNode !== undefined ? h : { ...h, agentCommand })) as Cluster['hosts'];
  const header =
    `# Emulated cluster instance ${k} (${n} hosts), written by 'ediv cluster up --local ${n}'.\n` +
    `# Removed by 'ediv cluster down${k ? ` --instance ${k}` : ''}'.\n`;
  return header + YAML.stringify(rest);
}

/** Removes everything `clusterUp` made for this instance; succeeds when parts are already gone. */
export async function clusterDown(o: ClusterOptions = {}): Promise<{ dir: string; removed: string[] }> {
  const k = o.instance ?? 0;
  const inst = emulatedInstance(k);
  requireEmulatedRoot('ediv cluster down');
  const dir = resolveDir(o);
  const say = o.onProgress ?? (() => {});
  const m = readManifest(dir);
  if (m && m.instance !== k) {
    throw new OperationError(`${dir} holds emulated cluster instance ${m.instance}, not ${k}`);
  }
  const resources = m?.resources ?? (await guessResources(dir, k));
  const removed: string[] = [];

  const hostCount = m?.hosts ?? resources.filter((r) => r.kind === 'netns').length;
  const left = await destroyLeftoverDeployments(dir, k, hostCount, say);
  removed.push(...left.destroyed.map((d) => `deployment ${d}`));
  for (const f of left.failed) say(`warning: could not destroy ${f}`);

  for (const r of resources) {
    if (r.kind !== 'sshd') continue;
    if (isOurSshd(r.pid, r.config)) {
      say(`stopping sshd (pid ${r.pid})`, r.host);
      await killPid(r.pid);
      removed.push(`process ${r.pid} (sshd of ${r.host})`);
    }
  }
  const present = await netnsList();
  for (const r of resources) {
    if (r.kind !== 'netns' || !present.has(r.name)) continue;
    // Whatever still runs inside a host namespace we made (agent sessions, daemons) is ours.
    for (const pid of await netnsPids(r.name)) {
      await killPid(pid);
      removed.push(`process ${pid} (in ${r.name})`);
    }
  }
  for (const r of resources) {
    if (r.kind === 'link' && (await tryRun('ip', ['link', 'del', r.name]))) removed.push(`link ${r.name}`);
  }
  for (const r of resources) {
    if (r.kind === 'netns' && present.has(r.name) && (await tryRun('ip', ['netns', 'del', r.name]))) {
      say(`removed namespace ${r.name}`);
      removed.push(`netns ${r.name}`);
    }
  }
  for (const r of resources) {
    if (r.kind === 'bridge' && (await tryRun('ip', ['link', 'del', r.name]))) {
      say(`removed bridge ${r.name}`);
      removed.push(`bridge ${r.name}`);
    }
  }
  for (const r of resources) {
    if (r.kind === 'path' && existsSync(r.path)) {
      rmSync(r.path, { recursive: true, force: true });
      removed.push(r.path);
    }
  }
  rmSync(manifestPath(dir), { force: true });
  rmSync(`${manifestPath(dir)}.tmp`, { force: true });
  if ((m?.createdDir ?? false) && existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  if (!m && removed.length === 0) say(`no emulated cluster instance ${k} found (bridge ${inst.bridge}); nothing to do`);
  return { dir, removed };
}

/** Without a manifest (lost or never written): what the layout says instance k would have made. */
async function guessResources(dir: string, k: number): Promise<Resource[]> {
  const out: Resource[] = [];
  const present = await netnsList();
  for (let i = 1; i <= EMULATED.maxHosts; i++) {
    const ns = emulatedHostNamespace(i, k);
    if (present.has(ns)) out.push({ kind: 'netns', name: ns });
    if (present.has(ns) || (await linkExists(emulatedHostLink(i, k)))) out.push({ kind: 'link', name: emulatedHostLink(i, k) });
  }
  out.push({ kind: 'bridge', name: emulatedInstance(k).bridge });
  const f = files(dir);
  for (const p of [f.clientKey, `${f.clientKey}.pub`, f.authorizedKeys, f.knownHosts, f.clusterFile, f.hostsDir]) {
    out.push({ kind: 'path', path: p });
  }
  return out;
}

/** What exists of emulated cluster instance k. */
export async function clusterStatus(o: ClusterOptions = {}): Promise<ClusterStatus> {
  const k = o.instance ?? 0;
  const inst = emulatedInstance(k);
  const dir = resolveDir(o);
  const m = readManifest(dir);
  const base = {
    instance: k,
    dir,
    mgmtInterface: inst.bridge,
    controllerAddress: inst.controllerAddress,
    clusterFile: files(dir).clusterFile,
  };
  if (!m) return { ...base, up: false, hosts: [] };
  const present = await netnsList();
  const hosts: HostStatus[] = await Promise.all(
    Array.from({ length: m.hosts }, async (_, idx) => {
      const i = idx + 1;
      const name = emulatedHostName(i);
      const address = emulatedHostAddress(i, k);
      const netns = emulatedHostNamespace(i, k);
      const sshd = m.resources.find((r): r is Extract<Resource, { kind: 'sshd' }> => r.kind === 'sshd' && r.host === name);
      const pid = sshd && pidAlive(sshd.pid) && isOurSshd(sshd.pid, sshd.config) ? sshd.pid : null;
      const up = present.has(netns) && pid !== null && (await tcpOpen(address, SSH_PORT, 1000));
      return { name, address, netns, up, sshd: pid, bare: m.bare?.includes(i) ?? false };
    }),
  );
  return {
    ...base,
    up: hosts.every((h) => h.up) && existsSync(base.clusterFile),
    hosts,
    backplane: m.backplane,
  };
}
