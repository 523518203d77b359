// Where and how to reach a cluster host over SSH: the cluster file's settings, completed by
// ~/.ssh/config (ssh-config.ts) when a Host or Match host line names the host: HostName,
// IdentityFile, HostKeyAlias, UserKnownHostsFile, ProxyJump; User and Port where the cluster
// file leaves them at their defaults. Then the known_hosts files to verify against, and the jump
// hosts to go through, each resolved through the same file as ssh resolves them.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterHost } from '../protocol/cluster.ts';
import { defaultSshConfigPath, expandJumpSetting, expandPathSetting, parseProxyJump, resolveSshConfig, SshConfigError } from './ssh-config.ts';
import type { JumpSpec, Located, SshConfigOptions, SshConfigResult, TokenValues } from './ssh-config.ts';
import type { TransportOptions } from './types.ts';

const DEFAULT_USER = 'root';
const DEFAULT_PORT = 22;
/** Jump hosts on the way to one host, at most (OpenSSH has no limit; a loop must end). */
export const MAX_JUMPS = 16;

export interface SshTarget {
  /** What messages call it: the cluster host's name, or a jump host as ProxyJump names it. */
  name: string;
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
  /** The ssh config file the settings were taken from, if any. */
  sshConfig?: string;
  /** Set when the ssh config asks for something ediv cannot do: connecting is refused with it. */
  unsupported?: string;
  /**
   * The jump hosts (ProxyJump) in the order they are connected: the first directly, each next
   * one through a TCP forwarding from the one before, this host through the last. Jump hosts
   * have none of their own here (their own ProxyJump is already in this list).
   */
  jumps: SshTarget[];
}

function localUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? DEFAULT_USER;
  }
}

interface Context {
  cfgFile?: string;
  /** The cluster file's known_hosts pin: it covers the jump hosts too. */
  pin?: string;
  home: string;
  o: SshConfigOptions;
}

/** One hop from its config settings (already selected) and the user and port it ends up with. */
function hop(name: string, given: string, r: SshConfigResult | undefined, user: string, port: number, explicitIdentity: string | undefined, c: Context): SshTarget {
  const hostName = r?.hostName ?? given;
  const tokens: TokenValues = { h: hostName, n: given, p: port, r: user, ...(r?.hostKeyAlias ? { k: r.hostKeyAlias } : {}) };
  const identities: SshTarget['identities'] = [];
  if (explicitIdentity) identities.push({ file: explicitIdentity, explicit: true });
  else if (r?.identityFiles.length) identities.push(...r.identityFiles.map((l) => ({ file: expandPathSetting(l, tokens, c.o), explicit: false })));
  else {
    // OpenSSH's default identities, when present.
    for (const n of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
      const file = path.join(c.home, '.ssh', n);
      if (existsSync(file)) identities.push({ file, explicit: false });
    }
  }
  // The cluster file's pin wins; else the user's files as ssh would read them for this host
  // (accept-new must record where ssh looks, and a key known only there is still known).
  const knownHosts = c.pin
    ? [c.pin]
    : [...(r?.userKnownHostsFiles?.map((l) => expandPathSetting(l, tokens, c.o)) ?? [path.join(c.home, '.ssh', 'known_hosts')]), '/etc/ssh/ssh_known_hosts'];
  return {
    name,
    hostName,
    port,
    user,
    identities,
    knownHosts,
    keyHost: r?.hostKeyAlias ?? hostName,
    keyPort: r?.hostKeyAlias ? DEFAULT_PORT : port,
    ...(r && c.cfgFile ? { sshConfig: c.cfgFile } : {}),
    jumps: [],
  };
}

/**
 * The hops a ProxyJump value leads through, in connection order. As ssh does (it runs
 * `ssh -J <the others> -W host:port <last>`): the last jump host is reached through the ones
 * before it, which override its own ProxyJump; the first is resolved with its own config, its
 * own ProxyJump included.
 */
