// Values of a scenario that end up on a host's command lines (ip, tc, chmod, chown, mount
// options, cgroup files) or name things there. Each check returns what is wrong, or undefined;
// checks.ts adds the location. They refuse at `ediv validate` what a host agent would refuse
// (or worse, misread) at apply: the rules are Linux's and iproute2's, not only the schema's.
import { quote } from './quote.ts';

// ---- interface names ---------------------------------------------------------------------------

/** Linux's limit (IFNAMSIZ - 1). */
export const MAX_IFNAME = 15;

/** What a Linux interface name may be made of here: no '/', ':', white space, nothing a shell or ip reads. */
const IFNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * A router's port name as VNX's Dynamips (and real VNX scenarios on other VM types) write it:
 * `e0/0`, `s1/0`, `fa0/1`, `GigabitEthernet0/0/1`. Not a Linux name (it has '/'): accepted for the
 * scenarios that have them, and warned (`if-name`, feature-support.ts): a host agent refuses it.
 */
export const ROUTER_PORT = /^[A-Za-z]{1,20}[0-9]{1,3}(\/[0-9]{1,3}){1,3}$/;

/** The interface's name inside the VM: VNX calls interface n `eth<n>` unless the scenario names it. */
export function vmIfaceName(iface: { id: number; name?: string }): string {
  return iface.name ?? `eth${iface.id}`;
}

/** What is wrong with `<if name="…">` as the name of a Linux interface, or undefined. */
export function ifaceNameProblem(name: string): string | undefined {
  const shown = quote(name, 40);
  if (name === 'lo') return `interface name "lo" is the VM's loopback: name the interface otherwise (to add addresses to the loopback, put the <if> on net="lo")`;
  if (name === '.' || name === '..') return `interface name ${shown} is not allowed by Linux`;
  if (ROUTER_PORT.test(name)) return undefined;
  if (!IFNAME.test(name)) {
    return `interface name ${shown} is not a Linux interface name: use at most ${MAX_IFNAME} letters, digits, '_', '-' or '.', starting with a letter or digit`;
  }
  if (name.length > MAX_IFNAME) return `interface name ${shown} is ${name.length} characters long: Linux allows at most ${MAX_IFNAME}`;
  return undefined;
}

// ---- MAC addresses ---------------------------------------------------------------------------

/**
 * A MAC address as ediv passes it on: six lower-case hex pairs joined by ':' (iproute2 reads
 * nothing else), or what is wrong with `text`. `-` separators (Windows' form) are accepted and
 * normalized; a multicast (group bit set) or all-zero address is refused, as Linux refuses it
 * for an interface.
 */
export function parseMac(text: string): { ok: true; mac: string } | { ok: false; message: string } {
  const t = text.trim();
  if (!/^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/.test(t)) {
    return { ok: false, message: `MAC address ${quote(t, 40)} is not of the form 02:fd:00:00:01:01` };
  }
  const mac = t.toLowerCase().replaceAll('-', ':');
  if (parseInt(mac.slice(0, 2), 16) & 1) {
    return { ok: false, message: `MAC address ${mac} is a multicast (group) address: an interface needs a unicast one (the first byte even, e.g. 02:…)` };
  }
  if (mac === '00:00:00:00:00:00') return { ok: false, message: 'MAC address 00:00:00:00:00:00 is not a valid interface address' };
  return { ok: true, mac };
}

// ---- memory ---------------------------------------------------------------------------------

/** The smallest and largest memory a VM may ask for, in MB (16 TiB: more than any host has). */
export const MIN_MEM_MB = 1;
export const MAX_MEM_MB = 16 * 1024 * 1024;

/** What is wrong with a VM's memory (MB): becomes a cgroup limit in bytes. */
export function memProblem(mb: number): string | undefined {
  if (!Number.isFinite(mb)) return 'memory is not a finite size';
  if (mb < MIN_MEM_MB) return `memory ${mb * 1024} KB is less than ${MIN_MEM_MB} MB (a plain <mem> number is kilobytes, as in VNX: write e.g. 256M)`;
  if (mb > MAX_MEM_MB) return `memory of ${Math.round(mb / 1024 / 1024)} TB is more than the ${MAX_MEM_MB / 1024 / 1024} TB ediv accepts`;
  return undefined;
}

// ---- paths ----------------------------------------------------------------------------------

/** Longest path accepted (Linux's PATH_MAX). */
export const MAX_PATH = 4096;

