// Keeping what the model does not name: unknown attributes and child elements, in order,
// as plain XmlElement trees (no locations), so a written fragment is the same scenario.
import type { Extra, XmlElement, XmlNode } from './model.ts';
import { isText, XmlEl, type XmlChild } from './xml.ts';

export function emptyExtra(): Extra {
  return { attrs: {}, children: [] };
}

/**
 * A parsed element as a plain XmlElement. Whitespace-only text between child elements is
 * layout, not content, and is dropped (the writer re-indents).
 */
export function toPlain(el: XmlEl): XmlElement {
  const hasElements = el.children.some((c) => c instanceof XmlEl);
  const children: XmlNode[] = [];
  for (const c of el.children as XmlChild[]) {
    if (c instanceof XmlEl) children.push(toPlain(c));
    else if (isText(c)) {
      if (!(hasElements && c.text.trim() === '')) children.push({ text: c.text });
    } else children.push({ comment: c.comment });
  }
  return { tag: el.tag, attrs: { ...el.attrs }, children };
}

/** Attributes not in `named`, in document order. */
export function extraAttrs(el: XmlEl, named: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(el.attrs)) if (!named.has(k)) out[k] = v;
  return out;
}

/**
 * Walks the child elements of `el`: calls `onNamed` for those whose tag is in `named` and
 * returns the others as Extra children, each remembering the named tag it followed.
 */
export function collectChildren(
  el: XmlEl,
  named: ReadonlySet<string>,
  onNamed: (child: XmlEl) => void,
  namedAttrs: ReadonlySet<string> = new Set(),
): Extra {
  const extra: Extra = { attrs: extraAttrs(el, namedAttrs), children: [] };
  let after: string | undefined;
  for (const c of el.children) {
    if (!(c instanceof XmlEl)) continue;
    if (named.has(c.tag)) {
      after = c.tag;
      onNamed(c);
    } else {
      extra.children.push(after === undefined ? { node: toPlain(c), loc: c.loc } : { after, node: toPlain(c), loc: c.loc });
    }
  }
  return extra;
}
