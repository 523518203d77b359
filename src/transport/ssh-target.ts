// Where and how to reach a cluster host over SSH: the cluster file's settings, completed by a
// matching ~/.ssh/config Host block (HostName, IdentityFile, HostKeyAlias, UserKnownHostsFile;
// User and Port where the cluster file leaves them at their defaults), and the known_hosts
// files to verify against.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterHost } from '../protocol/cluster.ts';
import { defaultSshConfigPath, readSshConfig } from './ssh-config.ts';
import type { TransportOptions } from './types.ts';

const DEFAULT_USER = 'root';
const DEFAULT_PORT = 22;

export interface SshTarget {
  hostName: string;
  port: number;
  user: string;
  /** Private keys to offer, in order (explicit ones must exist). */
  identities: { file: string; explicit: boolean }[];
  /** known_hosts files read for verification; the first is the one accepted keys are added to. */
  knownHosts: string[];
  /**
   * The name and port host keys are looked up and recorded under: hostName and port, or a
   * HostKeyAlias (as OpenSSH, the alias alone, without a port).
   */
  keyHost: string;
  keyPort: number;
  /** The ssh config file a Host block was taken from, if any. */
  sshConfig?: string;
  /** Set when the ssh config asks for something ediv cannot do: connecting is refused with it. */
  unsupported?: string;
}

export function resolveTarget(host: ClusterHost, opts: TransportOptions): SshTarget {
  const cfgFile = opts.sshConfig === false ? undefined : (opts.sshConfig ?? defaultSshConfigPath());
  const cfg = cfgFile ? readSshConfig(cfgFile, host.address) : undefined;
  const use = cfg?.matched ? cfg : undefined;
  const home = os.homedir();

  const identities: SshTarget['identities'] = [];
  if (host.ssh.identity) identities.push({ file: host.ssh.identity, explicit: true });
  else if (use?.identityFiles.length) identities.push(...use.identityFiles.map((file) => ({ file, explicit: false })));
  else {
    // OpenSSH's default identities, when present.
    for (const n of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
      const file = path.join(home, '.ssh', n);
      if (existsSync(file)) identities.push({ file, explicit: false });
    }
  }

  // The cluster file's pin wins; else the user's files as ssh would read them for this host
  // (accept-new must record where ssh looks, and a key known only there is still known).
  const knownHosts = host.ssh.knownHosts
    ? [host.ssh.knownHosts]
    : [...(use?.userKnownHostsFiles ?? [path.join(home, '.ssh', 'known_hosts')]), '/etc/ssh/ssh_known_hosts'];

  const hostName = use?.hostName ?? host.address;
  const port = host.ssh.port !== DEFAULT_PORT ? host.ssh.port : (use?.port ?? host.ssh.port);
  return {
    hostName,
    port,
    user: host.ssh.user !== DEFAULT_USER ? host.ssh.user : (use?.user ?? host.ssh.user),
    identities,
    knownHosts,
    keyHost: use?.hostKeyAlias ?? hostName,
    keyPort: use?.hostKeyAlias ? DEFAULT_PORT : port,
    sshConfig: use ? cfgFile : undefined,
    unsupported: use?.unsupported && `${cfgFile} sets ${use.unsupported}`,
  };
}
