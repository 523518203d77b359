// Reading a VirtualHardwareSection: which Item / EthernetPortItem / StorageItem elements apply
// to the default deployment configuration, and their values. Elements are matched by local
// name only, because real files get the rasd/epasd/sasd namespace URIs wrong.
import { InputError } from '../common/errors.ts';
import type { XmlEl } from './xml.ts';

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
    throw InputError.at(el!.file, el!.line, el!.column, `${name} must be a whole number >= ${min}, found ${JSON.stringify(v)}`);
  }
  return Number(v);
}

/**
 * The id of the default deployment configuration: the DeploymentOptionSection Configuration
 * marked ovf:default="true", else the first one (DSP0243); undefined without such a section.
 */
export function defaultConfiguration(envelope: XmlEl): string | undefined {
  const section = envelope.child('DeploymentOptionSection');
  if (!section) return undefined;
  const configs = section.elements('Configuration');
  const chosen = configs.find((c) => c.attr('default')?.trim().toLowerCase() === 'true') ?? configs[0];
  return chosen?.attr('id')?.trim();
}

function configurationsOf(item: XmlEl): string[] | undefined {
  const c = item.attr('configuration')?.trim();
  return c ? c.split(/\s+/) : undefined;
}

/**
 * The hardware items that apply to the default configuration, in document order:
 * - an item whose ovf:configuration does not list the default is skipped;
 * - ovf:bound="min"/"max" variants are skipped (the normal value applies);
 * - when one InstanceID appears several times, the item naming the default configuration
 *   wins over the generic one (else the first is kept).
 */
export function applicableItems(section: XmlEl, defaultConfig: string | undefined): XmlEl[] {
  const items = section.elements().filter((e) => ITEM_TAGS.has(e.localName));
  const applicable = items.filter((it) => {
    const bound = it.attr('bound')?.trim().toLowerCase();
    if (bound === 'min' || bound === 'max') return false;
    const configs = configurationsOf(it);
    return configs === undefined || defaultConfig === undefined || configs.includes(defaultConfig);
  });
  const chosen = new Map<string, XmlEl>();
  const order: (XmlEl | string)[] = [];
  for (const it of applicable) {
    const id = field(it, 'InstanceID');
    if (id === undefined) {
      order.push(it);
      continue;
    }
    const earlier = chosen.get(id);
    if (!earlier) {
      chosen.set(id, it);
      order.push(id);
    } else if (configurationsOf(earlier) === undefined && defaultConfig !== undefined && configurationsOf(it)?.includes(defaultConfig)) {
      chosen.set(id, it);
    }
  }
  return order.map((o) => (typeof o === 'string' ? chosen.get(o)! : o));
}
