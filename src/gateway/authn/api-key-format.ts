import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API key format: `gth_` + 43 base62 characters (256 random bits) + 6 base62 characters of CRC-32 checksum.
 * The prefix and checksum let secret scanners find leaked keys and let the gateway reject a mistyped key without
 * a database lookup. Only an HMAC-SHA-256 of the key under the server's pepper is stored.
 */
export const KEY_PREFIX = 'gth_';
const BODY_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_PATTERN = new RegExp(`^${KEY_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);

function base62(value: bigint, width: number): string {
  let out = '';
  let v = value;
  while (v > 0n) {
    out = ALPHABET.charAt(Number(v % 62n)) + out;
    v /= 62n;
  }
  return out.padStart(width, '0');
}

function checksum(prefix: string, body: string): string {
  return base62(BigInt(crc32(prefix + body)), CHECKSUM_LENGTH);
}

/** A token of this format under another prefix (SCIM tokens are `gths_…`): same entropy, same checksum. */
export function generateToken(prefix: string): string {
  const body = base62(BigInt('0x' + randomBytes(32).toString('hex')), BODY_LENGTH);
  return prefix + body + checksum(prefix, body);
}

export function isWellFormedToken(prefix: string, candidate: string): boolean {
  if (!candidate.startsWith(prefix) || candidate.length !== prefix.length + BODY_LENGTH + CHECKSUM_LENGTH) return false;
  const rest = candidate.slice(prefix.length);
  if (!/^[0-9A-Za-z]+$/.test(rest)) return false;
  const expected = Buffer.from(checksum(prefix, rest.slice(0, BODY_LENGTH)));
  return timingSafeEqual(expected, Buffer.from(rest.slice(BODY_LENGTH)));
}

export function generateApiKey(): string {
  return generateToken(KEY_PREFIX);
}

/** True when the string has the key's shape and its checksum matches: cheap, no lookup. */
export function isWellFormedApiKey(candidate: string): boolean {
  return KEY_PATTERN.test(candidate) && isWellFormedToken(KEY_PREFIX, candidate);
}

/**
 * The pepper is held as a KeyObject: given a raw Buffer, every createHmac call makes Node build and discard an
 * internal error while checking the key type, which cost ~25 µs per request on the hot path.
 */
export function pepperKey(pepper: Buffer): KeyObject {
  return createSecretKey(pepper);
}

export function hashApiKey(key: string, pepper: KeyObject): string {
  return createHmac('sha256', pepper).update(key).digest('hex');
}

export function displayPrefix(key: string, prefix = KEY_PREFIX): string {
  return key.slice(0, prefix.length + 6) + '…';
}
