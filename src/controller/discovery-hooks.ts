// Keeping each host's UPnP discovery daemon (`ediv agent serve`, docs/discovery.md) in step with
// what the host runs: started (or told to reload) after a deploy applied there, told to reload
// after an undeploy removed something, stopped when the host runs no scenario any more.
// The controller's side of discovery security lives here too: the cluster's control key (made
// once, kept 0600 in the controller's state directory, handed to each daemon in the serve
// request on stdin) and the lab record `ediv discover` verifies hypervisors and VMs against.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { isIPv4 } from 'node:net';
import path from 'node:path';
import { defaultStateDir } from '../common/paths.ts';
import type { StatusResult } from '../protocol/agent.ts';
import type { Cluster, ClusterHost } from '../protocol/cluster.ts';
import type { HostSessions } from './sessions.ts';
import { STATE_FILE } from '../state/sqlite.ts';
import { openStateStore, type StoreLocation } from '../state/open.ts';

/**
 * Where the host's daemon listens: its management address when the cluster file gives an IPv4
 * address, else its address inside the cluster's management network (a DNS name cannot be bound).
 */
export function managementOf(host: ClusterHost, cluster: Cluster): { address: string } | { network: string } | undefined {
  if (isIPv4(host.address)) return { address: host.address };
  return cluster.management.network ? { network: cluster.management.network } : undefined;
}

// ---- the control key --------------------------------------------------------------------

/** The file holding the controller's discovery control key (64 hex digits, mode 0600). */
export function controlKeyFile(stateDir: string): string {
  return path.join(stateDir, 'discovery-control.key');
}

const KEY_RE = /^[0-9a-f]{64}$/;

/**
 * The key in the state directory, or undefined when there is none. A key file others may read
 * is refused (a shared secret is no secret), as is one that is not a key.
 */
export function readControlKey(stateDir: string): string | undefined {
  const file = controlKeyFile(stateDir);
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return undefined;
  }
  if ((st.mode & 0o077) !== 0) throw new Error(`${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
  const hex = fs.readFileSync(file, 'utf8').trim();
  if (!KEY_RE.test(hex)) throw new Error(`${file} does not hold a discovery key (64 hex digits)`);
  return hex;
}

/** The key, made on first use: 32 random bytes, written atomically with mode 0600. */
export function ensureControlKey(stateDir: string): string {
  const have = readControlKey(stateDir);
  if (have) return have;
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const hex = randomBytes(32).toString('hex');
  const file = controlKeyFile(stateDir);
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, `${hex}\n`, { flag: 'wx', mode: 0o600 });
  try {
    // link() is atomic and fails when the name exists: readers never see half a key, and of
    // two controllers starting at once one key wins (the other reads it).
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readControlKey(stateDir)!;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return hex;
}

// ---- hooks ------------------------------------------------------------------------------

/**
 * After a deploy applied on a host: start its daemon, or make a running one re-read the VM
 * list. The request carries the cluster's control key (on stdin, like every agent request).
 * `stateDir`: the controller's state directory holding the key (the command's --state).
 */
export function startDiscoveryAfterApply(sessions: HostSessions, cluster: Cluster, stateDir: string = defaultStateDir()): (host: ClusterHost) => Promise<void> {
  return async (host) => {
    const where = managementOf(host, cluster);
    if (!where) throw new Error(`${host.name}: its address is a name and the cluster file gives no management network to serve UPnP on`);
    await sessions.run(host, 'serve', { host: host.name, ...where, controlKey: ensureControlKey(stateDir) });
  };
}

/** After an undeploy removed something on a host: reload its daemon, or stop it when the host runs nothing. */
export function syncDiscoveryAfterDestroy(sessions: HostSessions): (host: ClusterHost) => Promise<void> {
  return async (host) => {
    const st = await sessions.run<StatusResult>(host, 'status', { host: host.name });
    const busy = st.deployments.some((d) => d.vms.length > 0);
    await sessions.run(host, 'serve', busy ? { host: host.name, reload: true } : { host: host.name, stop: true });
  };
}

// ---- the lab record ---------------------------------------------------------------------

/** What the state says about deployed labs (the shape of discovery's LabRecord, src/discovery/identity.ts). */
export interface DiscoveryRecord {
  hosts: Map<string, string[]>;
  vms: Map<string, { host: string; address: string }>;
}

/**
 * The deployed VMs and their hosts' management addresses from the controller's state, or
 * undefined when the directory holds no state (nothing is created to find that out). Hosts
 * named by DNS have no address to compare a LOCATION with, so their VMs stay unverifiable.
 */
export async function discoveryRecord(location: StoreLocation): Promise<DiscoveryRecord | undefined> {
  if (location.kind === 'sqlite' && !fs.existsSync(path.join(location.dir, STATE_FILE))) return undefined;
  const store = await openStateStore(location, { busyTimeoutMs: 2000 });
  try {
    const rec: DiscoveryRecord = { hosts: new Map(), vms: new Map() };
    for (const scenario of await store.listScenarios()) {
      const addresses = new Map((await store.cluster(scenario.name)).hosts.filter((h) => isIPv4(h.address)).map((h) => [h.name, h.address]));
      for (const [name, address] of addresses) rec.hosts.set(name, [...new Set([...(rec.hosts.get(name) ?? []), address])]);
      for (const vm of await store.vms(scenario.name)) {
        const address = addresses.get(vm.host);
        // Keyed as the hosts advertise it: by the lab's key (deployment-key.ts).
        if (address && vm.status !== 'destroyed') rec.vms.set(`${scenario.key}/${vm.vm}`, { host: vm.host, address });
      }
    }
    return rec;
  } finally {
    await store.close();
  }
}
