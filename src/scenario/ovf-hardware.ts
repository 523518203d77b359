// Reading a VirtualHardwareSection: which Item / EthernetPortItem / StorageItem elements apply
// to the default deployment configuration, and their values. Elements are matched by local
// name only, because real files get the rasd/epasd/sasd namespace URIs wrong (and OVF 0.9
// spells InstanceID as InstanceId).
import { InputError } from '../common/errors.ts';
import type { XmlEl } from './xml.ts';
import { quote } from './quote.ts';

export const RESOURCE = { cpu: 3, memory: 4, ethernet: 10, disk: 17, logicalDisk: 31 } as const;

const ITEM_TAGS = new Set(['Item', 'EthernetPortItem', 'StorageItem']);

/** Text of the item's child with this local name (e.g. "ResourceType"), trimmed. */
export function field(item: XmlEl, name: string): string | undefined {
  const v = item.child(name)?.text().trim();
  return v === undefined || v === '' ? undefined : v;
}

export function resourceType(item: XmlEl): number | undefined {
  const v = field(item, 'ResourceType');
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** A whole-number field, or an InputError at the element that holds it. */
export function wholeNumber(item: XmlEl, name: string, min: number): number | undefined {
  const el = item.child(name);
  const v = field(item, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) {
    throw InputError.at(el!.file, el!.line, el!.column, `${name} must be a whole number >= ${min}, found ${quote(v, 40)}`);
  }
  return Number(v);
}

/**
 * The id of the default deployment configuration of a DeploymentOptionSection: the
 * Configuration marked ovf:default="true", else the first one (DSP0243); undefined without one.
 */
export function defaultConfiguration(section: XmlEl | undefined): string | undefined {
  if (!section) return undefined;
  const configs = section.elements('Configuration');
  const chosen = configs.find((c) => c.attr('default')?.trim().toLowerCase() === 'true') ?? configs[0];
  return chosen?.attr('id')?.trim();
}

function configurationsOf(item: XmlEl): string[] | undefined {
  const c = item.attr('configuration')?.trim();
  return c ? c.split(/\s+/) : undefined;
}

/** InstanceID, or InstanceId as OVF 0.9 spells it. */
function instanceId(item: XmlEl): string | undefined {
  return field(item, 'InstanceID') ?? field(item, 'InstanceId');
}

/** Whether an item is in the default configuration's hardware (before InstanceIDs are compared). */
function applies(item: XmlEl, defaultConfig: string | undefined): boolean {
  const bound = item.attr('bound')?.trim().toLowerCase();
  if (bound === 'min' || bound === 'max') return false;
  const configs = configurationsOf(item);
  return configs === undefined || defaultConfig === undefined || configs.includes(defaultConfig);
}

/**
 * The hardware items that apply to the default configuration, in document order:
 * - an item whose ovf:configuration does not list the default is skipped;
 * - ovf:bound="min"/"max" variants are skipped (the normal value applies);
 * - items sharing an InstanceID are resolved by `variantOf`, at the place of the first one.
 */
export function applicableItems(section: XmlEl, defaultConfig: string | undefined): XmlEl[] {
  const items = section.elements().filter((e) => ITEM_TAGS.has(e.localName) && applies(e, defaultConfig));
  const byId = new Map<string, XmlEl[]>();
  const groups: XmlEl[][] = [];
  for (const it of items) {
    const id = instanceId(it);
    let group = id === undefined ? undefined : byId.get(id);
    if (!group) {
      groups.push((group = []));
      if (id !== undefined) byId.set(id, group);
    }
    group.push(it);
  }
  return groups.flatMap((g) => variantOf(g, defaultConfig));
}

/**
 * Of items sharing one InstanceID, those that apply. Items with different ovf:configuration
 * values are variants of one item (DSP0243): the variant naming the default configuration wins,
 * else the one without ovf:configuration, else the first. Items with the same value (typically
 * none at all) are not variants but distinct devices an exporter numbered alike (two NICs
 * both "InstanceID 3"): all of them are kept.
 */
function variantOf(items: XmlEl[], defaultConfig: string | undefined): XmlEl[] {
  if (items.length === 1) return items;
  const variants = new Map<string, XmlEl[]>();
  for (const it of items) {
    const key = (configurationsOf(it) ?? []).sort().join(' ');
    variants.set(key, [...(variants.get(key) ?? []), it]);
  }
  const all = [...variants];
  const named = defaultConfig === undefined ? undefined : all.find(([key]) => key.split(' ').includes(defaultConfig));
  return (named ?? all.find(([key]) => key === '') ?? all[0]!)[1];
}
