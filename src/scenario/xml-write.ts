// Serializing XML: escaping, and plain XmlElement trees (kept extras) with indentation.
import type { XmlElement, XmlNode } from './model.ts';

export function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** Attribute values: also tabs/newlines as references, which attribute normalization keeps. */
export function escapeAttr(s: string): string {
  return s.replace(/[&<>"\t\n\r]/g, (c) => ATTR_ESCAPES[c]);
}
const ATTR_ESCAPES: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;',
};

export function attrsText(attrs: Record<string, string | number | undefined>): string {
  let s = '';
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) s += ` ${k}="${escapeAttr(String(v))}"`;
  return s;
}

/** `<tag attrs>text</tag>`, or `<tag attrs/>` when text is empty. */
export function textElement(tag: string, attrs: Record<string, string | number | undefined>, text: string): string {
  return text === '' ? `<${tag}${attrsText(attrs)}/>` : `<${tag}${attrsText(attrs)}>${escapeText(text)}</${tag}>`;
}

function commentText(c: string): string {
  // "--" cannot appear inside a comment; keep the text readable.
  return `<!--${c.replace(/--/g, '- -').replace(/-$/, '- ')}-->`;
}

function nodeInline(n: XmlNode): string {
  if ('tag' in n) return elementInline(n);
  if ('text' in n) return escapeText(n.text);
  return commentText(n.comment);
}

function elementInline(el: XmlElement): string {
  const open = `<${el.tag}${attrsText(el.attrs)}`;
  if (el.children.length === 0) return `${open}/>`;
  return `${open}>${el.children.map(nodeInline).join('')}</${el.tag}>`;
}

/** Writes a kept element, one line per child element when it has no text of its own. */
export function writeElement(el: XmlElement, indent: string, out: string[]): void {
  const hasText = el.children.some((c) => 'text' in c);
  const hasElements = el.children.some((c) => 'tag' in c);
  if (!hasElements || hasText) {
    out.push(indent + elementInline(el));
    return;
  }
  out.push(`${indent}<${el.tag}${attrsText(el.attrs)}>`);
  for (const c of el.children) {
    if ('tag' in c) writeElement(c, indent + '  ', out);
    else if ('comment' in c) out.push(indent + '  ' + commentText(c.comment));
  }
  out.push(`${indent}</${el.tag}>`);
}
