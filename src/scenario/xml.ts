// The safe XML reader used by every XML input of ediv (VNUML/VNX scenarios, OVF envelopes,
// EDIV restriction files).
//
//   readXml(text | Buffer, file)  → XmlDocument   (throws InputError with file/line/column)
//   readXmlFile(path)             → Promise<XmlDocument>  (checks the size before reading)
//
// What it does, and why it is hand-written (one linear pass, no dependencies):
//  - builds an ordered tree: elements (tag, attrs, children, 1-based line/column, resolved
//    namespace URI), text (CDATA included), comments; processing instructions are dropped;
//  - expands the 5 predefined entities, numeric character references and the general
//    entities declared in the DOCTYPE's internal subset (VNUML files use them), with a bound
//    on nesting depth and on the total text produced (an expansion bomb fails fast);
//  - never reads or fetches anything: a DOCTYPE naming an external DTD is accepted and the
//    DTD ignored; a reference to an external (SYSTEM/PUBLIC) entity is an error, as is any
//    parameter-entity reference;
//  - refuses what is not UTF-8 (or declared Latin-1/ASCII) text before parsing
//    (xml-decode.ts), and every well-formedness error of XML 1.0 it can meet, at its line and
//    column: names, the XML declaration, comments with "--", "]]>" in text, '<' in attribute
//    values, duplicate attributes (also through namespace prefixes), PIs named xml, ...;
//  - bounds what a document may make it hold (XmlLimits): elements, attributes (per element and
//    in all), distinct names, element depth, name and attribute value lengths. Every message
//    shows input text through quote() (escaped, cut short).
//
// Memory. A scenario of N bytes must not take 50 N of heap. The tree is built lean: element
// and attribute names are interned (one string per distinct name), short attribute values and
// the white space between elements are shared (and that white space is not kept as children),
// a text-only element holds its text without a node, each children array is made at its
// element's end with exactly its length (an array grown by push keeps 16+ slots), and elements
// without attributes or children share one frozen empty object / array. A parsed tree is
// read-only, except to the code that owns it (index.ts lets vnx-parse.ts drop what it has read).
import { InputError, type SourceLocation } from '../common/errors.ts';
import { readBoundedFile } from '../common/input-file.ts';
import { checkText, decodeXmlBytes, positionOf } from './xml-decode.ts';
import { escaped, quote } from './quote.ts';

export interface XmlText {
  text: string;
}
export interface XmlComment {
  comment: string;
}
/**
 * A child node. Use isText / isComment / `instanceof XmlEl` to tell them apart
 * (`'text' in child` is also true for an XmlEl, which has a text() method).
 */
export type XmlChild = XmlEl | XmlText | XmlComment;

export function isText(c: XmlChild): c is XmlText {
  return !(c instanceof XmlEl) && typeof (c as XmlText).text === 'string';
}
export function isComment(c: XmlChild): c is XmlComment {
  return !(c instanceof XmlEl) && typeof (c as XmlComment).comment === 'string';
}

export interface XmlLimits {
  /** Largest accepted input, in bytes (UTF-8). Default 20 MB. */
  maxBytes: number;
  /** Deepest entity-inside-entity nesting. Default 8. */
  maxEntityDepth: number;
  /** Total characters all entity references of a document may produce. Default 1 MB. */
  maxEntityExpansion: number;
  /** Deepest element nesting. Default 256. */
  maxElementDepth: number;
  /** Elements in the whole document. Default 400 000 (the largest real scenario has under 1 000). */
  maxElements: number;
  /** Attributes of one element (namespace declarations included). Default 256. */
  maxAttributes: number;
  /** Attributes in the whole document. Default 1 000 000. */
  maxTotalAttributes: number;
  /**
   * Distinct element, attribute, entity and PI names. Default 10 000 (a real scenario has a few
   * dozen): a million distinct names cost seconds and a heap of hidden classes in V8.
   */
  maxDistinctNames: number;
  /** Characters of an element, attribute, entity or PI name. Default 1 000. */
  maxNameLength: number;
  /** Characters of one attribute value, as written and as expanded. Default 256 Ki. */
  maxAttributeLength: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = {
  maxBytes: 20 * 1024 * 1024,
  maxEntityDepth: 8,
  maxEntityExpansion: 1024 * 1024,
  maxElementDepth: 256,
  maxElements: 400_000,
  maxAttributes: 256,
  maxTotalAttributes: 1_000_000,
  maxDistinctNames: 10_000,
  maxNameLength: 1000,
  maxAttributeLength: 256 * 1024,
};

/** What elements without attributes / children share (frozen: a parsed tree is read-only). */
const NO_ATTRS: Record<string, string> = Object.freeze({});
const NO_CHILDREN: XmlChild[] = Object.freeze([]) as unknown as XmlChild[];

/**
 * One element. `children` keeps elements, text and comments in document order; white space
 * between child elements is layout and is not kept (text with anything else in it is).
 */
export class XmlEl {
  tag: string;
  attrs: Record<string, string>;
  /** Namespace URI of the element (from xmlns / xmlns:prefix in scope), if any. */
  ns: string | undefined;
  file: string;
  line: number;
  column: number;
  /**
   * The children; for an element whose only content is text (most of them: <ipv4>, <exec>,
   * <mem>...), that text itself, so that it costs no node and no array.
   */
  private content: XmlChild[] | string;

