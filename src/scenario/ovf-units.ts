// OVF allocation units (DSP0004 programmatic units, as real files spell them) → bytes.
// Tolerant on purpose: VMware writes "byte * 2^20", VirtualBox "MegaBytes", the DMTF examples
// "byte*2^30"; others write "MB", "GB", "KiloBytes", "byte * 1024". A missing unit means MB.

const NAMED: Record<string, number> = {
  b: 1,
  byte: 1,
  bytes: 1,
  octet: 1,
  octets: 1,
  kb: 2 ** 10,
  kib: 2 ** 10,
  kbyte: 2 ** 10,
  kbytes: 2 ** 10,
  kilobyte: 2 ** 10,
  kilobytes: 2 ** 10,
  kibibyte: 2 ** 10,
  kibibytes: 2 ** 10,
  mb: 2 ** 20,
  mib: 2 ** 20,
  mbyte: 2 ** 20,
  mbytes: 2 ** 20,
  megabyte: 2 ** 20,
  megabytes: 2 ** 20,
  mebibyte: 2 ** 20,
  mebibytes: 2 ** 20,
  gb: 2 ** 30,
  gib: 2 ** 30,
  gbyte: 2 ** 30,
  gbytes: 2 ** 30,
  gigabyte: 2 ** 30,
  gigabytes: 2 ** 30,
  gibibyte: 2 ** 30,
  gibibytes: 2 ** 30,
  tb: 2 ** 40,
  tib: 2 ** 40,
  terabyte: 2 ** 40,
  terabytes: 2 ** 40,
  tebibyte: 2 ** 40,
  tebibytes: 2 ** 40,
};

export const UNIT_FORMS = '"byte * 2^20", "byte*2^30", "byte * 1024", "MegaBytes", "MB", "GB", "KiloBytes", ...';

/** One factor of a unit product: a named byte unit, "B^E" or a plain integer. */
function factor(token: string): number | undefined {
  if (Object.hasOwn(NAMED, token)) return NAMED[token];
  const pow = /^(\d+)\^(\d+)$/.exec(token);
  if (pow) return Number(pow[1]) ** Number(pow[2]);
  if (/^\d+$/.test(token)) return Number(token);
  return undefined;
}

/**
 * Bytes per unit of a memory/storage allocation-units string, or undefined when it is not a
 * byte unit. Case and whitespace do not matter; `undefined`/empty input means MB.
 */
export function bytesPerUnit(units: string | undefined): number | undefined {
  const text = (units ?? '').replace(/\s+/g, '').toLowerCase();
  if (text === '') return 2 ** 20;
  const tokens = text.split('*');
  // Exactly one token names the byte unit; the others are multipliers.
  if (tokens.filter((t) => Object.hasOwn(NAMED, t)).length !== 1) return undefined;
  let result = 1;
  for (const t of tokens) {
    const f = factor(t);
    if (f === undefined || !Number.isFinite(f) || f <= 0) return undefined;
    result *= f;
  }
  return Number.isSafeInteger(result) ? result : undefined;
}

/** Memory in whole MB (rounded up) for a VirtualQuantity in the given units. */
export function toMegabytes(quantity: number, units: string | undefined): number | undefined {
  const per = bytesPerUnit(units);
  if (per === undefined) return undefined;
  return Math.ceil((quantity * per) / 2 ** 20);
}
