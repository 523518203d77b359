// From the bytes of an XML file to the text the parser reads, refusing what is not text ediv
// can read, at the byte at fault (line and column as in the decoded text):
//   - UTF-16 and UTF-32 (told apart by the byte-order mark, or without one by where the zero
//     bytes of "<" fall): named as such and refused, rather than called "binary";
//   - NUL bytes (binary files);
//   - the encoding the XML declaration names: UTF-8 (the default), ISO-8859-1 / windows-1252
//     (decoded as windows-1252, the WHATWG reading of both) and US-ASCII; any other name, a
//     UTF-16/32 name on bytes that are not, or a UTF-8 byte-order mark with another name is
//     refused at the declaration;
//   - invalid UTF-8, saying what is wrong: a stray continuation byte, an incomplete sequence,
//     an overlong form, an encoded UTF-16 surrogate, a code point above U+10FFFF;
// then checkText: characters XML does not allow (C0 controls, U+FFFE/U+FFFF, lone surrogates in
// a string given directly) and a byte-order mark anywhere but at the start (two files joined).
import { InputError } from '../common/errors.ts';
import { fileTooLarge } from '../common/input-file.ts';
import { codePoint, quote } from './quote.ts';

/** 1-based line and column; columns count UTF-16 code units, as the parser does. */
export interface Position {
  line: number;
  column: number;
}

