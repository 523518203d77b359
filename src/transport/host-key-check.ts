// Deciding whether to trust the key an SSH server presents, and saying clearly why not.
//
// The decision is made when ssh2 shows the key, which is BEFORE the server has proved it holds
// the key (the key exchange signature is checked after the verifier returns). So a new key
// accepted under acceptNewHostKeys is only recorded by recordHostKey, which the transport calls
// once the connection is established and authenticated: a man in the middle that cannot
// complete the handshake gets nothing written.
import type { ClusterHost } from '../protocol/cluster.ts';
import { knownHostsProblem } from './file-safety.ts';
import { addKnownHost, certAuthoritiesFor, checkHostKey, fingerprint, keyBlobType, knownHostName, knownKeyTypes, readKnownHostsFile } from './known-hosts.ts';
import type { HostKeyVerdict, KnownHostEntry } from './known-hosts.ts';
import type { SshTarget } from './ssh-target.ts';

export type KnownHostFileEntry = KnownHostEntry & { file: string };

export interface HostKeyDecision {
  accept: boolean;
  verdict: HostKeyVerdict;
  /** The key presented. */
  key: Buffer;
  /** An unknown key accepted (acceptNewHostKeys): the file to record it in once the connection is up. */
  recordTo?: string;
  /** Files whose entries were checked, and what they say, for messages. */
  files: string[];
  /** The entries checked (for the message of a refusal). */
  entries: KnownHostFileEntry[];
}

/**
 * The entries of the target's known_hosts files, each with its file. Throws an Error naming the
 * file when one cannot be trusted (file-safety.ts).
 */
export function loadKnownHosts(t: SshTarget): KnownHostFileEntry[] {
  for (const f of t.knownHosts) {
    const problem = knownHostsProblem(f);
    if (problem) throw new Error(`known_hosts file ${f} is not used: ${problem}`);
  }
  return t.knownHosts.flatMap((f) => readKnownHostsFile(f).map((e) => ({ ...e, file: f })));
}

/** Whether to go on with the key presented; records nothing (see recordHostKey). */
export function verifyHostKey(t: SshTarget, entries: KnownHostFileEntry[], key: Buffer, acceptNew: boolean): HostKeyDecision {
  const verdict = checkHostKey(entries, t.keyHost, t.keyPort, key);
  const d = { verdict, key, files: t.knownHosts, entries };
  if (verdict.status === 'ok') return { ...d, accept: true };
  if (verdict.status === 'unknown' && acceptNew) return { ...d, accept: true, recordTo: t.knownHosts[0]! };
  return { ...d, accept: false };
}

/**
 * Records an accepted new key, once the server has proved it holds it. The files are read again
 * first: another ediv may have recorded a key for the host meanwhile. Returns the decision on
 * the files as they are now, refusing when they now hold a different key.
 */
export function recordHostKey(t: SshTarget, d: HostKeyDecision): HostKeyDecision {
  if (!d.recordTo) return d;
  const now = verifyHostKey(t, loadKnownHosts(t), d.key, true);
  if (now.recordTo) addKnownHost(now.recordTo, t.keyHost, t.keyPort, d.key);
  return now;
}

/** The message for a refused host key: what was presented, what is known, and what to do. */
export function hostKeyRefusal(host: ClusterHost, t: SshTarget, d: HostKeyDecision): string {
  const name = knownHostName(t.keyHost, t.keyPort);
  const presented = `${keyBlobType(d.key)} ${fingerprint(d.key)}`;
  const file = t.knownHosts[0]!;
  const v = d.verdict;
  const authorities = v.status === 'unknown' ? certAuthoritiesFor(d.entries, t.keyHost, t.keyPort) : [];
  if (authorities.length > 0) {
    const at = authorities.map((e) => `${(e as { file?: string }).file ?? file}:${e.line}`).join(', ');
    return (
      `the SSH host key of ${host.name} (${name}) is vouched for only by a @cert-authority line (${at}), and ediv cannot check ` +
      `host certificates: its SSH library (ssh2) does not negotiate certificate host keys. It presented ${presented}. ` +
      `Set ssh.client: openssh for the host in the cluster file (the system's ssh checks the certificate), or ` +
      `add the host's plain key next to the CA line after checking that fingerprint on the host ` +
      `(ssh-keyscan${t.port === 22 ? '' : ` -p ${t.port}`} ${t.hostName} >> ${file}, or --accept-new-host-keys).`
    );
  }
  if (v.status === 'unknown') {
    return (
      `the SSH host key of ${host.name} (${name}) is not known: it presented ${presented}, which is in none of ` +
      `${d.files.join(', ')}. ediv never trusts a host key silently. Check that fingerprint on the host ` +
      `(ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then accept it with --accept-new-host-keys ` +
      `(adds it to ${file}), or add it yourself (ssh-keyscan${t.port === 22 ? '' : ` -p ${t.port}`} ${t.hostName} >> ${file}).`
    );
  }
  const where = v.status === 'ok' ? '' : v.entries.map((e) => `${(e as { file?: string }).file ?? file}:${e.line}`).join(', ');
  if (v.status === 'revoked') {
    return `REFUSED: the SSH host key of ${host.name} (${name}), ${presented}, is marked @revoked (${where}).`;
  }
  return (
    `REFUSED: the SSH host key of ${host.name} (${name}) has CHANGED: it presented ${presented}, but ${where} ` +
    `records a different key. Someone may be intercepting the connection, or the host was reinstalled. ` +
    `--accept-new-host-keys never replaces a known key; if the change is expected, remove the old entry ` +
    `(ssh-keygen -R '${name}' -f ${file}) and connect again.`
  );
}

const ALGORITHMS_OF: Record<string, string[]> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};
const SSH2_DEFAULT_ORDER = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Host key algorithms to offer: the types known_hosts holds for this host first (as OpenSSH does). */
export function serverHostKeyOrder(t: SshTarget, entries: KnownHostEntry[]): string[] {
  const known = knownKeyTypes(entries, t.keyHost, t.keyPort).flatMap((k) => ALGORITHMS_OF[k] ?? [k]);
  const first = known.filter((a) => SSH2_DEFAULT_ORDER.includes(a));
  return [...new Set([...first, ...SSH2_DEFAULT_ORDER])];
}