const CONTROL = /[\x00-\x1F\x7F-\x9F]/;

/** What is wrong with a path the scenario names (a lab file, a filetree root), or undefined. */
function pathProblem(what: string, p: string): string | undefined {
  if (p.length > MAX_PATH) return `${what} is ${p.length} characters long: the limit is ${MAX_PATH}`;
  const c = CONTROL.exec(p);
  if (c) return `${what} ${quote(p)} has a control character (U+${c[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')})`;
  return undefined;
}

/** A Windows absolute path (`c:\temp`, `C:/temp`): VNX's filetree roots on Windows VMs. */
export function isWindowsPath(p: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(p);
}

/** What is wrong with a filetree root (the directory in the VM the files go to): it must be absolute. */
export function filetreeRootProblem(root: string): string | undefined {
  if (root.startsWith('/') || isWindowsPath(root)) return undefined;
  return `filetree root ${quote(root)} must be an absolute path inside the VM (/dir, or X:\\dir on a Windows VM)`;
}

/**
 * What else is wrong with an absolute filetree root, or undefined. Never ',' or white space: the
 * netns driver lists roots in overlay mount options, where they separate options and fields; on
 * Linux roots also not ':' or '\' (overlay's separators and escape) nor a ".." step.
 */
export function rootCharsProblem(root: string): string | undefined {
  const what = `filetree root ${quote(root)}`;
  const p = pathProblem('filetree root', root);
  if (p) return p;
  if (/[,\s]/.test(root)) return `${what} may not contain ',' or white space (they separate the mount options the root goes into)`;
  if (!isWindowsPath(root) && /[:\\]/.test(root)) return `${what} may not contain ':' or '\\' (they separate and escape the mount options the root goes into)`;
  if (root.split(/[\\/]/).includes('..')) return `${what} may not have a ".." step: write the directory it means`;
  return undefined;
}

/** What is wrong with the path of a lab file (an exec file, a filetree source), or undefined. */
export function labPathProblem(what: string, p: string): string | undefined {
  return pathProblem(what, p);
}

// ---- names and words ---------------------------------------------------------------------------

/** Sequence names: what `ediv exec <scenario> <seq>` takes (cmd-seq, exec and filetree seq). */
const SEQ_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;

export function seqNameProblem(name: string): string | undefined {
  if (SEQ_NAME.test(name)) return undefined;
  return `sequence name ${quote(name, 40)} is not allowed: use 1-63 letters, digits, '_', '-' or '.', starting with a letter, digit or '_'`;
}

/** An exec's ostype (VNX: system, exec, xexec, cmd, show, set, load, ...) or mode (VNUML: net, mconsole, ...). */
const WORD = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export function wordProblem(attr: string, value: string): string | undefined {
  if (WORD.test(value)) return undefined;
  return `${attr}=${quote(value, 40)} is not allowed: a word of at most 32 letters, digits, '_' or '-' (e.g. ${attr === 'ostype' ? 'system' : 'exec'})`;
}

/** A user or group (of an exec or filetree: chown's argument): a POSIX account name or a number. */
const ACCOUNT = /^([A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]{1,10})$/;

export function accountProblem(attr: string, value: string): string | undefined {
  if (ACCOUNT.test(value)) return undefined;
  return `${attr}=${quote(value, 40)} is not a user or group name (letters, digits, '_', '-', '.', starting with a letter or '_'; or a number)`;
}

/** A filetree's perms (chmod's mode): octal (755) or symbolic (u+rwx,go-w). */
const PERMS = /^([0-7]{3,4}|[ugoa]*([-+=]([rwxXst]*|[ugo]))+(,[ugoa]*([-+=]([rwxXst]*|[ugo]))+)*)$/;

export function permsProblem(perms: string): string | undefined {
  if (PERMS.test(perms)) return undefined;
  return `perms=${quote(perms, 40)} is not a file mode: write octal (755) or symbolic (u+rwx,go-w) permissions`;
}

/** `<net mtu="…">`: a whole number of bytes Linux takes for an interface. */
export const MIN_MTU = 68;
export const MAX_MTU = 65535;

export function mtuProblem(text: string): string | undefined {
  const t = text.trim();
  if (/^[0-9]{1,5}$/.test(t) && Number(t) >= MIN_MTU && Number(t) <= MAX_MTU) return undefined;
  return `mtu=${quote(text, 40)} must be a whole number of bytes from ${MIN_MTU} to ${MAX_MTU}`;
}