  constructor(tag: string, attrs: Record<string, string>, ns: string | undefined, file: string, line: number, column: number) {
    this.tag = tag;
    this.attrs = attrs;
    this.content = NO_CHILDREN;
    this.ns = ns;
    this.file = file;
    this.line = line;
    this.column = column;
  }

  /** The children (a text-only element's one text node is made on each call). */
  get children(): XmlChild[] {
    const c = this.content;
    return typeof c === 'string' ? [{ text: c }] : c;
  }

  set children(children: XmlChild[] | string) {
    this.content = children;
  }

  /** Tag without its namespace prefix. */
  get localName(): string {
    const i = this.tag.indexOf(':');
    return i < 0 ? this.tag : this.tag.slice(i + 1);
  }

  get loc(): SourceLocation {
    return { file: this.file, line: this.line, column: this.column };
  }

  /** Concatenated text of the direct text children (entities expanded, not trimmed). */
  text(): string {
    const c = this.content;
    if (typeof c === 'string') return c;
    let s = '';
    for (const x of c) if (isText(x)) s += x.text;
    return s;
  }

  /** Child elements, optionally only those with this tag (or, with a prefix-less name, local name). */
  elements(tag?: string): XmlEl[] {
    const out: XmlEl[] = [];
    if (typeof this.content === 'string') return out;
    for (const c of this.content) {
      if (c instanceof XmlEl && (tag === undefined || c.tag === tag || c.localName === tag)) out.push(c);
    }
    return out;
  }

  /** First child element with this tag (or local name). */
  child(tag: string): XmlEl | undefined {
    if (typeof this.content === 'string') return undefined;
    for (const c of this.content) if (c instanceof XmlEl && (c.tag === tag || c.localName === tag)) return c;
    return undefined;
  }

