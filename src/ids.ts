import { randomBytes } from 'node:crypto';

/** Opaque identifiers: a type prefix and 96 random bits, e.g. `key_3kTMd9xQ0bWc6aLp`. */
export function newId(prefix: 'org' | 'key' | 'con'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

/** A correlation id for one request: 128 random bits. */
export function newCorrelationId(): string {
  return randomBytes(16).toString('hex');
}