function jumpChain(spec: Located, expanded: boolean, forHost: TokenValues, c: Context, seen: string[]): SshTarget[] {
  const value = expanded ? spec.value : expandJumpSetting(spec, forHost);
  const jumps = parseProxyJump(value);
  if (typeof jumps === 'string') throw new SshConfigError(`${spec.file}:${spec.line}: ProxyJump ${value}: ${jumps}`);
  if (!jumps.length) return [];
  const before = jumps.slice(0, -1);
  const forced = before.length ? { ...spec, value: before.map((j) => j.text).join(',') } : undefined;
  return jumpHost(jumps[jumps.length - 1]!, forced, spec, c, seen);
}

function jumpHost(j: JumpSpec, forced: Located | undefined, from: Located, c: Context, seen: string[]): SshTarget[] {
  // A state of this recursion seen before would recur for ever: a ProxyJump loop.
  const state = `${j.user ?? ''}@${j.host.toLowerCase()}:${j.port ?? ''} -J ${forced?.value ?? ''}`;
  if (seen.includes(state) || seen.length >= MAX_JUMPS) {
    throw new SshConfigError(
      `${from.file}:${from.line}: ProxyJump ${from.value}: ` +
        (seen.includes(state) ? `reaching ${j.host} leads back to ${j.host} (a loop: exclude the jump host from the block that sets ProxyJump, e.g. Host * !${j.host})` : `more than ${MAX_JUMPS} jump hosts`),
    );
  }
  const r = c.cfgFile
    ? resolveSshConfig(c.cfgFile, { host: j.host, defaultUser: localUser(), ...(j.user ? { user: j.user } : {}), ...(j.port ? { port: j.port } : {}), ...(forced ? { proxyJump: forced } : {}) }, c.o)
    : undefined;
  if (r?.refusal) throw new SshConfigError(`${r.refusal} (for jump host ${j.host})`);
  // A jump host is not a cluster host: ssh's defaults (the local user), and its whole config.
  const t = hop(j.host, j.host, r, j.user ?? r?.user ?? localUser(), j.port ?? r?.port ?? DEFAULT_PORT, undefined, c);
  const proxy = r?.proxyJump ?? forced;
  const before = proxy ? jumpChain(proxy, proxy === forced, { h: t.hostName, n: j.host, p: t.port, r: t.user }, c, [...seen, state]) : [];
  return [...before, t];
}

export function resolveTarget(host: ClusterHost, opts: TransportOptions, o: SshConfigOptions = {}): SshTarget {
  const cfgFile = opts.sshConfig === false ? undefined : (opts.sshConfig ?? defaultSshConfigPath());
  const c: Context = { ...(cfgFile ? { cfgFile } : {}), ...(host.ssh.knownHosts ? { pin: host.ssh.knownHosts } : {}), home: o.home ?? os.homedir(), o };
  // The cluster file's user and port, when not the defaults, come first (as ssh -l and -p).
  const user = host.ssh.user !== DEFAULT_USER ? host.ssh.user : undefined;
  const port = host.ssh.port !== DEFAULT_PORT ? host.ssh.port : undefined;
  try {
    const r = cfgFile
      ? resolveSshConfig(cfgFile, { host: host.address, defaultUser: DEFAULT_USER, ...(user ? { user } : {}), ...(port ? { port } : {}) }, o)
      : undefined;
    // Only a file that names this host applies to it (a lone `Host *` does not).
    const use = r?.matched ? r : undefined;
    if (use?.refusal) throw new SshConfigError(use.refusal);
    const t = hop(host.name, host.address, use, user ?? use?.user ?? DEFAULT_USER, port ?? use?.port ?? DEFAULT_PORT, host.ssh.identity, c);
    if (use?.proxyJump) {
      t.jumps = jumpChain(use.proxyJump, false, { h: t.hostName, n: host.address, p: t.port, r: t.user }, { ...c, o }, []);
    }
    return t;
  } catch (err) {
    // Connecting is refused with the reason (SshTransport.open); the rest is the cluster file's.
    const plain = hop(host.name, host.address, undefined, user ?? DEFAULT_USER, port ?? DEFAULT_PORT, host.ssh.identity, { ...c, cfgFile: undefined });
    return { ...plain, unsupported: err instanceof SshConfigError ? err.message : `${cfgFile}: ${(err as Error).message}` };
  }
}
