// The interface a control point or a VM announcement uses when the user names none.
import os from 'node:os';
import { InputError } from '../common/errors.ts';
import { interfaceExists, resolveInterface, type InterfaceAddress } from './netif.ts';

/** The named interface, else `fallback` (the emulated cluster's bridge) when it exists here. */
export function interfaceOr(name: string | undefined, fallback: string): InterfaceAddress {
  if (name) return resolveInterface({ interface: name });
  if (interfaceExists(fallback)) return resolveInterface({ interface: fallback });
  throw InputError.commandLine('--interface', `give the management interface to search on (no emulated cluster bridge ${fallback} here)`);
}

/** The named interface, else the only non-loopback interface with an IPv4 address (when there is exactly one). */
export function interfaceOrSole(name: string | undefined): InterfaceAddress {
  if (name) return resolveInterface({ interface: name });
  const names = Object.entries(os.networkInterfaces())
    .filter(([, l]) => (l ?? []).some((a) => a.family === 'IPv4' && !a.internal))
    .map(([n]) => n);
  if (names.length !== 1) throw InputError.commandLine('--interface', `give the interface to announce on (candidates: ${names.join(', ') || 'none'})`);
  return resolveInterface({ interface: names[0] });
}
