// VNX's <vm_mgmt> (in <global>): a management interface per VM, outside the lab's nets.
//
//   <vm_mgmt type="private" network="10.250.0.0" mask="24" offset="12"><host_mapping/></vm_mgmt>
//
// type="private" (what ediv builds): each VM gets its own point-to-point link to the host. VNX's
// addressing (get_admin_address in VNX's vmAPI_common.pm): the VM with counter n (0, 1, 2, … in
// the order the VMs are defined) gets the /30 at network + offset + 4n; the host's end is its
// first address (+1), the VM's the second (+2). Defaults: network 192.168.0.0, mask 24, offset 0;
// mask 8..30, offset a multiple of 4, and every /30 must lie inside network/mask. A VM with
// `<mng_if>no</mng_if>` (or `<vm_defaults><mng_if>no</mng_if>`) gets none but still counts.
// The VM's end is `eth0` (VNX reserves interface id 0 for it).
//
// EDIV split a scenario into per-host fragments and gave each fragment's <vm_mgmt> its own
// offset (the VMs of the earlier fragments × 4), so the /30s of different hosts never overlap;
// ediv's split does the same (controller/split.ts, `withMgmtOffset`). With one host the
// addresses are exactly VNX's.
//
// type="net" (one management bridge shared by the host and the VMs, DHCP or manual addresses
// from <mgmt_net>) is not built: the host agent refuses it before making anything.
import type { SourceLocation } from '../common/errors.ts';
import type { GlobalSection, Scenario, Vm, XmlElement } from './model.ts';
import { quote } from './quote.ts';

export interface VmMgmt {
  type: string;
  /** The network as written (dotted quad). */
  network: string;
  mask: number;
  offset: number;
  /** <host_mapping/>: VNX adds the VMs' names to the host's /etc/hosts (ediv does not). */
  hostMapping: boolean;
  loc?: SourceLocation;
  node: XmlElement;
}

export const VM_MGMT_DEFAULTS = { network: '192.168.0.0', mask: 24, offset: 0 } as const;

/** The name of a VM's management interface (inside the VM). */
export const MGMT_IFACE = 'eth0';

function textOf(el: XmlElement): string {
  return el.children.map((c) => ('text' in c ? c.text : '')).join('').trim();
}

/** The scenario's <vm_mgmt>, if it has one (attributes as written; see vmMgmtProblem). */
export function vmMgmtOf(s: Pick<Scenario, 'global'>): VmMgmt | undefined {
  const c = s.global.extra.children.find((x) => x.node.tag === 'vm_mgmt');
  if (!c) return undefined;
  const a = c.node.attrs;
  const num = (v: string | undefined, dflt: number) => (v === undefined || v.trim() === '' ? dflt : /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN);
  return {
    type: a.type ?? '',
    network: (a.network ?? VM_MGMT_DEFAULTS.network).trim(),
    mask: num(a.mask, VM_MGMT_DEFAULTS.mask),
    offset: num(a.offset, VM_MGMT_DEFAULTS.offset),
    hostMapping: c.node.children.some((x) => 'tag' in x && x.tag === 'host_mapping'),
    loc: c.loc,
    node: c.node,
  };
}

export function ipv4ToInt(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** What is wrong with a private <vm_mgmt> for `vmCount` VMs (VNX's checks), or undefined. */
export function vmMgmtProblem(m: VmMgmt, vmCount: number): string | undefined {
  const net = ipv4ToInt(m.network);
  if (net === undefined) return `<vm_mgmt> network=${quote(m.network, 40)} is not an IPv4 address`;
  if (!Number.isInteger(m.mask) || m.mask < 8 || m.mask > 30) return `<vm_mgmt> mask=${quote(m.node.attrs.mask ?? '', 40)} must be a prefix length from 8 to 30`;
  const size = 2 ** (32 - m.mask);
  if (net % size !== 0) return `<vm_mgmt> network=${quote(m.network, 40)} is not the network address of a /${m.mask}`;
  if (!Number.isInteger(m.offset)) return `<vm_mgmt> offset=${quote(m.node.attrs.offset ?? '', 40)} must be a whole number`;
  if (m.offset % 4 !== 0) return `<vm_mgmt> offset="${m.offset}" must be a multiple of 4 for private management (each VM gets a /30)`;
  if (m.offset + 4 * vmCount > size) {
    return `<vm_mgmt> ${m.network}/${m.mask} with offset ${m.offset} has room for ${Math.max(0, Math.floor((size - m.offset) / 4))} VM(s), not ${vmCount}: use a shorter mask or a smaller offset`;
  }
  return undefined;
}

/** The host's and the VM's addresses (CIDR, /30) of the VM with counter `n` (VNX's get_admin_address). */
export function privateMgmtAddresses(m: VmMgmt, n: number): { host: string; vm: string } {
  const base = ipv4ToInt(m.network)! + m.offset + 4 * n;
  return { host: `${intToIpv4(base + 1)}/30`, vm: `${intToIpv4(base + 2)}/30` };
}

/** Whether a VM asks for no management interface (`<mng_if>no</mng_if>`, in the VM or in <vm_defaults>). */
export function mgmtDisabled(vm: Vm, s: Pick<Scenario, 'global'>): boolean {
  const own = vm.extra.children.find((c) => c.node.tag === 'mng_if');
  if (own) return textOf(own.node) === 'no';
  const defaults = s.global.extra.children.find((c) => c.node.tag === 'vm_defaults')?.node;
  const d = defaults?.children.find((c): c is XmlElement => 'tag' in c && c.tag === 'mng_if');
  return d !== undefined && textOf(d) === 'no';
}

/** `global` with the private <vm_mgmt>'s offset set to `offset` (the split's per-fragment offsets). */
export function withMgmtOffset(global: GlobalSection, offset: number): GlobalSection {
  return {
    ...global,
    extra: {
      ...global.extra,
      children: global.extra.children.map((c) =>
        c.node.tag === 'vm_mgmt' ? { ...c, node: { ...c.node, attrs: { ...c.node.attrs, offset: String(offset) } } } : c,
      ),
    },
  };
}
