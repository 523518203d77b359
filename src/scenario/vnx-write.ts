// Scenario → VNUML/VNX XML in the scenario's own dialect (OVF-sourced scenarios become VNX 2.0).
//
// Named fields are written in the order the VNX schema / VNUML DTD expect; each kept extra
// element goes back right after the named element it followed in the source.
import type { Exec, Extra, Filetree, Forwarding, Iface, IpAddress, Net, Route, Scenario, Vm } from './model.ts';
import { attrsText, escapeText, textElement, writeElement } from './xml-write.ts';

const IND = '  ';

/** Writes the scenario as a complete XML document. */
export function writeScenario(s: Scenario): string {
  const vnuml = s.source.format === 'vnuml';
  const rootTag = vnuml ? 'vnuml' : 'vnx';
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  if (vnuml) out.push('<!DOCTYPE vnuml SYSTEM "/usr/share/xml/vnuml/vnuml.dtd">');
  let rootAttrs = s.extra.attrs;
  if (s.source.format === 'ovf' && Object.keys(rootAttrs).length === 0) {
    rootAttrs = {
      'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'xsi:noNamespaceSchemaLocation': '/usr/share/xml/vnx/vnx-2.00.xsd',
    };
  }
  out.push(`<${rootTag}${attrsText(rootAttrs)}>`);
  writeOrdered(['global', 'net', 'vm', 'host'], s.extra, IND, out, (tag) => {
    if (tag === 'global') writeGlobal(s, vnuml, IND, out);
    else if (tag === 'net') for (const n of s.nets) writeNet(n, IND, out);
    else if (tag === 'vm') for (const vm of s.vms) writeVm(vm, IND, out);
    else if (tag === 'host' && s.host) {
      const h = s.host;
      out.push(`${IND}<host${attrsText(h.extra.attrs)}>`);
      writeOrdered(['hostif', 'route', 'forwarding', 'exec'], h.extra, IND + IND, out, (t) => {
        const ind = IND + IND;
        if (t === 'hostif') {
          for (const hi of h.ifaces) {
            writeContainer('hostif', { net: hi.net, ...hi.extra.attrs }, ['ipv4', 'ipv6'], hi.extra, ind, out, (x, i2) =>
              writeAddresses(x, hi, i2, out),
            );
          }
        } else if (t === 'route') writeRoutes(h.routes, ind, out);
        else if (t === 'forwarding') writeForwarding(h.forwarding, ind, out);
        else if (t === 'exec') for (const x of h.execs) writeExec(x, ind, out);
      });
      out.push(`${IND}</host>`);
    }
  });
  out.push(`</${rootTag}>`);
  return out.join('\n') + '\n';
}

/**
 * Emits named children in `order` (via `emit`), putting each kept extra element after the
 * named tag it followed in the source; extras that preceded every named element come first.
 */
function writeOrdered(order: string[], extra: Extra, indent: string, out: string[], emit: (tag: string) => void): void {
  const byAfter = new Map<string | undefined, Extra['children']>();
  for (const c of extra.children) {
    const key = c.after !== undefined && !order.includes(c.after) ? '\0end' : c.after;
    let list = byAfter.get(key);
    if (!list) byAfter.set(key, (list = []));
    list.push(c);
  }
  const extrasAfter = (key: string | undefined) => {
    for (const c of byAfter.get(key) ?? []) writeElement(c.node, indent, out);
  };
  extrasAfter(undefined);
  for (const tag of order) {
    emit(tag);
    extrasAfter(tag);
  }
  extrasAfter('\0end');
}

/** `<tag attrs>` … `</tag>` with ordered named children, or `<tag attrs/>` when empty. */
function writeContainer(
  tag: string,
  attrs: Record<string, string | number | undefined>,
  order: string[],
  extra: Extra,
  indent: string,
  out: string[],
  emit: (tag: string, indent: string) => void,
): void {
  const open = out.length;
  out.push(`${indent}<${tag}${attrsText(attrs)}>`);
  const before = out.length;
  writeOrdered(order, extra, indent + IND, out, (t) => emit(t, indent + IND));
  if (out.length === before) out[open] = `${indent}<${tag}${attrsText(attrs)}/>`;
  else out.push(`${indent}</${tag}>`);
}

function writeGlobal(s: Scenario, vnuml: boolean, indent: string, out: string[]): void {
  const g = s.global;
  const nameTag = vnuml ? 'simulation_name' : 'scenario_name';
  const version = s.source.format === 'ovf' ? '2.0' : g.version;
  const order = ['version', 'scenario_name', 'simulation_name', 'automac', 'cmd-seq'];
  writeContainer('global', g.extra.attrs, order, g.extra, indent, out, (tag, ind) => {
    if (tag === 'version') out.push(ind + textElement('version', {}, version));
    else if (tag === nameTag) out.push(ind + textElement(nameTag, {}, s.name));
    else if (tag === 'automac' && g.automac) out.push(ind + textElement('automac', { offset: g.automacOffset }, ''));
    else if (tag === 'cmd-seq') {
      for (const [seq, list] of s.cmdSeqs) out.push(ind + textElement('cmd-seq', { seq }, list.join(',')));
    }
  });
}

