// Deciding whether to trust the key an SSH server presents, and saying clearly why not.
import type { ClusterHost } from '../protocol/cluster.ts';
import { addKnownHost, checkHostKey, fingerprint, keyBlobType, knownHostName, knownKeyTypes, readKnownHostsFile } from './known-hosts.ts';
import type { HostKeyVerdict } from './known-hosts.ts';
import type { SshTarget } from './ssh-target.ts';

export interface HostKeyDecision {
  accept: boolean;
  verdict: HostKeyVerdict;
  /** The key presented. */
  key: Buffer;
  /** Set when an unknown key was accepted and recorded (acceptNewHostKeys). */
  addedTo?: string;
  /** Files whose entries were checked, and what they say, for messages. */
  files: string[];
}

export function verifyHostKey(t: SshTarget, key: Buffer, acceptNew: boolean): HostKeyDecision {
  const entries = t.knownHosts.flatMap((f) => readKnownHostsFile(f).map((e) => ({ ...e, file: f })));
  const verdict = checkHostKey(entries, t.hostName, t.port, key);
  if (verdict.status === 'ok') return { accept: true, verdict, key, files: t.knownHosts };
  if (verdict.status === 'unknown' && acceptNew) {
    const file = t.knownHosts[0]!;
    addKnownHost(file, t.hostName, t.port, key);
    return { accept: true, verdict, key, addedTo: file, files: t.knownHosts };
  }
  return { accept: false, verdict, key, files: t.knownHosts };
}

/** The message for a refused host key: what was presented, what is known, and what to do. */
export function hostKeyRefusal(host: ClusterHost, t: SshTarget, d: HostKeyDecision): string {
  const name = knownHostName(t.hostName, t.port);
  const presented = `${keyBlobType(d.key)} ${fingerprint(d.key)}`;
  const file = t.knownHosts[0]!;
  const v = d.verdict;
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
export function serverHostKeyOrder(t: SshTarget): string[] {
  const entries = t.knownHosts.flatMap((f) => readKnownHostsFile(f));
  const known = knownKeyTypes(entries, t.hostName, t.port).flatMap((k) => ALGORITHMS_OF[k] ?? [k]);
  const first = known.filter((a) => SSH2_DEFAULT_ORDER.includes(a));
  return [...new Set([...first, ...SSH2_DEFAULT_ORDER])];
}
