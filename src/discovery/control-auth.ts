// Signed SOAP control for the actions that change a VM (Start, Stop, Suspend, Resume).
// Anyone on the management network can reach a hypervisor daemon, so a daemon given the
// cluster's discovery key (by the controller, in the serve request) runs those actions only
// for requests that carry an HMAC-SHA256 made with it:
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

function mac(key: Buffer, c: SignedCall, t: number, nonce: string): Buffer {
  const bodyHash = createHash('sha256').update(c.body, 'utf8').digest('hex');
  const text = ['ediv-control-v1', new URL(c.url).toString(), `${c.serviceType}#${c.action}`, c.udn, String(t), nonce, bodyHash].join('\n');
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

/** The signature header value for a call. */
export function signCall(key: Buffer, c: SignedCall, now = Date.now(), nonce = randomBytes(16).toString('hex')): string {
  return `v1; t=${now}; n=${nonce}; s=${mac(key, c, now, nonce).toString('hex')}`;
}

const HEADER_RE = /^v1; t=(\d{1,15}); n=([0-9a-f]{32}); s=([0-9a-f]{64})$/;

const refused = (why: string) => new UpnpError(UPNP_ERRORS.notAuthorized, `Action not authorized: ${why}`);

/**
 * The daemon side: checks signatures with the key it has now (none: control stays open, as
 * before keys existed), and remembers nonces for twice the window (a replay after that is
 * refused by its time anyway). Map order is arrival order, so forgetting is from the front.
 */
export class ControlVerifier {
  private readonly key: () => Buffer | undefined;
  private readonly now: () => number;
  private readonly nonces = new Map<string, number>();

  constructor(key: () => Buffer | undefined, now: () => number = Date.now) {
    this.key = key;
    this.now = now;
  }

  /** Throws UpnpError 606 unless the header is a fresh, valid signature of the call. */
  verify(header: string | undefined, c: SignedCall): void {
    const key = this.key();
    if (!key) return;
    if (!header) throw refused(`this hypervisor runs ${c.action} only when signed with the cluster's discovery key (${SIGNATURE_HEADER} header)`);
    const m = HEADER_RE.exec(header.trim());
    if (!m) throw refused(`malformed ${SIGNATURE_HEADER} header`);
    const [, tText, nonce, sig] = m as unknown as [string, string, string, string];
    const t = Number(tText);
    const now = this.now();
    if (Math.abs(now - t) > WINDOW_MS) throw refused(`the signature is ${Math.round((now - t) / 1000)} s off this host's clock (at most ${WINDOW_MS / 1000} s)`);
    if (!timingSafeEqual(mac(key, c, t, nonce), Buffer.from(sig, 'hex'))) throw refused('bad signature (another key, or signed for another VM, URL or body)');
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
 * The key in a key file (64 hex digits). The file must be private to its owner: a key others
 * can read is no secret, so it is refused rather than used.
 */
export function readKeyFile(file: string): Buffer {
  const st = fs.statSync(file);
  if ((st.mode & 0o077) !== 0) throw new Error(`${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
  return parseKey(fs.readFileSync(file, 'utf8'));
}
