// Where and how to reach a cluster host over SSH: the cluster file's settings, completed by a
// matching ~/.ssh/config Host block (HostName, IdentityFile; User and Port where the cluster
// file leaves them at their defaults), and the known_hosts files to verify against.
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
  /** The ssh config file a Host block was taken from, if any. */
  sshConfig?: string;
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

  const knownHosts = host.ssh.knownHosts
    ? [host.ssh.knownHosts]
    : [path.join(home, '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];

  return {
    hostName: use?.hostName ?? host.address,
    port: host.ssh.port !== DEFAULT_PORT ? host.ssh.port : (use?.port ?? host.ssh.port),
    user: host.ssh.user !== DEFAULT_USER ? host.ssh.user : (use?.user ?? host.ssh.user),
    identities,
    knownHosts,
    sshConfig: use ? cfgFile : undefined,
  };
}
