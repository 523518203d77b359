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
//  - refuses binary input (NUL bytes), invalid UTF-8, control characters and oversized input
//    before parsing; reports malformed XML with line and column.
import { InputError, type SourceLocation } from '../common/errors.ts';
import { fileTooLarge, readBoundedFile } from '../common/input-file.ts';

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
}

export const DEFAULT_XML_LIMITS: XmlLimits = {
  maxBytes: 20 * 1024 * 1024,
  maxEntityDepth: 8,
  maxEntityExpansion: 1024 * 1024,
  maxElementDepth: 256,
};

/** One element. `children` keeps elements, text and comments in document order. */
export class XmlEl {
  tag: string;
  attrs: Record<string, string>;
  children: XmlChild[];
  /** Namespace URI of the element (from xmlns / xmlns:prefix in scope), if any. */
  ns: string | undefined;
  file: string;
  line: number;
  column: number;

  constructor(tag: string, attrs: Record<string, string>, ns: string | undefined, file: string, line: number, column: number) {
    this.tag = tag;
    this.attrs = attrs;
    this.children = [];
    this.ns = ns;
    this.file = file;
    this.line = line;
    this.column = column;
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
    let s = '';
    for (const c of this.children) if (isText(c)) s += c.text;
    return s;
  }

  /** Child elements, optionally only those with this tag (or, with a prefix-less name, local name). */
  elements(tag?: string): XmlEl[] {
    const out: XmlEl[] = [];
    for (const c of this.children) {
      if (c instanceof XmlEl && (tag === undefined || c.tag === tag || c.localName === tag)) out.push(c);
    }
    return out;
  }

  /** First child element with this tag (or local name). */
  child(tag: string): XmlEl | undefined {
    for (const c of this.children) if (c instanceof XmlEl && (c.tag === tag || c.localName === tag)) return c;
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
  return readXml(await readBoundedFile(path, lim.maxBytes), path, lim);
}

/** Parses XML text (a string or the raw bytes of a file). Throws InputError on any problem. */
export function readXml(input: string | Uint8Array, file: string, limits: Partial<XmlLimits> = {}): XmlDocument {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  const text = typeof input === 'string' ? checkText(input, file, lim) : decode(input, file, lim);
  return new Parser(text, file, lim).parseDocument();
}

function tooBig(file: string, size: number, max: number): InputError {
  return fileTooLarge(file, size, max);
}

function binary(file: string, offset: number): InputError {
  return InputError.at(file, undefined, undefined, `binary file (NUL byte at offset ${offset}): expected XML text`);
}

/** Bytes → string: refuses binary data and invalid UTF-8; honours a Latin-1 declaration. */
function decode(buf: Uint8Array, file: string, lim: XmlLimits): string {
  if (buf.length > lim.maxBytes) throw tooBig(file, buf.length, lim.maxBytes);
  if ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff)) {
    throw InputError.at(file, undefined, undefined, 'UTF-16 text is not supported: save the file as UTF-8');
  }
  const nul = buf.indexOf(0);
  if (nul >= 0) throw binary(file, nul);
  // The declared encoding, if the file starts with an XML declaration.
  const head = Buffer.from(buf.subarray(0, 200)).toString('latin1');
  const enc = /^(?:\uFEFF|\xEF\xBB\xBF)?<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1]?.toLowerCase();
  const latin = enc !== undefined && /^(iso-8859-1|iso8859-1|latin-?1|l1|windows-1252|cp1252|us-ascii|ascii)$/.test(enc);
  let text: string;
  try {
    text = new TextDecoder(latin ? 'windows-1252' : 'utf-8', { fatal: true }).decode(buf);
  } catch {
    const bad = firstInvalidUtf8(buf);
    throw InputError.at(
      file,
      bad.line,
      bad.column,
      `not valid UTF-8 text (bad byte 0x${bad.byte.toString(16).padStart(2, '0')}): binary file or wrong encoding`,
    );
  }
  return checkText(text, file, lim);
}

