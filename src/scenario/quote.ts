// Showing input text inside a message. Messages go to terminals, logs and JSON readers: text
// from a file must not reach them raw. `quote` is JSON.stringify (which escapes C0 controls and
// quotes) that also escapes what JSON leaves as is but a terminal acts on or hides: C1 controls
// (U+0080-U+009F: some terminals take U+009B as CSI), DEL, the Unicode bidi controls
// (U+202A-U+202E, U+2066-U+2069, U+061C, U+200E/U+200F: they reorder the rest of the line, the
// "Trojan Source" trick), zero-width and other invisible format characters (the tag characters
// U+E0000-U+E007F too), line and paragraph separators, byte-order marks and lone surrogates. It also cuts long text: a 15 MB attribute
// value must not become a 15 MB message.

/** Characters escaped on top of JSON's escapes (the `u` flag matches lone surrogates as such). */
const UNSAFE = /[\u007F-\u009F\u00AD\u061C\u180E\u200B-\u200F\u2028-\u202E\u2060-\u206F\uFEFF\uFFF9-\uFFFB\u{E0000}-\u{E007F}]|\p{Cs}/gu;

/** Longest text shown by default (characters); the rest is replaced by "…". */
export const MAX_SHOWN = 80;

/** `\uXXXX` for each UTF-16 code unit of `c` (two for a tag character). */
function escapeUnit(c: string): string {
  let out = '';
  for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}`;
  return out;
}

/** `text` as a double-quoted string safe to print, at most `max` characters of it. */
export function quote(text: string, max = MAX_SHOWN): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return JSON.stringify(cut).replace(UNSAFE, escapeUnit);
}

/** `text` safe to print without quotes (names the reader already checked, for instance). */
export function escaped(text: string, max = MAX_SHOWN): string {
  return quote(text, max).slice(1, -1);
}

/** U+XXXX, as messages name one character. */
export function codePoint(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}
