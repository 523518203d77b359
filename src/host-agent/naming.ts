// Host-side names. Linux limits interface names to 15 characters and namespace names must be
// unique on the whole machine, even when several emulated hosts (each with its own agent
// state directory) share one kernel. A link gets a readable name made of what it stands for
// (`tutorial-Net0`: lab and net) when that fits and is free in the host's network namespace,
// else a name derived from a hash; the journal keeps the name actually given, and the rare
// hash collision is resolved by salting (see NameAllocator).
import { createHash } from 'node:crypto';
import type { BackplaneKind } from '../protocol/cluster.ts';

/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME = 15;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `chars` base32 characters (5 bits each) of the SHA-256 of `text`. */
export function shortHash(text: string, chars: number): string {
  const digest = createHash('sha256').update(text).digest();
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of digest) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= 0xff;
    if (out.length >= chars) break;
  }
  return out;
}

/**
 * Prefixes of the host-side links the agent makes (2 characters + 13 hash characters); one per
 * backplane kind too. `eh`/`ep`: the two ends of a `<hostif>` veth (the host's interface, and its
 * port on the net's bridge); `em`: the host's end of a VM's management link (`<vm_mgmt>`).
 */
export const LINK_PREFIX = { bridge: 'eb', veth: 'ev', hostif: 'eh', hostport: 'ep', mgmt: 'em', vxlan: 'ex', vlan: 'el' } as const satisfies Record<
  'bridge' | 'veth' | 'hostif' | 'hostport' | 'mgmt' | BackplaneKind,
  string
>;
export type LinkKind = keyof typeof LINK_PREFIX;

/**
 * Candidate name for a host-side link. `key` identifies what the link stands for (state-dir
 * tag, deployment, net / vm + interface); `salt` > 0 gives the alternatives used when a
 * candidate is already taken by something else.
 */
export function linkName(kind: LinkKind, key: string, salt = 0): string {
  const prefix = LINK_PREFIX[kind];
  return prefix + shortHash(salt === 0 ? key : `${key}#${salt}`, MAX_IFNAME - prefix.length);
}

/**
 * A readable link name from its parts (`readableLinkName('tutorial', 'r1', 2)` = `tutorial-r1-2`),
 * or undefined when it would not be a valid interface name of at most 15 characters. Readable
 * names always hold a '-', which hashed names never do: the two kinds cannot collide.
 */
export function readableLinkName(...parts: (string | number)[]): string | undefined {
  const name = parts.join('-');
  return parts.length > 1 && name.length <= MAX_IFNAME && /^[A-Za-z0-9_.-]+$/.test(name) ? name : undefined;
}

/**
 * What a deployment's host-side names are made of: its key (`tutorial.ab2cde`, unique on the
 * host: allocator keys, hashed names, namespaces, MACs) and its lab's display name
 * (`tutorial`: readable link names only, which the allocator gives one lab at a time).
 */
export interface NamedAfter {
  deployment: string;
  lab: string;
}

/** Tag of one agent state directory: tells apart emulated hosts sharing a kernel. */
export function stateTag(stateDirRealPath: string): string {
  return shortHash(stateDirRealPath, 6);
}

/**
 * Network namespace of a VM: readable, and unique per machine because it carries the
 * state-dir tag. Namespace names are file names under /run/netns (limit 255 bytes).
 */
export function netnsName(deployment: string, vm: string, tag: string): string {
  return `${deployment}.${vm}.${tag}`;
}

/**
 * The MAC of a VM interface the scenario gives none: derived from what the interface is
 * (deployment, VM, interface id), locally administered and unicast. A VM remade by a redeploy
 * or a restart keeps it, as a real machine keeps its NIC's: its neighbours' ARP and NDP caches
 * stay right (a new random MAC would leave them pointing at the old one for up to a minute).
 */
export function stableMac(deployment: string, vm: string, ifaceId: number): string {
  const b = createHash('sha256').update(`${deployment}|${vm}|${ifaceId}`).digest();
  return [0x02, b[0]!, b[1]!, b[2]!, b[3]!, b[4]!].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Interface name inside the VM (VNX calls interface n `eth<n>` unless the scenario names it). */
export function vmIfaceName(iface: { id: number; name?: string }): string {
  return iface.name ?? `eth${iface.id}`;
}

/**
 * Gives out link names: the name a key already has (from the journal) is kept; a new key gets
 * the first candidate that neither another key of this agent nor a foreign link already uses.
 */
export class NameAllocator {
  private readonly byKey = new Map<string, string>();
  private readonly taken = new Set<string>();
  private readonly foreign: Set<string>;
  private readonly tag: string;

  /**
   * `tag`: the state-dir tag (part of every hash); `known`: key → name pairs from the journals;
   * `existingLinks`: links present in the namespace (those not known are someone else's).
   */
  constructor(tag: string, known: Iterable<[key: string, name: string]>, existingLinks: Iterable<string>) {
    this.tag = tag;
    for (const [key, name] of known) {
      this.byKey.set(key, name);
      this.taken.add(name);
    }
    this.foreign = new Set([...existingLinks].filter((n) => !this.taken.has(n)));
  }

  /** The name of `key`'s link: the one it has, else `readable` when given and free, else a hashed one. */
  name(kind: LinkKind, key: string, readable?: string): string {
    const had = this.byKey.get(key);
    if (had) return had;
    if (readable !== undefined && !this.taken.has(readable) && !this.foreign.has(readable)) {
      this.byKey.set(key, readable);
      this.taken.add(readable);
      return readable;
    }
    for (let salt = 0; ; salt++) {
      const candidate = linkName(kind, `${this.tag}|${key}`, salt);
      if (!this.taken.has(candidate) && !this.foreign.has(candidate)) {
        this.byKey.set(key, candidate);
        this.taken.add(candidate);
        return candidate;
      }
    }
  }
}
