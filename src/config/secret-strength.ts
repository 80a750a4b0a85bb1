/**
 * Whether a secret is fit for production: present, long enough, not a well-known default and not low in entropy.
 * Returns what is wrong (never the value), or undefined.
 */
export function secretWeakness(value: string | undefined, minLength: number): string | undefined {
  if (value === undefined || value.trim() === '') return 'is missing or empty';
  if (DEFAULTS.has(value.trim().toLowerCase())) return 'is a well-known default value';
  if (value.length < minLength) return `is too short (at least ${minLength} characters)`;
  if (entropyBits(value) < MIN_ENTROPY_BITS) return 'has too little entropy (repeated or patterned characters)';
  return undefined;
}

/** The master key: base64 of exactly 32 bytes that are not a pattern (all one byte, a counter, a repeated block). */
export function masterKeyWeakness(base64: string | undefined): string | undefined {
  if (base64 === undefined || base64.trim() === '') return 'is missing';
  const bytes = Buffer.from(base64.trim(), 'base64');
  if (bytes.length < KEY_BYTES) return `is too short (base64 of exactly ${KEY_BYTES} bytes: openssl rand -base64 32)`;
  if (bytes.length !== KEY_BYTES) return `must be base64 of exactly ${KEY_BYTES} bytes (openssl rand -base64 32)`;
  if (DEFAULTS.has(base64.trim().toLowerCase())) return 'is a well-known default value';
  // 32 random bytes hold about 30 distinct values; fewer than 16 is a pattern, not a key.
  if (new Set(bytes).size < 16) return 'has too little entropy (a pattern, not random bytes)';
  return undefined;
}

const KEY_BYTES = 32;
/** A random 16-character base62 secret has about 95 bits; 64 refuses `aaaaaaaa…` and `abcabcabc…` at any length. */
const MIN_ENTROPY_BITS = 64;

/** Shannon entropy of the characters times the length: an upper bound on what a patterned secret holds. */
function entropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * value.length;
}

/** Values that documentation, examples and installers hand out; a deployment holding one holds no secret. */
const DEFAULTS = new Set([
  'changeme',
  'change-me',
  'change_me',
  'secret',
  'password',
  'passw0rd',
  'admin',
  'postgres',
  'gatehouse',
  'default',
  'test',
  'example',
  'client-secret',
  'client_secret',
  'my-secret',
  'supersecret',
  // base64 of 32 zero bytes, and of 32 bytes 0x01: what a hand-made "key" often is.
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=',
  'aqebaqebaqebaqebaqebaqebaqebaqebaqebaqebaqe=',
]);
