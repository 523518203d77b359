// Text that others wrote, shown on the user's terminal: a host's stderr and error messages, an
// SSH server's disconnect reason, device descriptions and SOAP answers from the management
// network. Whoever wrote it must not be able to drive the terminal (an ESC moves the cursor,
// rewrites earlier lines, retitles the window, writes the clipboard with OSC 52; C1 U+009B is
// CSI on some terminals) or reorder what is seen (bidi controls). So these characters are shown
// as visible \x.. / \u.... escapes. JSON output keeps the values (terminalSafeJson).

/** C0 (but tab and newline), DEL, C1, and the Unicode bidi and line/paragraph separator controls. */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, and newline: one value on one line. */
const UNSAFE_IN_A_LINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The ones JSON.stringify leaves raw. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** A message (it may span lines): every unsafe character but tab and newline written as \xNN / \uNNNN. */
export function printable(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** One value made safe to print on one line: newlines escaped too, and a backslash doubled so the escapes cannot be forged. */
export function terminalSafe(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(UNSAFE_IN_A_LINE, escapeChar);
}

/** A copy of a JSON-like value with every string (values and keys) made terminal-safe. */
export function terminalSafeDeep<T>(value: T): T {
  if (typeof value === 'string') return terminalSafe(value) as T;
  if (Array.isArray(value)) return value.map((v) => terminalSafeDeep(v)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [terminalSafe(k), terminalSafeDeep(v)])) as T;
  }
  return value;
}

/** JSON text of a value with no raw control or bidi character left (it parses back to the same value). */
export function terminalSafeJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
