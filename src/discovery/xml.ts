// XML helpers for UPnP documents: escaping for the documents ediv writes, and a guarded parser
// for the ones it reads (descriptions, SCPDs, SOAP bodies, events). UPnP documents carry no DTD,
// so any DOCTYPE is refused outright: no external entities, no entity-expansion bombs.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) =>
    c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&apos;',
  );
}

export class XmlRefused extends Error {}

/** Deepest element nesting accepted in any UPnP document ediv reads. */
export const MAX_XML_DEPTH = 32;

/** Element names that always parse as arrays (lists in DDD/SCPD/SOAP documents). */
const LIST_ELEMENTS = new Set(['device', 'service', 'action', 'argument', 'stateVariable', 'allowedValue', 'property']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  htmlEntities: false,
  // UPnP documents are shallow (a description with nested deviceLists is ~12 deep): deeper
  // input is refused before it can cost stack or time.
  maxNestedTags: MAX_XML_DEPTH,
  isArray: (name, _jpath, _leaf, isAttribute) => !isAttribute && LIST_ELEMENTS.has(name),
});

export type XmlNode = Record<string, unknown>;

/**
 * Parses a UPnP XML document (namespace prefixes removed; text values as strings).
 * Throws XmlRefused for oversized, malformed or DTD-carrying input.
 */
export function parseUpnpXml(text: string, maxBytes: number): XmlNode {
  if (Buffer.byteLength(text) > maxBytes) throw new XmlRefused(`document larger than ${maxBytes} bytes`);
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new XmlRefused('document type declarations are not allowed');
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new XmlRefused(`malformed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  try {
    return parser.parse(text) as XmlNode;
  } catch (err) {
    // The parser's own guards (nesting depth, names such as __proto__) throw plain errors.
    throw new XmlRefused(`refused XML: ${(err as Error).message}`);
  }
}

/** Text content of an element parsed by parseUpnpXml (elements with attributes keep '#text'). */
export function textOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && '#text' in (v as XmlNode)) return textOf((v as XmlNode)['#text']);
  if (typeof v === 'object') return '';
  return undefined;
}

export function child(node: unknown, name: string): XmlNode | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const v = (node as XmlNode)[name];
  if (Array.isArray(v)) return v[0] as XmlNode;
  return v && typeof v === 'object' ? (v as XmlNode) : undefined;
}

export function children(node: unknown, name: string): XmlNode[] {
  if (!node || typeof node !== 'object') return [];
  const v = (node as XmlNode)[name];
  if (v === undefined || v === '') return [];
  return (Array.isArray(v) ? v : [v]).filter((x) => x && typeof x === 'object') as XmlNode[];
}
