// Which IPv4 address SSDP and HTTP use: the management interface named by the caller.
import os from 'node:os';
import { InputError } from '../common/errors.ts';

export interface InterfaceAddress {
  name: string;
  address: string;
  netmask: string;
}

function ipv4Entries(): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4') out.push({ name, address: a.address, netmask: a.netmask });
    }
  }
  return out;
}

/**
 * The IPv4 address of an interface (by name) or the interface owning an address. With both,
 * they must agree. Throws InputError naming what is missing.
 */
export function resolveInterface(opts: { interface?: string; address?: string; network?: string }, what = '--interface'): InterfaceAddress {
  // `what` is a command-line option (--interface) or the name of the request that gave the values.
  const bad = (message: string): InputError => (what.startsWith('--') ? InputError.commandLine(what, message) : InputError.at(what, undefined, undefined, message));
  const entries = ipv4Entries();
  if (opts.interface) {
    const own = entries.filter((e) => e.name === opts.interface);
    if (own.length === 0) {
      const names = [...new Set(entries.map((e) => e.name))].join(', ');
      throw bad(`interface ${JSON.stringify(opts.interface)} has no IPv4 address here (interfaces with one: ${names || 'none'})`);
    }
    if (opts.address) {
      const hit = own.find((e) => e.address === opts.address);
      if (!hit) throw bad(`address ${opts.address} is not on interface ${opts.interface}`);
      return hit;
    }
    return own[0]!;
  }
  if (opts.address) {
    const hit = entries.find((e) => e.address === opts.address);
    if (!hit) throw bad(`no interface here has address ${opts.address}`);
    return hit;
  }
  if (opts.network) {
    const net = parseCidr(opts.network);
    const hit = net && entries.find((e) => ((toInt(e.address) & net.mask) >>> 0) === net.base);
    if (!hit) throw bad(`no interface here has an address in ${opts.network}`);
    return hit;
  }
  throw bad('give the management interface (or its address)');
}

/** An IPv4 CIDR as base and mask integers; undefined when it is not one. */
export function parseCidr(cidr: string): { base: number; mask: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) return undefined;
  const bits = Number(m[5]);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (toInt(m.slice(1, 5).join('.')) & mask) >>> 0, mask };
}

export function interfaceExists(name: string): boolean {
  return ipv4Entries().some((e) => e.name === name);
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
}

/** Whether `ip` is in the subnet of the interface address. */
export function inSubnet(ip: string, iface: InterfaceAddress): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const mask = toInt(iface.netmask);
  return (toInt(ip) & mask) === (toInt(iface.address) & mask);
}
