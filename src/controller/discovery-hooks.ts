// Keeping each host's UPnP discovery daemon (`ediv agent serve`, docs/discovery.md) in step with
// what the host runs: started (or told to reload) after a deploy applied there, told to reload
// after an undeploy removed something, stopped when the host runs no scenario any more — each
// asked for in the apply's or destroy's own request (a follow-up the agent runs after the op).
// The controller's side of discovery security lives here too: the cluster's control key (made
// once, kept 0600 in the controller's state directory, handed to each daemon in the serve
// request on stdin) and the lab record `ediv discover` verifies hypervisors and VMs against.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { isIPv4 } from 'node:net';
import path from 'node:path';
import { defaultStateDir } from '../common/paths.ts';
import type { DiscoveryFollowUp, DiscoveryOutcome } from '../protocol/agent.ts';
import type { Cluster, ClusterHost } from '../protocol/cluster.ts';
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

// ---- follow-ups ---------------------------------------------------------------------------

/**
 * What the controller asks each host's agent to do for discovery in the same run as its
 * apply or destroy (protocol/agent.ts DiscoveryFollowUp): after an apply, start the daemon
 * (or make it reload); after a destroy, make it reload or stop when the host runs nothing.
 */
export interface DiscoveryFollowUps extends DestroyFollowUps {
  /** The apply's follow-up, or why the host cannot serve discovery (said as a warning). */
  afterApply(host: ClusterHost): { followUp: DiscoveryFollowUp } | { problem: string };
}

/** What a destroy needs (an undeploy has no applies to follow). */
export interface DestroyFollowUps {
  afterDestroy(): DiscoveryFollowUp;
}

/** After a destroy: the daemon reloads, or stops when the host runs nothing any more. */
export const syncAfterDestroy: DestroyFollowUps = { afterDestroy: () => ({ sync: true }) };

/**
 * The follow-ups of a cluster. The start request carries the cluster's control key (made on
 * first use, kept in the controller's state directory `stateDir`, the command's --state).
 */
export function discoveryFollowUps(cluster: Cluster, stateDir: string = defaultStateDir()): DiscoveryFollowUps {
  let controlKey: string | undefined;
  return {
    afterApply(host) {
      const where = managementOf(host, cluster);
      if (!where) return { problem: `${host.name}: its address is a name and the cluster file gives no management network to serve UPnP on` };
      controlKey ??= ensureControlKey(stateDir);
      return { followUp: { start: { ...where, controlKey } } };
    },
    ...syncAfterDestroy,
  };
}

/** The request field for a host: its follow-up, or none (and the warning) when it has none. */
export function followUpFor(
  followUps: DiscoveryFollowUps | undefined,
  host: ClusterHost,
  warn: (message: string) => void,
): { discovery?: DiscoveryFollowUp } {
  if (!followUps) return {};
  const f = followUps.afterApply(host);
  if ('problem' in f) {
    warn(`discovery daemon: ${f.problem}`);
    return {};
  }
  return { discovery: f.followUp };
}

/** Says a failed follow-up as a warning (the op itself succeeded); the follow-up's time, 0 without one. */
export function warnOnFollowUp(hostName: string, outcome: DiscoveryOutcome | undefined, warn: (message: string) => void): number {
  if (outcome && !outcome.ok) warn(`${hostName}: discovery daemon: ${outcome.error ?? 'failed'}`);
  return outcome?.ms ?? 0;
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