function writeNet(n: Net, indent: string, out: string[]): void {
  const attrs = { name: n.name, mode: n.mode, type: n.type, external: n.external, vlan: n.vlan, ...n.extra.attrs };
  writeContainer('net', attrs, [], n.extra, indent, out, () => {});
}

function writeVm(vm: Vm, indent: string, out: string[]): void {
  const attrs = { name: vm.name, type: vm.type, subtype: vm.subtype, os: vm.os, vcpu: vm.cpus, ...vm.extra.attrs };
  const order = ['mem', 'if', 'route', 'forwarding', 'filetree', 'exec'];
  writeContainer('vm', attrs, order, vm.extra, indent, out, (tag, ind) => {
    if (tag === 'mem' && vm.memMB !== undefined) out.push(ind + textElement('mem', {}, memText(vm.memMB)));
    else if (tag === 'if') for (const i of vm.ifaces) writeIface(i, ind, out);
    else if (tag === 'route') writeRoutes(vm.routes, ind, out);
    else if (tag === 'forwarding') writeForwarding(vm.forwarding, ind, out);
    else if (tag === 'filetree') for (const f of vm.filetrees) writeFiletree(f, ind, out);
    else if (tag === 'exec') for (const x of vm.execs) writeExec(x, ind, out);
  });
}

/** Megabytes as VNX writes them: "256M" when whole, else kilobytes (a plain number). */
export function memText(mb: number): string {
  return Number.isInteger(mb) ? `${mb}M` : String(Math.round(mb * 1024));
}

function writeIface(i: Iface, indent: string, out: string[]): void {
  const attrs = { id: i.id, net: i.net, name: i.name, ...i.extra.attrs };
  writeContainer('if', attrs, ['mac', 'ipv4', 'ipv6'], i.extra, indent, out, (tag, ind) => {
    if (tag === 'mac' && i.mac !== undefined) out.push(ind + textElement('mac', {}, i.mac));
    else writeAddresses(tag, i, ind, out);
  });
}

function writeAddresses(tag: string, from: { ipv4: IpAddress[]; ipv6: IpAddress[]; dhcp?: Iface['dhcp'] }, indent: string, out: string[]): void {
  if (tag !== 'ipv4' && tag !== 'ipv6') return;
  const dhcp = from.dhcp?.[tag];
  if (dhcp !== undefined) out.push(indent + textElement(tag, {}, dhcp));
  for (const a of from[tag]) out.push(indent + textElement(tag, {}, `${a.address}/${a.prefix}`));
}

function writeRoutes(routes: Route[], indent: string, out: string[]): void {
  for (const r of routes) out.push(indent + textElement('route', { type: r.family, gw: r.gateway }, r.destination));
}

function writeForwarding(f: Forwarding | undefined, indent: string, out: string[]): void {
  if (!f || (!f.ipv4 && !f.ipv6)) return;
  const type = f.ipv4 && f.ipv6 ? 'ip' : f.ipv4 ? 'ipv4' : 'ipv6';
  out.push(indent + textElement('forwarding', { type }, ''));
}

function writeExec(x: Exec, indent: string, out: string[]): void {
  const attrs = { seq: x.seq, type: x.type, ostype: x.ostype, mode: x.mode, user: x.user, ...x.extra?.attrs };
  writeTextWithExtras('exec', attrs, x.text, x.extra, indent, out);
}

function writeFiletree(f: Filetree, indent: string, out: string[]): void {
  const attrs = { seq: f.seq, root: f.root, user: f.user, group: f.group, perms: f.perms, ...f.extra?.attrs };
  writeTextWithExtras('filetree', attrs, f.source, f.extra, indent, out);
}

/** A text element (exec, filetree) that may also carry kept child elements. */
function writeTextWithExtras(
  tag: string,
  attrs: Record<string, string | undefined>,
  text: string,
  extra: Extra | undefined,
  indent: string,
  out: string[],
): void {
  if (!extra?.children.length) {
    out.push(indent + textElement(tag, attrs, text));
    return;
  }
  const inner: string[] = [];
  for (const c of extra.children) writeElement(c.node, '', inner);
  out.push(`${indent}<${tag}${attrsText(attrs)}>${escapeText(text)}${inner.join('')}</${tag}>`);
}
