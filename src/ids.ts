import { randomBytes, randomUUID } from 'node:crypto';

/** Opaque identifiers: a type prefix and 96 random bits, e.g. `key_3kTMd9xQ0bWc6aLp`. */
export function newId(prefix: 'org' | 'key' | 'con' | 'usr' | 'vs' | 'sct' | 'grp' | 'apr'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}

/** A correlation id for one request: a random UUID (122 random bits, from Node's batched entropy pool: cheap). */
export function newCorrelationId(): string {
  return randomUUID();
}
