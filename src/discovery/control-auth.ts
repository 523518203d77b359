// Signed SOAP control for the actions that change a VM (Start, Stop, Suspend, Resume).
// Anyone on the management network can reach a hypervisor daemon, so a daemon given discovery
// keys (by the controllers, in their serve requests) runs those actions only for requests that
// carry an HMAC-SHA256 made with one of them:
//
//   X-Ediv-Signature: v1; t=<unix ms>; n=<nonce, 32 hex>; s=<hmac, 64 hex>
//   hmac over "ediv-control-v1\n<control URL>\n<serviceType>#<action>\n<VM UDN>\n<t>\n<n>\n<sha256 of the body>"
//
// The URL and the VM UDN bind a signature to one VM on one daemon: a rogue device that is
// sent one cannot use it on the real daemon. Requests older (or newer) than WINDOW_MS are
// refused, and so is a nonce seen before (a replay). Read-only GetStatus needs no signature.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { UpnpError, UPNP_ERRORS } from './types.ts';

export const SIGNATURE_HEADER = 'x-ediv-signature';
/** How far a request's time may be from the daemon's clock (either way). */
export const WINDOW_MS = 30_000;
/** Nonces remembered at most (only key holders can add any); beyond that signed calls wait. */
const MAX_NONCES = 10_000;
/** The key: 32 random bytes, written as 64 hex digits in files and in the serve request. */
export const KEY_HEX = /^[0-9a-f]{64}$/;
/**
 * Keys a host keeps at most: one per controller that deployed there (a cluster shared by
 * several controllers, issue 14), the ones handed over least recently dropped first.
 */
export const MAX_KEYS = 64;

/** What a signature covers. */
export interface SignedCall {
  /** The absolute control URL posted to. */
  url: string;
  serviceType: string;
  action: string;
  /** UDN of the VM (device) the control URL belongs to. */
  udn: string;
  body: string;
}

export function parseKey(hex: string): Buffer {
  const h = hex.trim();
  if (!KEY_HEX.test(h)) throw new Error('a discovery key is 64 hex digits');
  return Buffer.from(h, 'hex');
}

export function newKeyHex(): string {
  return randomBytes(32).toString('hex');
}

/** The text a signature is the HMAC of. */
function signedText(c: SignedCall, t: number, nonce: string): string {
  const bodyHash = createHash('sha256').update(c.body, 'utf8').digest('hex');
  return ['ediv-control-v1', new URL(c.url).toString(), `${c.serviceType}#${c.action}`, c.udn, String(t), nonce, bodyHash].join('\n');
}

const hmac = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text, 'utf8').digest();

/** The signature header value for a call. */
export function signCall(key: Buffer, c: SignedCall, now = Date.now(), nonce = randomBytes(16).toString('hex')): string {
  return `v1; t=${now}; n=${nonce}; s=${hmac(key, signedText(c, now, nonce)).toString('hex')}`;
}

const HEADER_RE = /^v1; t=(\d{1,15}); n=([0-9a-f]{32}); s=([0-9a-f]{64})$/;

const refused = (why: string) => new UpnpError(UPNP_ERRORS.notAuthorized, `Action not authorized: ${why}`);

/**
 * The daemon side: checks signatures with the keys it has now — a signature made with any of
 * them passes (none: control stays open, as before keys existed) — and remembers nonces for
 * twice the window (a replay after that is refused by its time anyway), one cache whatever the
 * key. Map order is arrival order, so forgetting is from the front.
 */
export class ControlVerifier {
  private readonly keys: () => Buffer | readonly Buffer[] | undefined;
  private readonly now: () => number;
  private readonly nonces = new Map<string, number>();

  constructor(keys: () => Buffer | readonly Buffer[] | undefined, now: () => number = Date.now) {
    this.keys = keys;
    this.now = now;
  }

  /** Throws UpnpError 606 unless the header is a fresh, valid signature of the call. */
  verify(header: string | undefined, c: SignedCall): void {
    const got = this.keys();
    const keys = got === undefined ? [] : Buffer.isBuffer(got) ? [got] : got;
    if (keys.length === 0) return;
    if (!header) throw refused(`this hypervisor runs ${c.action} only when signed with the discovery key of a controller that deployed here (${SIGNATURE_HEADER} header)`);
    const m = HEADER_RE.exec(header.trim());
    if (!m) throw refused(`malformed ${SIGNATURE_HEADER} header`);
    const [, tText, nonce, sig] = m as unknown as [string, string, string, string];
    const t = Number(tText);
    const now = this.now();
    if (Math.abs(now - t) > WINDOW_MS) throw refused(`the signature is ${Math.round((now - t) / 1000)} s off this host's clock (at most ${WINDOW_MS / 1000} s)`);
    const text = signedText(c, t, nonce);
    const given = Buffer.from(sig, 'hex');
    // Every key is tried (no early exit): the time taken says nothing about which one matched.
    let valid = false;
    for (const key of keys) valid = timingSafeEqual(hmac(key, text), given) || valid;
    if (!valid) throw refused('bad signature (a key this host was not given, or signed for another VM, URL or body)');
    this.forgetOld(now);
    if (this.nonces.has(nonce)) throw refused('replayed request (nonce already used)');
    if (this.nonces.size >= MAX_NONCES) throw refused('too many signed requests just now; try again shortly');
    this.nonces.set(nonce, now + 2 * WINDOW_MS);
  }

  private forgetOld(now: number): void {
    for (const [n, until] of this.nonces) {
      if (until > now) return;
      this.nonces.delete(n);
    }
  }
}

/**
 * The keys of a key file's text: one key (64 hex digits) a line, oldest first; blank lines are
 * skipped, a repeated key counts once (at its last place), and only the MAX_KEYS last are kept.
 * A file of the single-key format (one key, one line) is a list of one. Anything else is an
 * error (never echoing the line: it may be most of a key).
 */
export function parseKeyList(text: string, where = 'the key file'): string[] {
  const lines = text.split('\n').map((l) => l.trim());
  lines.forEach((line, i) => {
    if (line !== '' && !KEY_HEX.test(line)) throw new Error(`${where}: line ${i + 1} is not a discovery key (64 hex digits)`);
  });
  const newestFirst = [...new Set(lines.filter((l) => l !== '').reverse())];
  if (newestFirst.length === 0) throw new Error(`${where} holds no discovery key (64 hex digits a line)`);
  return newestFirst.slice(0, MAX_KEYS).reverse();
}

/**
 * `keys` with `hex` as the newest (moved to the end when already there), each key once (at
 * its newest place), at most `max` kept (the oldest dropped).
 */
export function withKey(keys: readonly string[], hex: string, max = MAX_KEYS): string[] {
  return [...new Set([hex, ...[...keys].reverse()])].slice(0, max).reverse();
}

/** The text of a key file holding `keys`. */
export function formatKeyList(keys: readonly string[]): string {
  return keys.map((k) => `${k}\n`).join('');
}

/**
 * The keys in a key file (see parseKeyList), oldest first. The file must be private to its
 * owner: keys others can read are no secret, so the file is refused rather than used.
 */
export function readKeyFile(file: string): Buffer[] {
  const st = fs.statSync(file);
  if ((st.mode & 0o077) !== 0) throw new Error(`${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
  return parseKeyList(fs.readFileSync(file, 'utf8'), file).map((hex) => Buffer.from(hex, 'hex'));
}