function firstInvalidUtf8(buf: Uint8Array): { line: number; column: number; byte: number } {
  let line = 1;
  let col = 1;
  for (let i = 0; i < buf.length; ) {
    const b = buf[i];
    let n = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
    if (n < 0) return { line, column: col, byte: b };
    for (let k = 1; k <= n; k++) if (i + k >= buf.length || (buf[i + k] & 0xc0) !== 0x80) return { line, column: col, byte: b };
    if (b === 0x0a) {
      line++;
      col = 1;
    } else col++;
    i += n + 1;
  }
  return { line, column: col, byte: 0 };
}

/** Checks a decoded string: size, NUL, control characters; normalizes line ends. */
function checkText(text: string, file: string, lim: XmlLimits): string {
  if (text.length > lim.maxBytes) throw tooBig(file, text.length, lim.maxBytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const bad = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/.exec(text);
  if (bad) {
    if (bad[0] === '\0') throw binary(file, bad.index);
    const p = positionOf(text, bad.index);
    const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw InputError.at(file, p.line, p.column, `control character U+${code} is not allowed in XML: binary file?`);
  }
  if (text.trim() === '') throw InputError.at(file, undefined, undefined, 'file is empty: expected an XML document');
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

/** 1-based line and column of a character offset (slow path, for errors). */
function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

// XML 1.0 Name production.
const NAME_START = ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\uD800-\\uDBFF\\uDC00-\\uDFFF';
const NAME_CHAR = NAME_START + '\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040';
const NAME_RE = new RegExp(`[${NAME_START}][${NAME_CHAR}]*`, 'y');
const WS_RE = /[ \t\n]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

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

class Parser {
  private readonly s: string;
  private readonly file: string;
  private readonly lim: XmlLimits;
  private pos = 0;
  // Incremental line tracking: positions asked for are mostly increasing.
  private lineNo = 1;
  private lineStart = 0;
  private scanned = 0;
  private readonly entities = new Map<string, EntityDecl>();
  private readonly expanded = new Map<string, string>();
  private expansionBudget: number;

  constructor(s: string, file: string, lim: XmlLimits) {
    this.s = s;
    this.file = file;
    this.lim = lim;
    this.expansionBudget = lim.maxEntityExpansion;
  }

  // ---- positions and errors -------------------------------------------------------------

  private where(offset: number): { line: number; column: number } {
    if (offset < this.scanned) {
      // Rare: going backwards (errors). Recount from the start.
      return positionOf(this.s, offset);
    }
    const s = this.s;
    for (let i = s.indexOf('\n', this.scanned); i >= 0 && i < offset; i = s.indexOf('\n', i + 1)) {
      this.lineNo++;
      this.lineStart = i + 1;
    }
    this.scanned = offset;
    return { line: this.lineNo, column: offset - this.lineStart + 1 };
  }

  private fail(offset: number, message: string): never {
    const p = offset < this.scanned ? positionOf(this.s, offset) : this.where(offset);
    throw InputError.at(this.file, p.line, p.column, message);
  }

  private found(offset: number): string {
    if (offset >= this.s.length) return 'end of file';
    const c = this.s[offset];
    return c === '\n' ? 'end of line' : JSON.stringify(c);
  }

  // ---- small scanners -------------------------------------------------------------------

  private skipWs(): boolean {
    WS_RE.lastIndex = this.pos;
    WS_RE.test(this.s);
    const moved = WS_RE.lastIndex > this.pos;
    this.pos = WS_RE.lastIndex;
    return moved;
  }

  private name(what: string): string {
    NAME_RE.lastIndex = this.pos;
    const m = NAME_RE.exec(this.s);
    if (!m) this.fail(this.pos, `expected ${what} but found ${this.found(this.pos)}`);
    this.pos = NAME_RE.lastIndex;
    return m[0];
  }

  private expect(str: string, what?: string): void {
    if (!this.s.startsWith(str, this.pos)) {
      this.fail(this.pos, `expected ${what ?? JSON.stringify(str)} but found ${this.found(this.pos)}`);
    }
    this.pos += str.length;
  }

  /** Position just after `end`, searching from pos; fails with `what` when missing. */
  private until(end: string, startOffset: number, what: string): number {
    const i = this.s.indexOf(end, this.pos);
    if (i < 0) this.fail(startOffset, `${what} is never closed (missing ${JSON.stringify(end)})`);
    return i;
  }

  /** A quoted literal; `what` + `name` says what it is in messages. */
  private quoted(what: string, name = ''): { value: string; start: number } {
    const q = this.s[this.pos];
    if (q !== '"' && q !== "'") what += name;
    if (q !== '"' && q !== "'") this.fail(this.pos, `expected a quoted ${what} but found ${this.found(this.pos)}`);
    const start = this.pos + 1;
    const end = this.s.indexOf(q, start);
    if (end < 0) this.fail(this.pos, `${what + name} is never closed (missing ${q})`);
    this.pos = end + 1;
    return { value: this.s.slice(start, end), start };
  }

  // ---- document --------------------------------------------------------------------------

  parseDocument(): XmlDocument {
    const prolog: XmlComment[] = [];
    let doctype: XmlDocument['doctype'];
    const s = this.s;
    if (s.startsWith('<?xml', 0) && /[\s?]/.test(s[5] ?? '')) {
      const end = this.until('?>', 0, 'the XML declaration');
      this.pos = end + 2;
    }
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
      } else if (root) {
        this.fail(this.pos, `a second root element (the document's root is <${root.tag}>, closed before this)`);
      } else {
        root = this.element();
      }
    }
    if (!root) this.fail(this.pos, 'no root element: not an XML document');
    return { file: this.file, root, doctype, prolog };
  }

  private comment(): XmlComment {
    const start = this.pos;
    this.pos += 4;
    const end = this.until('-->', start, 'comment');
    const c = { comment: this.s.slice(this.pos, end) };
    this.pos = end + 3;
    return c;
  }

  private pi(): void {
    const start = this.pos;
    this.pos += 2;
    const target = this.name('a processing-instruction target');
    if (target.toLowerCase() === 'xml') this.fail(start, 'the XML declaration is only allowed at the very start of the file');
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
      this.skipWs();
      return { systemId: this.quoted('system identifier').value };
    }
    if (this.s.startsWith('PUBLIC', this.pos)) {
      this.pos += 6;
      this.skipWs();
      const publicId = this.quoted('public identifier').value;
      this.skipWs();
      return { publicId, systemId: this.quoted('system identifier').value };
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
      } else if (s.startsWith('<!', this.pos)) this.skipDecl();
      else this.fail(this.pos, `unexpected ${this.found(this.pos)} in the DOCTYPE's internal subset`);
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
      this.skipWs();
    }
    const name = this.name('the entity name');
    if (!this.skipWs()) this.fail(this.pos, 'expected whitespace after the entity name');
    const decl: EntityDecl = { name, line: at.line, column: at.column };
    const ext = this.externalId();
    if (ext) {
      decl.systemId = ext.systemId;
      if (ext.publicId !== undefined) decl.publicId = ext.publicId;
      this.skipWs();
      if (this.s.startsWith('NDATA', this.pos)) {
        this.pos += 5;
        this.skipWs();
        decl.notation = this.name('the notation name');
        this.skipWs();
      }
    } else {
      const lit = this.quoted('entity value');
      if (lit.value.includes('%')) {
        const i = lit.value.indexOf('%');
        this.fail(lit.start + i, 'parameter-entity references are not supported in entity values');
      }
      decl.value = this.charRefsOnly(lit.value, lit.start);
      this.skipWs();
    }
    this.expect('>', "'>' closing the entity declaration");
    // Parameter entities are only used inside DTDs, which are never processed; the first
    // declaration of a general entity wins (XML 1.0 §4.2).
    if (!parameter && !this.entities.has(name) && !(name in PREDEFINED)) this.entities.set(name, decl);
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
    if (!ok) this.fail(offset, `character reference &#${ref}; is not a valid XML character`);
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
      if (semi < 0 || !/^(#x[0-9A-Fa-f]+|#[0-9]+|[^\s&;<>"']+)$/.test(ref)) {
        this.fail(offset + i, "'&' must start an entity reference like &amp; (write &amp; for a literal '&')");
      }
      if (ref[0] === '#') out += this.charRef(ref.slice(1), offset + i);
      else out += this.entityText(ref, offset + i, 1);
      last = semi + 1;
    }
    return out + raw.slice(last);
  }

  /** The fully expanded text of a general entity, within the depth and size bounds. */
  private entityText(name: string, offset: number, depth: number): string {
    const pre = PREDEFINED[name];
    if (pre !== undefined) return pre;
    const decl = this.entities.get(name);
    if (!decl) this.fail(offset, `undefined entity &${name};`);
    if (decl.value === undefined) {
      const id = decl.publicId !== undefined ? `PUBLIC "${decl.publicId}" "${decl.systemId}"` : `SYSTEM "${decl.systemId}"`;
      this.fail(
        offset,
        `external entity &${name}; (${id}, declared at line ${decl.line}) refused: ` +
          'ediv never reads external entities; define it inline with <!ENTITY name "value">',
      );
    }
    if (depth > this.lim.maxEntityDepth) {
      this.fail(offset, `entity expansion nested deeper than ${this.lim.maxEntityDepth} levels (&${name};): entity bomb?`);
    }
    let text = this.expanded.get(name);
    if (text === undefined) {
      text = this.expandValue(decl, offset, depth);
      this.expanded.set(name, text);
    }
    this.charge(text.length, offset, name);
    return text;
  }

  private expandValue(decl: EntityDecl, offset: number, depth: number): string {
    const v = decl.value!;
    // Markup in replacement text (elements made by entities) is not supported; '<' written
    // as &lt; in the value is fine (it stays character data).
    if (v.includes('<')) this.fail(offset, `entity &${decl.name}; (declared at line ${decl.line}) contains markup ('<'), which ediv does not expand`);
    let out = '';
    let last = 0;
    for (let i = v.indexOf('&'); i >= 0; i = v.indexOf('&', last)) {
      out += v.slice(last, i);
      const semi = v.indexOf(';', i);
      const ref = semi > i ? v.slice(i + 1, semi) : '';
      if (semi < 0 || !/^[^\s&;<>"'#]+$/.test(ref)) {
        this.fail(offset, `entity &${decl.name}; (declared at line ${decl.line}) contains a bad '&'`);
      }
      if (ref === decl.name) this.fail(offset, `entity &${decl.name}; refers to itself`);
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
        `entity expansion of &${name}; exceeds the limit of ${this.lim.maxEntityExpansion} characters: entity bomb?`,
      );
    }
  }

  // ---- elements --------------------------------------------------------------------------

  private element(): XmlEl {
    // Iterative (explicit stack) so deep nesting cannot overflow the JS stack.
    const s = this.s;
    const stack: { el: XmlEl; nsScope: Map<string, string> | undefined; start: number }[] = [];
    let nsScope: Map<string, string> | undefined;
    let root: XmlEl | undefined;
    for (;;) {
      // At '<' of a start tag.
      const start = this.pos;
      const pos = this.where(start);
      this.pos++;
      const tag = this.name('an element name');
      const attrs: Record<string, string> = {};
      let scope = nsScope;
      let selfClosing = false;
      for (;;) {
        const ws = this.skipWs();
        const c = s[this.pos];
        if (c === '>') {
          this.pos++;
          break;
        }
        if (c === '/' && s[this.pos + 1] === '>') {
          this.pos += 2;
          selfClosing = true;
          break;
        }
        if (!ws) this.fail(this.pos, `expected whitespace, '>' or '/>' in <${tag}> but found ${this.found(this.pos)}`);
        const aStart = this.pos;
        const aname = this.name('an attribute name');
        this.skipWs();
        if (s[this.pos] !== '=') this.fail(this.pos, `expected '=' after attribute ${aname} but found ${this.found(this.pos)}`);
        this.pos++;
        this.skipWs();
        const q = this.quoted('value of attribute ', aname);
        const lt = q.value.indexOf('<');
        if (lt >= 0) this.fail(q.start + lt, `'<' is not allowed in attribute values (write &lt;)`);
        if (Object.hasOwn(attrs, aname)) this.fail(aStart, `attribute ${aname} appears twice in <${tag}>`);
        // Attribute-value normalization (XML 1.0 §3.3.3): literal tabs/newlines become spaces.
        const raw = q.value.includes('\t') || q.value.includes('\n') ? q.value.replace(/[\t\n]/g, ' ') : q.value;
        const v = this.decodeRefs(raw, q.start);
        setOwn(attrs, aname, v);
        if (aname === 'xmlns' || aname.startsWith('xmlns:')) {
          const next = scope === nsScope || !scope ? new Map(nsScope) : scope;
          next.set(aname === 'xmlns' ? '' : aname.slice(6), v);
          scope = next;
        }
      }
      const colon = tag.indexOf(':');
      const prefix = colon < 0 ? '' : tag.slice(0, colon);
      const ns = prefix === 'xml' ? XML_NS : scope?.get(prefix) || undefined;
      const el = new XmlEl(tag, attrs, ns, this.file, pos.line, pos.column);
      if (stack.length) stack[stack.length - 1].el.children.push(el);
      else root = el;
      if (!selfClosing) {
        if (stack.length >= this.lim.maxElementDepth) this.fail(start, `elements nested deeper than ${this.lim.maxElementDepth} levels`);
        stack.push({ el, nsScope, start });
        nsScope = scope;
      } else if (!stack.length) {
        return el;
      }
      // Content until the next start tag (loop again) or until the stack empties.
      for (;;) {
        const top = stack[stack.length - 1];
        const lt = s.indexOf('<', this.pos);
        if (lt < 0) {
          this.fail(top.start, `<${top.el.tag}> is never closed (missing </${top.el.tag}>)`);
        }
        if (lt > this.pos) {
          const raw = s.slice(this.pos, lt);
          top.el.children.push({ text: this.decodeRefs(raw, this.pos) });
          this.pos = lt;
        }
        if (s[lt + 1] === '/') {
          const cStart = lt;
          this.pos = lt + 2;
          const name = this.name('an element name after "</"');
          this.skipWs();
          if (s[this.pos] !== '>') this.fail(this.pos, `expected '>' closing </${name} but found ${this.found(this.pos)}`);
          this.pos++;
          if (name !== top.el.tag) {
            this.fail(
              cStart,
              `closing tag </${name}> does not match <${top.el.tag}> opened at line ${top.el.line}, column ${top.el.column}`,
            );
          }
          stack.pop();
          nsScope = top.nsScope;
          if (!stack.length) return root!;
        } else if (s.startsWith('<!--', lt)) {
          top.el.children.push(this.comment());
        } else if (s.startsWith('<![CDATA[', lt)) {
          this.pos = lt + 9;
          const end = this.until(']]>', lt, 'CDATA section');
          top.el.children.push({ text: s.slice(this.pos, end) });
          this.pos = end + 3;
        } else if (s.startsWith('<?', lt)) {
          this.pi();
        } else if (s.startsWith('<!', lt)) {
          this.fail(lt, `unexpected ${JSON.stringify(s.slice(lt, lt + 9))} inside <${top.el.tag}>`);
        } else {
          break; // a child start tag
        }
      }
    }
  }
}

function setOwn(obj: Record<string, string>, key: string, value: string): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
