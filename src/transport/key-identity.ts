// What makes two SSH public keys the same key. Comparing blobs byte for byte is not enough: one
// ECDSA key has a compressed and an uncompressed encoding, an RSA modulus can carry leading
// zero bytes, and bytes can trail the last field, while the server still proves it holds the
// key. A host holding a @revoked key could then present it in another encoding and pass for
// an unknown one. So keys are compared by their parsed value, as OpenSSH's sshkey_equal does.
import { ECDH } from 'node:crypto';

/** Reads the SSH wire format's length-prefixed strings from a blob. */
class WireReader {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  /** The next string, or undefined when the blob ends inside it. */
  string(): Buffer | undefined {
    if (this.pos + 4 > this.buf.length) return undefined;
    const len = this.buf.readUInt32BE(this.pos);
    if (this.pos + 4 + len > this.buf.length) return undefined;
    const s = this.buf.subarray(this.pos + 4, this.pos + 4 + len);
    this.pos += 4 + len;
    return s;
  }
}

const ECDSA_CURVES: Record<string, string> = {
  nistp256: 'prime256v1',
  nistp384: 'secp384r1',
  nistp521: 'secp521r1',
};

/** An mpint without the leading zero bytes that do not change its value. */
function minimalInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

/** The parsed parts that identify a key of a known type, or undefined. */
function keyParts(blob: Buffer): Buffer[] | undefined {
  const r = new WireReader(blob);
  const type = r.string()?.toString('latin1');
  if (type === 'ssh-ed25519') {
    const k = r.string();
    return k && [Buffer.from(type), k];
  }
  if (type === 'ssh-rsa') {
    const e = r.string();
    const n = r.string();
    return e && n && [Buffer.from(type), minimalInt(e), minimalInt(n)];
  }
  if (type?.startsWith('ecdsa-sha2-')) {
    const curveName = r.string()?.toString('latin1');
    const q = r.string();
    const curve = ECDSA_CURVES[curveName ?? ''];
    if (!curve || !q || curveName !== type.slice('ecdsa-sha2-'.length)) return undefined;
    try {
      return [Buffer.from(type), ECDH.convertKey(q, curve, undefined, undefined, 'uncompressed') as Buffer];
    } catch {
      return undefined; // not a point on the curve
    }
  }
  return undefined;
}

/**
 * A canonical form of a public key blob: equal for two encodings of the same key. Keys of types
 * it does not parse (or malformed ones) are identified by their whole blob.
 */
export function keyIdentity(blob: Buffer): string {
  const parts = keyParts(blob);
  if (!parts) return 'blob:' + blob.toString('base64');
  return parts.map((p) => p.toString('base64')).join(':');
}

/** Whether two public key blobs are the same key. */
export function sameKey(a: Buffer, b: Buffer): boolean {
  return a.equals(b) || keyIdentity(a) === keyIdentity(b);
}