/** 1-based line and column of a character offset of `text` (for errors: a linear scan). */
export function positionOf(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

function refuse(file: string, at: Position | undefined, message: string): InputError {
  return InputError.at(file, at?.line, at?.column, message);
}

// ---- UTF-16 / UTF-32 ---------------------------------------------------------------------

/** The UTF-16/32 form the first bytes show, if any (BOM first; else the zero bytes around '<'). */
export function wideEncoding(b: Uint8Array): string | undefined {
  const [b0, b1, b2, b3] = [b[0], b[1], b[2], b[3]];
  if (b0 === 0x00 && b1 === 0x00 && b2 === 0xfe && b3 === 0xff) return 'UTF-32 (big-endian, with a byte-order mark)';
  if (b0 === 0xff && b1 === 0xfe && b2 === 0x00 && b3 === 0x00) return 'UTF-32 (little-endian, with a byte-order mark)';
  if (b0 === 0xfe && b1 === 0xff) return 'UTF-16 (big-endian, with a byte-order mark)';
  if (b0 === 0xff && b1 === 0xfe) return 'UTF-16 (little-endian, with a byte-order mark)';
  if (b.length < 4) return undefined;
  // Without a BOM an XML file starts with '<' or white space (XML 1.0 appendix F): where the
  // zero bytes of that character fall says the form.
  if (b0 === 0 && b1 === 0 && b2 === 0 && startsXml(b3)) return 'UTF-32 (big-endian, without a byte-order mark)';
  if (startsXml(b0) && b1 === 0 && b2 === 0 && b3 === 0) return 'UTF-32 (little-endian, without a byte-order mark)';
  if (b0 === 0 && startsXml(b1) && b2 === 0 && b3 !== 0) return 'UTF-16 (big-endian, without a byte-order mark)';
  if (startsXml(b0) && b1 === 0 && b2 !== 0 && b3 === 0) return 'UTF-16 (little-endian, without a byte-order mark)';
  return undefined;
}

/** '<' or XML white space: what the first character of an XML file is. */
function startsXml(x: number | undefined): boolean {
  return x === 0x3c || x === 0x20 || x === 0x09 || x === 0x0a || x === 0x0d;
}

// ---- positions in bytes --------------------------------------------------------------------

/**
 * Line and column of byte `offset` of (mostly) UTF-8 bytes, counting as the decoded text would:
 * a 4-byte sequence is two UTF-16 code units, anything else one; a UTF-8 BOM is not a column.
 */
export function bytePosition(b: Uint8Array, offset: number): Position {
  const start = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  const nl = offset > 0 ? b.lastIndexOf(0x0a, offset - 1) : -1;
  let line = 1;
  for (let i = b.indexOf(0x0a); i >= 0 && i < offset; i = b.indexOf(0x0a, i + 1)) line++;
  let column = 1;
  for (let i = Math.max(nl + 1, start); i < offset; i++) {
    const x = b[i]!;
    if ((x & 0xc0) !== 0x80) column += x >= 0xf0 ? 2 : 1;
  }
  return { line, column };
}

// ---- UTF-8 ---------------------------------------------------------------------------------

export interface Utf8Problem {
  offset: number;
  /** What is wrong, for the message ("an overlong form of U+002F", ...). */
  kind: string;
  /** The bytes at fault, as hex. */
  bytes: string;
}

const hex = (x: number) => `0x${x.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * The first invalid UTF-8 sequence of `b`, classified (RFC 3629), or undefined. Run only when
 * the fast native decoder has already refused the bytes.
 */
export function utf8Problem(b: Uint8Array): Utf8Problem | undefined {
  for (let i = 0; i < b.length; ) {
    const x = b[i]!;
    if (x < 0x80) {
      i++;
      continue;
    }
    const p = sequenceProblem(b, i);
    if (p) return p;
    i += x >= 0xf0 ? 4 : x >= 0xe0 ? 3 : 2;
  }
  return undefined;
}

/** What is wrong with the multi-byte sequence starting at `i`, if anything. */
function sequenceProblem(b: Uint8Array, i: number): Utf8Problem | undefined {
  const x = b[i]!;
  const at = (kind: string, n: number): Utf8Problem => ({ offset: i, kind, bytes: [...b.subarray(i, i + n)].map(hex).join(' ') });
  if (x < 0xc0) return at('a continuation byte with no lead byte before it', 1);
  if (x >= 0xf8) return at(`byte ${hex(x)}, which UTF-8 never uses`, 1);
  const n = x >= 0xf0 ? 4 : x >= 0xe0 ? 3 : 2;
  for (let k = 1; k < n; k++) {
    if (i + k >= b.length || (b[i + k]! & 0xc0) !== 0x80) return at(`an incomplete ${n}-byte sequence`, k);
  }
  const cp = n === 2 ? ((x & 0x1f) << 6) | (b[i + 1]! & 0x3f)
    : n === 3 ? ((x & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f)
    : ((x & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
  const shortest = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  if (shortest < n) return at(`an overlong (${n}-byte) form of ${codePoint(cp)}`, n);
  if (cp >= 0xd800 && cp <= 0xdfff) return at(`the UTF-16 surrogate ${codePoint(cp)}, which is not a character (CESU-8 or WTF-8 text?)`, n);
  if (cp > 0x10ffff) return at(`code point ${codePoint(cp)}, above U+10FFFF (the last Unicode character)`, n);
  return undefined;
}

// ---- the declared encoding -------------------------------------------------------------------

type Decoding = 'utf-8' | 'windows-1252' | 'ascii';

const UTF8_NAMES = /^(utf-?8)$/i;
const LATIN_NAMES = /^(iso[-_]?8859-1|iso_8859-1:1987|latin-?1|l1|cp819|ibm819|windows-1252|cp1252|x-cp1252)$/i;
const ASCII_NAMES = /^(us-ascii|ascii|iso646-us|ansi_x3\.4-1968)$/i;
const WIDE_NAMES = /^(utf-?16(le|be)?|utf-?32(le|be)?|ucs-?2|ucs-?4|iso-10646-ucs-[24])$/i;

/** The XML declaration's encoding value and where it starts (byte offset), if it has one. */
function declaredEncoding(b: Uint8Array, start: number): { name: string; offset: number } | undefined {
  // The declaration is ASCII, in the first bytes: read a bounded head as Latin-1.
  const head = Buffer.from(b.buffer, b.byteOffset + start, Math.min(b.length - start, 512)).toString('latin1');
  if (!/^<\?xml[ \t\r\n]/.test(head)) return undefined;
  const end = head.indexOf('?>');
  const m = /[ \t\r\n]encoding[ \t\r\n]*=[ \t\r\n]*(["'])([^"'?]*)\1/.exec(end < 0 ? head : head.slice(0, end));
  if (!m) return undefined;
  return { name: m[2]!, offset: start + m.index + m[0].indexOf(m[1]!) + 1 };
}

/** How to decode the bytes, from the declaration; refuses names ediv cannot read. */
function decodingOf(b: Uint8Array, file: string): Decoding {
  const bom = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
  const decl = declaredEncoding(b, bom ? 3 : 0);
  if (!decl || UTF8_NAMES.test(decl.name)) return 'utf-8';
  const at = bytePosition(b, decl.offset);
  const shown = quote(decl.name, 40);
  if (bom) {
    throw refuse(file, at, `the file starts with a UTF-8 byte-order mark but declares encoding=${shown}: make the declaration say UTF-8 (or drop it)`);
  }
  if (LATIN_NAMES.test(decl.name)) return 'windows-1252';
  if (ASCII_NAMES.test(decl.name)) return 'ascii';
  if (WIDE_NAMES.test(decl.name)) {
    throw refuse(file, at, `the XML declaration says encoding=${shown}, but the file is not in that encoding (its bytes read as ASCII): make the declaration say UTF-8`);
  }
  throw refuse(file, at, `encoding ${shown} is not supported: ediv reads UTF-8, ISO-8859-1 (windows-1252) and US-ASCII; convert the file to UTF-8`);
}

// ---- bytes → text ---------------------------------------------------------------------------

/** The text of an XML file's bytes (the limit is in bytes); throws InputError at the byte at fault. */
export function decodeXmlBytes(b: Uint8Array, file: string, maxBytes: number): string {
  if (b.length > maxBytes) throw fileTooLarge(file, b.length, maxBytes);
  const wide = wideEncoding(b);
  if (wide) {
    throw refuse(file, { line: 1, column: 1 }, `the file is ${wide}: ediv reads UTF-8 (or ISO-8859-1) only; save it as UTF-8`);
  }
  const nul = b.indexOf(0);
  if (nul >= 0) throw refuse(file, bytePosition(b, nul), `binary file (NUL byte at offset ${nul}): expected XML text`);
  const decoding = decodingOf(b, file);
  if (decoding === 'ascii') {
    const high = b.findIndex((x) => x >= 0x80);
    if (high >= 0) {
      throw refuse(file, bytePosition(b, high), `byte ${hex(b[high]!)} is not ASCII, but the file declares encoding US-ASCII: fix the declaration (UTF-8?)`);
    }
  }
  try {
    // ignoreBOM: the BOM stays in the text, where checkText drops exactly one.
    return new TextDecoder(decoding === 'windows-1252' ? 'windows-1252' : 'utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    const p = utf8Problem(b);
    const offset = p?.offset ?? b.length;
    const what = p ? `${p.kind} (bytes ${p.bytes}, at byte offset ${offset})` : 'undecodable bytes';
    throw refuse(file, bytePosition(b, offset), `not valid UTF-8: ${what}; save the file as UTF-8, or declare its encoding`);
  }
}

/** Characters XML 1.0 does not allow (§2.2), and a byte-order mark after the start. */
const NOT_ALLOWED = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFEFF\uFFFE\uFFFF]|\p{Cs}/u;

/**
 * A decoded text checked and normalized: the size, a leading BOM dropped, characters XML does not
 * allow refused (at their line and column), line ends normalized to "\n" (§2.11).
 */
export function checkText(text: string, file: string, maxChars: number): string {
  if (text.length > maxChars) throw fileTooLarge(file, text.length, maxChars);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const bad = NOT_ALLOWED.exec(text);
  if (bad) throw notAllowed(text, bad.index, file);
  if (text.trim() === '') throw refuse(file, undefined, 'file is empty: expected an XML document');
  return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
}

function notAllowed(text: string, index: number, file: string): InputError {
  const c = text.charCodeAt(index);
  // The position is that of the text as given (a CR counts as a character until normalized).
  const at = positionOf(text, index);
  if (c === 0) return refuse(file, at, `binary file (NUL character at offset ${index}): expected XML text`);
  if (c === 0xfeff) return refuse(file, at, 'a byte-order mark (U+FEFF) in the middle of the file (two files joined together?): remove it');
  if (c >= 0xd800 && c <= 0xdfff) return refuse(file, at, `a lone UTF-16 surrogate ${codePoint(c)} is not a character: the text was cut or badly converted`);
  return refuse(file, at, `control character ${codePoint(c)} is not allowed in XML: binary file?`);
}
