// Keeping what the model does not name: unknown attributes and child elements, in order,
// as plain XmlElement trees (no locations), so a written fragment is the same scenario.
import type { Extra, XmlElement, XmlNode } from './model.ts';
import { isText, setOwn, XmlEl, type XmlComment } from './xml.ts';

/** A new, empty Extra (for a parser that adds to it). */
export function emptyExtra(): Extra {
  return { attrs: {}, children: [] };
}

/**
 * What every entity with nothing extra shares: most have nothing, and one Extra each was a
 * tenth of a large scenario's memory. Frozen: copy it to change it ({ ...e, children: [...] }).
 */
export const NO_EXTRA: Extra = Object.freeze({ attrs: Object.freeze({}), children: Object.freeze([]) as unknown as Extra['children'] });

/**
 * A parsed element as a plain XmlElement. Whitespace-only text between child elements is
 * layout, not content, and is dropped (the writer re-indents).
 */
export function toPlain(el: XmlEl): XmlElement {
  const kids = el.children;
  const hasElements = kids.some((c) => c instanceof XmlEl);
  const children = kids
    .filter((c) => !(hasElements && isText(c) && c.text.trim() === ''))
    .map((c): XmlNode => (c instanceof XmlEl ? toPlain(c) : isText(c) ? { text: c.text } : { comment: (c as XmlComment).comment }));
  return { tag: el.tag, attrs: { ...el.attrs }, children };
}

/** Attributes not in `named`, in document order. */
export function extraAttrs(el: XmlEl, named: ReadonlySet<string>): Record<string, string> {
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(el.attrs)) if (!named.has(k)) setOwn((out ??= {}), k, v);
  return out ?? NO_EXTRA.attrs;
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
  const children: Extra['children'] = [];
  let after: string | undefined;
  for (const c of el.elements()) {
    if (named.has(c.tag)) {
      after = c.tag;
      onNamed(c);
    } else {
      children.push(after === undefined ? { node: toPlain(c), loc: c.loc } : { after, node: toPlain(c), loc: c.loc });
    }
  }
  const attrs = extraAttrs(el, namedAttrs);
  if (!children.length && attrs === NO_EXTRA.attrs) return NO_EXTRA;
  return { attrs, children: children.slice() };
}