  /** Attribute value by exact name, or by local name ignoring any prefix. */
  attr(name: string): string | undefined {
    if (Object.hasOwn(this.attrs, name)) return this.attrs[name];
    for (const k of Object.keys(this.attrs)) {
      const i = k.indexOf(':');
      if (i >= 0 && k.slice(i + 1) === name && k.slice(0, i) !== 'xmlns') return this.attrs[k];
    }
    return undefined;
  }
}

export interface XmlDocument {
  file: string;
  root: XmlEl;
  /** DOCTYPE name and external id when present (never fetched). */
  doctype?: { name: string; systemId?: string; publicId?: string };
  /** Comments before the root element (e.g. licence headers), in order. */
  prolog: XmlComment[];
}

/** Reads and parses an XML file, refusing oversized files before reading them. */
export async function readXmlFile(path: string, limits: Partial<XmlLimits> = {}): Promise<XmlDocument> {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  // Decoded in its own statement, so that the bytes can be collected while the text is parsed.
  const text = decodeXmlBytes(await readBoundedFile(path, lim.maxBytes), path, lim.maxBytes);
  return new Parser(checkText(text, path, lim.maxBytes), path, lim).parseDocument();
}

/** Parses XML text (a string or the raw bytes of a file). Throws InputError on any problem. */
export function readXml(input: string | Uint8Array, file: string, limits: Partial<XmlLimits> = {}): XmlDocument {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  const text = typeof input === 'string' ? input : decodeXmlBytes(input, file, lim.maxBytes);
  return new Parser(checkText(text, file, lim.maxBytes), file, lim).parseDocument();
}

// XML 1.0 (5th edition) Name production; `u`: the astral ranges are code points.
const NAME_START = ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_CHAR = NAME_START + '\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040';
const NAME_RE = new RegExp(`[${NAME_START}][${NAME_CHAR}]*`, 'uy');
const WHOLE_NAME = new RegExp(`^[${NAME_START}][${NAME_CHAR}]*$`, 'u');
const WS_RE = /[ \t\n]*/y;
const PUBID_BAD = /[^\x20\x0D\x0Aa-zA-Z0-9\-'()+,./:=?;!*#@$_%]/;
/** The predefined entities (a Map: `&constructor;` is not a property of anything). */
const PREDEFINED = new Map([['lt', '<'], ['gt', '>'], ['amp', '&'], ['apos', "'"], ['quot', '"']]);
const XML_NS = 'http://www.w3.org/XML/1998/namespace';
/** Values and white-space runs are shared when they repeat: only so many, and only short ones. */
const SHARED_MAX_LENGTH = 16;
const SHARED_MAX_ENTRIES = 4096;

interface EntityDecl {
  name: string;
  /** Replacement text (character references already expanded), for internal entities. */
  value?: string;
  systemId?: string;
  publicId?: string;
  notation?: string;
  line: number;
  column: number;
}

/** An open element while its content is read. */
interface Frame {
  el: XmlEl;
  /** The namespace scope outside it (restored at its end tag). */
  outerScope: Map<string, string> | undefined;
  start: number;
  /** Where its children begin in Parser.pending. */
  mark: number;
}

class Parser {
  private readonly s: string;
  private readonly file: string;
  private readonly lim: XmlLimits;
  private pos = 0;
  // Incremental line tracking: positions asked for are mostly increasing.
  private lineNo = 1;
  private lineStart = 0;
  /** The first '\n' at or after lineStart (-1: none), once searched for. */
  private nextLineEnd: number | undefined;
  private readonly entities = new Map<string, EntityDecl>();
  private readonly expanded = new Map<string, string>();
  /** The entities being expanded, outermost first (a reference to one of them is a loop). */
  private readonly expanding: string[] = [];
  private expansionBudget: number;
  private elementCount = 0;
  private attributeCount = 0;
  /** One string per distinct name (at most maxDistinctNames). */
  private readonly names = new Map<string, string>();
  /** Short attribute values and white-space text nodes seen before. */
  private readonly values = new Map<string, string>();
  private readonly blanks = new Map<string, XmlText>();
  /** The children of the open elements, each element's after its own start (Frame.mark). */
  private readonly pending: XmlChild[] = [];

  constructor(s: string, file: string, lim: XmlLimits) {
    this.s = s;
    this.file = file;
    this.lim = lim;
    this.expansionBudget = lim.maxEntityExpansion;
  }

  // ---- positions and errors -------------------------------------------------------------

  /**
   * Line and column of `offset`. Offsets asked for mostly increase: each line end is searched
   * for once (remembered in nextLineEnd), so a file that is one long line costs no rescans.
   */
  private where(offset: number): { line: number; column: number } {
    if (offset < this.lineStart) return positionOf(this.s, offset); // rare: going backwards (errors)
    if (this.nextLineEnd === undefined) this.nextLineEnd = this.s.indexOf('\n');
    while (this.nextLineEnd >= 0 && this.nextLineEnd < offset) {
      this.lineNo++;
      this.lineStart = this.nextLineEnd + 1;
      this.nextLineEnd = this.s.indexOf('\n', this.lineStart);
    }
    return { line: this.lineNo, column: offset - this.lineStart + 1 };
  }

  private fail(offset: number, message: string): never {
    const p = this.where(offset);
    throw InputError.at(this.file, p.line, p.column, message);
  }

  /** What is at `offset`, for "expected X but found Y". */
  private found(offset: number): string {
    if (offset >= this.s.length) return 'end of file';
    const c = String.fromCodePoint(this.s.codePointAt(offset)!);
    return c === '\n' ? 'end of line' : quote(c);
  }

  // ---- small scanners -------------------------------------------------------------------

  private skipWs(): boolean {
    WS_RE.lastIndex = this.pos;
    WS_RE.test(this.s);
    const moved = WS_RE.lastIndex > this.pos;
    this.pos = WS_RE.lastIndex;
    return moved;
  }

  /** An XML Name at pos (interned), within the length limit. */
  private name(what: string): string {
    const start = this.pos;
    NAME_RE.lastIndex = start;
    if (!NAME_RE.test(this.s)) this.fail(start, `expected ${what} but found ${this.found(start)}`);
    const end = NAME_RE.lastIndex;
    if (end - start > this.lim.maxNameLength) {
      this.fail(start, `${what} is ${end - start} characters long: the limit is ${this.lim.maxNameLength}`);
    }
    this.pos = end;
    const n = this.s.slice(start, end);
    const known = this.names.get(n);
    if (known !== undefined) return known;
    if (this.names.size >= this.lim.maxDistinctNames) {
      this.fail(start, `more than ${this.lim.maxDistinctNames} distinct names (elements, attributes, entities): the limit for one document`);
    }
    this.names.set(n, n);
    return n;
  }

  private expect(str: string, what?: string): void {
    if (!this.s.startsWith(str, this.pos)) {
      this.fail(this.pos, `expected ${what ?? quote(str)} but found ${this.found(this.pos)}`);
    }
    this.pos += str.length;
  }

  /** Where `end` starts, searching from pos; fails at `startOffset` with `what` when missing. */
  private until(end: string, startOffset: number, what: string): number {
    const i = this.s.indexOf(end, this.pos);
    if (i < 0) this.fail(startOffset, `${what} is never closed (missing ${quote(end)})`);
    return i;
  }

  /**
   * A quoted literal: its raw text and where that starts. `what` names it in messages (a
   * function for attribute values: their message is only made when there is a problem).
   */
  private quoted(what: string | (() => string), maxLength = Infinity): { value: string; start: number } {
    const named = () => (typeof what === 'string' ? what : what());
    const q = this.s[this.pos];
    if (q !== '"' && q !== "'") this.fail(this.pos, `expected a quoted ${named()} but found ${this.found(this.pos)}`);
    const start = this.pos + 1;
    const end = this.s.indexOf(q, start);
    if (end < 0) this.fail(this.pos, `${named()} is never closed (missing ${q})`);
    if (end - start > maxLength) this.fail(start, `${named()} is ${end - start} characters long: the limit is ${maxLength}`);
    this.pos = end + 1;
    return { value: this.s.slice(start, end), start };
  }

  /** A short attribute value seen before is that same string (most values repeat: "lxc", "1"). */
  private shared(v: string): string {
    if (v.length > SHARED_MAX_LENGTH) return v;
    const known = this.values.get(v);
    if (known !== undefined) return known;
    if (this.values.size < SHARED_MAX_ENTRIES) this.values.set(v, v);
    return v;
  }

  /** A text node; white space between elements (the same few runs, over and over) is shared. */
  private textNode(text: string): XmlText {
    if (text.length > SHARED_MAX_LENGTH * 4 || text.trim() !== '') return { text };
    let node = this.blanks.get(text);
    if (!node) {
      node = Object.freeze({ text });
      if (this.blanks.size < SHARED_MAX_ENTRIES) this.blanks.set(text, node);
    }
    return node;
  }

  // ---- document --------------------------------------------------------------------------

  parseDocument(): XmlDocument {
    const prolog: XmlComment[] = [];
    let doctype: XmlDocument['doctype'];
    const s = this.s;
    if (/^<\?xml[ \t\n]/.test(s.slice(0, 6))) this.xmlDecl();
    let root: XmlEl | undefined;
    for (;;) {
      this.skipWs();
      if (this.pos >= s.length) break;
      if (s[this.pos] !== '<') {
        this.fail(this.pos, root ? 'text after the root element' : 'text before the root element: not an XML document?');
      }
      if (s.startsWith('<!--', this.pos)) {
        const c = this.comment();
        if (!root) prolog.push(c);
      } else if (s.startsWith('<?', this.pos)) {
        this.pi();
      } else if (s.startsWith('<!DOCTYPE', this.pos)) {
        if (root || doctype) this.fail(this.pos, 'a DOCTYPE must come once, before the root element');
        doctype = this.doctype();
      } else if (s.startsWith('<!', this.pos)) {
        this.fail(this.pos, `unexpected ${quote(s.slice(this.pos, this.pos + 9))} ${root ? 'after' : 'before'} the root element`);
      } else if (root) {
        this.fail(this.pos, `a second root element (the document's root is <${escaped(root.tag)}>, closed before this)`);
      } else {
        root = this.element();
      }
    }
    if (!root) this.fail(this.pos, 'no root element: not an XML document');
    return { file: this.file, root, doctype, prolog };
  }

  /** `<?xml version="1.x" [encoding="…"] [standalone="yes|no"]?>` (§2.8), at the very start. */
  private xmlDecl(): void {
    this.pos = 5;
    const version = this.pseudoAttr('version');
    if (version === undefined) this.fail(this.pos, 'the XML declaration needs a version: <?xml version="1.0"?>');
    if (!/^1\.[0-9]+$/.test(version.value)) this.fail(version.start, `XML version ${quote(version.value)} is not supported: write version="1.0"`);
    const encoding = this.pseudoAttr('encoding');
    if (encoding && !/^[A-Za-z][A-Za-z0-9._-]*$/.test(encoding.value)) {
      this.fail(encoding.start, `${quote(encoding.value)} is not an encoding name`);
    }
    const standalone = this.pseudoAttr('standalone');
    if (standalone && standalone.value !== 'yes' && standalone.value !== 'no') {
      this.fail(standalone.start, `standalone must be "yes" or "no", not ${quote(standalone.value)}`);
    }
    this.skipWs();
    this.expect('?>', "'?>' closing the XML declaration (version, encoding, standalone, in this order)");
  }

  /** One `name="value"` of the XML declaration, if it comes next. */
  private pseudoAttr(name: string): { value: string; start: number } | undefined {
    const before = this.pos;
    const ws = this.skipWs();
    if (!this.s.startsWith(name, this.pos)) {
      this.pos = before;
      return undefined;
    }
    if (!ws) this.fail(this.pos, `expected white space before ${name} in the XML declaration`);
    this.pos += name.length;
    this.skipWs();
    this.expect('=', `'=' after ${name} in the XML declaration`);
    this.skipWs();
    return this.quoted(`${name} in the XML declaration`);
  }

  /** `<!-- … -->`; "--" inside is not allowed (§2.5), nor a comment ending "--->". */
  private comment(): XmlComment {
    const start = this.pos;
    this.pos += 4;
    const end = this.until('-->', start, 'comment');
    const dashes = this.s.indexOf('--', this.pos);
    if (dashes < end) this.fail(dashes, "'--' is not allowed inside a comment (XML 1.0 §2.5)");
    const c = { comment: this.s.slice(this.pos, end) };
    this.pos = end + 3;
    return c;
  }

  /** `<?target …?>`, dropped; a target named xml (any case) is reserved (§2.6). */
  private pi(): void {
    const start = this.pos;
    this.pos += 2;
    const target = this.name('a processing-instruction target');
    if (target.toLowerCase() === 'xml') {
      this.fail(start, start === 0 ? 'malformed XML declaration' : 'the XML declaration is only allowed at the very start of the file (a processing instruction may not be named "xml")');
    }
    if (!this.s.startsWith('?>', this.pos) && !this.skipWs()) {
      this.fail(this.pos, `expected white space or '?>' after the processing-instruction target but found ${this.found(this.pos)}`);
    }
    this.pos = this.until('?>', start, 'processing instruction') + 2;
  }

  // ---- DOCTYPE and internal subset -------------------------------------------------------

  private doctype(): XmlDocument['doctype'] {
    this.pos += 9;
    if (!this.skipWs()) this.fail(this.pos, 'expected whitespace after <!DOCTYPE');
    const dt: NonNullable<XmlDocument['doctype']> = { name: this.name('the DOCTYPE name') };
    this.skipWs();
    const ext = this.externalId();
    if (ext) {
      dt.systemId = ext.systemId;
      if (ext.publicId !== undefined) dt.publicId = ext.publicId;
      this.skipWs();
    }
    if (this.s[this.pos] === '[') {
      this.pos++;
      this.internalSubset();
      this.skipWs();
    }
    this.expect('>', "'>' closing the DOCTYPE");
    // The external DTD (dt.systemId) is deliberately never read.
    return dt;
  }

  private externalId(): { systemId: string; publicId?: string } | undefined {
    if (this.s.startsWith('SYSTEM', this.pos)) {
      this.pos += 6;
      if (!this.skipWs()) this.fail(this.pos, 'expected white space after SYSTEM');
      return { systemId: this.quoted('system identifier').value };
    }
    if (this.s.startsWith('PUBLIC', this.pos)) {
      this.pos += 6;
      if (!this.skipWs()) this.fail(this.pos, 'expected white space after PUBLIC');
      const pub = this.quoted('public identifier');
      const bad = PUBID_BAD.exec(pub.value);
      if (bad) this.fail(pub.start + bad.index, `${this.found(pub.start + bad.index)} is not allowed in a public identifier`);
      if (!this.skipWs()) this.fail(this.pos, 'expected white space and the system identifier after the public identifier');
      return { publicId: pub.value, systemId: this.quoted('system identifier').value };
    }
    return undefined;
  }

  private internalSubset(): void {
    const s = this.s;
    for (;;) {
      this.skipWs();
      if (this.pos >= s.length) this.fail(this.pos, "the DOCTYPE's internal subset is never closed (missing ']')");
      if (s[this.pos] === ']') {
        this.pos++;
        return;
      }
      if (s.startsWith('<!ENTITY', this.pos)) this.entityDecl();
      else if (s.startsWith('<!--', this.pos)) this.comment();
      else if (s.startsWith('<?', this.pos)) this.pi();
      else if (s[this.pos] === '%') {
        this.fail(this.pos, 'parameter-entity references are not supported (ediv never reads external DTDs or entities)');
      } else if (s.startsWith('<![', this.pos)) {
        this.fail(this.pos, 'conditional sections (<![INCLUDE[ … ]]>) are only allowed in an external DTD, which ediv never reads');
      } else if (/^<!(ELEMENT|ATTLIST|NOTATION)[ \t\n]/.test(s.slice(this.pos, this.pos + 11))) this.skipDecl();
      else this.fail(this.pos, `unexpected ${quote(s.slice(this.pos, this.pos + 10))} in the DOCTYPE's internal subset`);
    }
  }

  /** Skips <!ELEMENT>, <!ATTLIST>, <!NOTATION> (quoted strings may contain '>'). */
  private skipDecl(): void {
    const start = this.pos;
    const s = this.s;
    for (let i = this.pos + 2; i < s.length; i++) {
      const c = s[i];
      if (c === '"' || c === "'") {
        const j = s.indexOf(c, i + 1);
        if (j < 0) break;
        i = j;
      } else if (c === '<') {
        this.fail(i, "'<' inside a markup declaration: is a '>' missing before it?");
      } else if (c === '>') {
        this.pos = i + 1;
        return;
      }
    }
    this.fail(start, 'markup declaration is never closed (missing ">")');
  }

  private entityDecl(): void {
    const start = this.pos;
    const at = this.where(start);
    this.pos += 8;
    if (!this.skipWs()) this.fail(this.pos, 'expected whitespace after <!ENTITY');
    const parameter = this.s[this.pos] === '%';
    if (parameter) {
      this.pos++;
      if (!this.skipWs()) this.fail(this.pos, "expected whitespace after '%' in a parameter-entity declaration");
    }
    const name = this.name('the entity name');
    if (!this.skipWs()) this.fail(this.pos, 'expected whitespace after the entity name');
    const decl: EntityDecl = { name, line: at.line, column: at.column };
    const ext = this.externalId();
    if (ext) {
      decl.systemId = ext.systemId;
      if (ext.publicId !== undefined) decl.publicId = ext.publicId;
      const ws = this.skipWs();
      if (this.s.startsWith('NDATA', this.pos)) {
        if (!ws) this.fail(this.pos, 'expected whitespace before NDATA');
        this.pos += 5;
        if (!this.skipWs()) this.fail(this.pos, 'expected whitespace after NDATA');
        decl.notation = this.name('the notation name');
        this.skipWs();
      }
    } else {
      const lit = this.quoted('entity value', this.lim.maxEntityExpansion);
      const pct = lit.value.indexOf('%');
      if (pct >= 0) this.fail(lit.start + pct, 'parameter-entity references are not supported in entity values');
      decl.value = this.charRefsOnly(lit.value, lit.start);
      this.skipWs();
    }
    this.expect('>', "'>' closing the entity declaration");
    // Parameter entities are only used inside DTDs, which are never processed; the first
    // declaration of a general entity wins (XML 1.0 §4.2).
    if (!parameter && !this.entities.has(name) && !PREDEFINED.has(name)) this.entities.set(name, decl);
  }

  /** Expands character references in an entity value; general entity references stay (§4.5). */
  private charRefsOnly(value: string, offset: number): string {
    if (!value.includes('&#')) return value;
    return value.replace(/&#(x[0-9A-Fa-f]+|[0-9]+);/g, (_m, ref: string, i: number) => this.charRef(ref, offset + i));
  }

  private charRef(ref: string, offset: number): string {
    const code = ref[0] === 'x' ? parseInt(ref.slice(1), 16) : parseInt(ref, 10);
    const ok =
      code === 0x9 || code === 0xa || code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
    if (!ok) this.fail(offset, `character reference &#${escaped(ref, 20)}; is not a valid XML character`);
    return String.fromCodePoint(code);
  }

  // ---- entities in content and attributes ------------------------------------------------

  /**
   * Decodes text that may contain references. `offset` is where `raw` starts in the file
   * (for error positions).
   */
  private decodeRefs(raw: string, offset: number): string {
    if (!raw.includes('&')) return raw;
    let out = '';
    let last = 0;
    for (let i = raw.indexOf('&'); i >= 0; i = raw.indexOf('&', last)) {
      out += raw.slice(last, i);
      const semi = raw.indexOf(';', i);
      const ref = semi > i ? raw.slice(i + 1, semi) : '';
      if (/^(#x[0-9A-Fa-f]+|#[0-9]+)$/.test(ref)) out += this.charRef(ref.slice(1), offset + i);
      else if (WHOLE_NAME.test(ref)) out += this.entityText(ref, offset + i, 1);
      else this.fail(offset + i, "'&' must start an entity reference like &amp; (write &amp; for a literal '&')");
      last = semi + 1;
    }
    return out + raw.slice(last);
  }

  /** The fully expanded text of a general entity, within the depth and size bounds. */
  private entityText(name: string, offset: number, depth: number): string {
    const pre = PREDEFINED.get(name);
    if (pre !== undefined) return pre;
    const decl = this.entities.get(name);
    const shown = escaped(name);
    if (!decl) this.fail(offset, `undefined entity &${shown};`);
    if (decl.value === undefined) {
      const id = decl.publicId !== undefined ? `PUBLIC ${quote(decl.publicId)} ${quote(decl.systemId!)}` : `SYSTEM ${quote(decl.systemId!)}`;
      this.fail(
        offset,
        `external entity &${shown}; (${id}, declared at line ${decl.line}) refused: ` +
          'ediv never reads external entities; define it inline with <!ENTITY name "value">',
      );
    }
    if (this.expanding.includes(name)) {
      const loop = [...this.expanding.slice(this.expanding.indexOf(name)), name].map((n) => `&${escaped(n)};`).join(' → ');
      this.fail(offset, `entity &${shown}; refers to itself (${loop})`);
    }
    if (depth > this.lim.maxEntityDepth) {
      this.fail(offset, `entity expansion nested deeper than ${this.lim.maxEntityDepth} levels (&${shown};): entity bomb?`);
    }
    let text = this.expanded.get(name);
    if (text === undefined) {
      this.expanding.push(name);
      text = this.expandValue(decl, offset, depth);
      this.expanding.pop();
      this.expanded.set(name, text);
    }
    this.charge(text.length, offset, name);
    return text;
  }

  private expandValue(decl: EntityDecl, offset: number, depth: number): string {
    const v = decl.value!;
    const shown = escaped(decl.name);
    // Markup in replacement text (elements made by entities) is not supported; '<' written
    // as &lt; in the value is fine (it stays character data).
    if (v.includes('<')) this.fail(offset, `entity &${shown}; (declared at line ${decl.line}) contains markup ('<'), which ediv does not expand`);
    let out = '';
    let last = 0;
    for (let i = v.indexOf('&'); i >= 0; i = v.indexOf('&', last)) {
      out += v.slice(last, i);
      const semi = v.indexOf(';', i);
      const ref = semi > i ? v.slice(i + 1, semi) : '';
      if (semi < 0 || !WHOLE_NAME.test(ref)) {
        this.fail(offset, `entity &${shown}; (declared at line ${decl.line}) contains a bad '&'`);
      }
      out += this.entityText(ref, offset, depth + 1);
      if (out.length > this.lim.maxEntityExpansion) this.charge(out.length, offset, decl.name);
      last = semi + 1;
    }
    out += v.slice(last);
    return out;
  }

  private charge(n: number, offset: number, name: string): void {
    this.expansionBudget -= n;
    if (this.expansionBudget < 0 || n > this.lim.maxEntityExpansion) {
      this.fail(
        offset,
        `entity expansion of &${escaped(name)}; exceeds the limit of ${this.lim.maxEntityExpansion} characters: entity bomb?`,
      );
    }
  }

  // ---- elements --------------------------------------------------------------------------

  /** The root element and everything in it. Iterative (an explicit stack): depth cannot overflow the JS stack. */
  private element(): XmlEl {
    const s = this.s;
    const stack: Frame[] = [];
    let scope: Map<string, string> | undefined;
    for (;;) {
      // At '<' of a start tag.
      const start = this.pos;
      if (stack.length >= this.lim.maxElementDepth) this.fail(start, `elements nested deeper than ${this.lim.maxElementDepth} levels`);
      const { el, selfClosing, innerScope } = this.startTag(scope);
      if (!stack.length && selfClosing) return el;
      if (stack.length) this.pending.push(el);
      if (!selfClosing) {
        stack.push({ el, outerScope: scope, start, mark: this.pending.length });
        scope = innerScope;
      }
      // Content until the next start tag (loop again) or until the stack empties.
      for (;;) {
        const top = stack[stack.length - 1]!;
        const lt = s.indexOf('<', this.pos);
        if (lt < 0) this.fail(top.start, `<${escaped(top.el.tag)}> is never closed (missing </${escaped(top.el.tag)}>)`);
        if (lt > this.pos) this.text(lt);
        if (s[lt + 1] === '/') {
          this.endTag(top);
          stack.pop();
          scope = top.outerScope;
          if (!stack.length) return top.el;
        } else if (s.startsWith('<!--', lt)) {
          this.pending.push(this.comment());
        } else if (s.startsWith('<![CDATA[', lt)) {
          this.pos = lt + 9;
          const end = this.until(']]>', lt, 'CDATA section');
          this.pending.push({ text: s.slice(this.pos, end) });
          this.pos = end + 3;
        } else if (s.startsWith('<?', lt)) {
          this.pi();
        } else if (s.startsWith('<!', lt)) {
          this.fail(lt, `unexpected ${quote(s.slice(lt, lt + 9))} inside <${escaped(top.el.tag)}>`);
        } else {
          break; // a child start tag
        }
      }
    }
  }

  /** Character data from pos up to `lt` (the next '<'). */
  private text(lt: number): void {
    const raw = this.s.slice(this.pos, lt);
    const cdataEnd = raw.indexOf(']]>');
    if (cdataEnd >= 0) this.fail(this.pos + cdataEnd, "']]>' is not allowed in text (XML 1.0 §2.4): write ]]&gt;");
    this.pending.push(this.textNode(this.decodeRefs(raw, this.pos)));
    this.pos = lt;
  }

  /** `</name>` closing `top`: its children (exactly sized) are taken from `pending`. */
  private endTag(top: Frame): void {
    const s = this.s;
    const cStart = this.pos;
    this.pos += 2;
    const name = this.name('an element name after "</"');
    this.skipWs();
    if (s[this.pos] !== '>') this.fail(this.pos, `expected '>' closing </${escaped(name)} but found ${this.found(this.pos)}`);
    this.pos++;
    if (name !== top.el.tag) {
      this.fail(
        cStart,
        `closing tag </${escaped(name)}> does not match <${escaped(top.el.tag)}> opened at line ${top.el.line}, column ${top.el.column}`,
      );
    }
    this.close(top);
  }

  /**
   * Gives `top` its children from `pending`, in an array of exactly their number (one grown by
   * push keeps 16+ slots); a text-only element gets its text itself. White space between child
   * elements is dropped: it is layout (the writer re-indents), and there is much of it.
   */
  private close(top: Frame): void {
    const p = this.pending;
    const mark = top.mark;
    if (p.length === mark) return;
    const only = p[mark]!;
    if (p.length === mark + 1 && isText(only)) {
      p.pop();
      top.el.children = only.text;
      return;
    }
    let kept = p.length;
    if (hasElement(p, mark)) {
      kept = mark;
      for (let i = mark; i < p.length; i++) if (!isBlank(p[i]!)) p[kept++] = p[i]!;
    }
    p.length = kept;
    top.el.children = p.splice(mark);
  }

  /** A start tag at pos: the element (children to come), and the namespace scope inside it. */
  private startTag(scope: Map<string, string> | undefined): { el: XmlEl; selfClosing: boolean; innerScope: Map<string, string> | undefined } {
    const start = this.pos;
    if (++this.elementCount > this.lim.maxElements) {
      this.fail(start, `more than ${this.lim.maxElements} elements: the limit for one document`);
    }
    const pos = this.where(start);
    this.pos++;
    const tag = this.name('an element name');
    const { attrs, count, selfClosing } = this.attributes(tag);
    const inner = count ? withDeclarations(scope, attrs) : scope;
    const colon = tag.indexOf(':');
    const prefix = colon < 0 ? '' : tag.slice(0, colon);
    const ns = prefix === 'xml' ? XML_NS : inner?.get(prefix) || undefined;
    if (count > 1 && inner) this.sameExpandedNames(attrs, inner, start, tag);
    return { el: new XmlEl(tag, attrs, ns, this.file, pos.line, pos.column), selfClosing, innerScope: inner };
  }

  /** The attributes of a start tag, up to its '>' or '/>' (counted against the limits). */
  private attributes(tag: string): { attrs: Record<string, string>; count: number; selfClosing: boolean } {
    const s = this.s;
    let attrs = NO_ATTRS;
    let count = 0;
    for (;;) {
      const ws = this.skipWs();
      if (s[this.pos] === '>' || s.startsWith('/>', this.pos)) {
        const selfClosing = s[this.pos] === '/';
        this.pos += selfClosing ? 2 : 1;
        return { attrs, count, selfClosing };
      }
      if (!ws) this.fail(this.pos, `expected whitespace, '>' or '/>' in <${escaped(tag)}> but found ${this.found(this.pos)}`);
      const aStart = this.pos;
      if (++count > this.lim.maxAttributes) this.fail(aStart, `<${escaped(tag)}> has more than ${this.lim.maxAttributes} attributes`);
      if (++this.attributeCount > this.lim.maxTotalAttributes) {
        this.fail(aStart, `more than ${this.lim.maxTotalAttributes} attributes: the limit for one document`);
      }
      const [aname, v] = this.attribute(tag);
      if (attrs === NO_ATTRS) attrs = {};
      else if (Object.hasOwn(attrs, aname)) this.fail(aStart, `attribute ${escaped(aname)} appears twice in <${escaped(tag)}>`);
      setOwn(attrs, aname, v);
    }
  }

  /** `name = "value"` at pos: the name and the value, normalized (§3.3.3) and expanded. */
  private attribute(tag: string): [string, string] {
    const s = this.s;
    const aname = this.name('an attribute name');
    this.skipWs();
    if (s[this.pos] !== '=') this.fail(this.pos, `expected '=' after attribute ${escaped(aname)} but found ${this.found(this.pos)}`);
    this.pos++;
    this.skipWs();
    const q = this.quoted(() => `value of attribute ${escaped(aname)} of <${escaped(tag)}>`, this.lim.maxAttributeLength);
    const lt = q.value.indexOf('<');
    if (lt >= 0) this.fail(q.start + lt, `'<' is not allowed in attribute values (write &lt;)`);
    // Attribute-value normalization (XML 1.0 §3.3.3): literal tabs/newlines become spaces.
    const raw = q.value.includes('\t') || q.value.includes('\n') ? q.value.replace(/[\t\n]/g, ' ') : q.value;
    const v = this.decodeRefs(raw, q.start);
    if (v.length > this.lim.maxAttributeLength) {
      this.fail(q.start, `value of attribute ${escaped(aname)} is ${v.length} characters long once expanded: the limit is ${this.lim.maxAttributeLength}`);
    }
    return [aname, this.shared(v)];
  }

  /**
   * Namespaces in XML §6.3: two attributes with prefixes bound to the same URI and the same
   * local name are one attribute twice (`a:x` and `b:x`, a and b both urn:u).
   */
  private sameExpandedNames(attrs: Record<string, string>, scope: Map<string, string>, start: number, tag: string): void {
    const seen = new Map<string, string>();
    for (const k of Object.keys(attrs)) {
      const colon = k.indexOf(':');
      if (colon < 0 || k.startsWith('xmlns:')) continue;
      const uri = k.startsWith('xml:') ? XML_NS : scope.get(k.slice(0, colon));
      if (uri === undefined) continue;
      const expanded = `{${uri}}${k.slice(colon + 1)}`;
      const first = seen.get(expanded);
      if (first !== undefined) {
        this.fail(start, `attributes ${escaped(first)} and ${escaped(k)} of <${escaped(tag)}> are the same attribute (${quote(uri)} namespace) twice`);
      }
      seen.set(expanded, k);
    }
  }
}

/** The namespace scope inside an element: `scope` with its xmlns / xmlns:p declarations (a copy only when it has some). */
function withDeclarations(scope: Map<string, string> | undefined, attrs: Record<string, string>): Map<string, string> | undefined {
  let inner: Map<string, string> | undefined;
  for (const [k, v] of Object.entries(attrs)) {
    if (k !== 'xmlns' && !k.startsWith('xmlns:')) continue;
    inner ??= new Map(scope);
    inner.set(k === 'xmlns' ? '' : k.slice(6), v);
  }
  return inner ?? scope;
}

/** Whether xs[from..] holds an element (a loop from `from`: pending holds every open ancestor's children too). */
function hasElement(xs: XmlChild[], from: number): boolean {
  for (let i = from; i < xs.length; i++) if (xs[i] instanceof XmlEl) return true;
  return false;
}

function isBlank(c: XmlChild): boolean {
  return isText(c) && /^[ \t\n]*$/.test(c.text);
}

/** obj[key] = value, also for a key named __proto__ (an attribute may be called that). */
export function setOwn(obj: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
