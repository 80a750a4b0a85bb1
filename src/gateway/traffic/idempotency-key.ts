import { createHash } from 'node:crypto';
import { GatehouseError } from '../../errors.ts';

/** Where a tools/call carries its idempotency key inside the request (the `Idempotency-Key` header works too). */
export const IDEMPOTENCY_META_KEY = 'io.gatehouse/idempotency-key';

/** Visible ASCII, as the IETF Idempotency-Key draft's examples use (UUIDs, ULIDs, random tokens). */
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

/**
 * The key a request asked for: from the header, from `_meta`, or both when they agree. Undefined when it carries none;
 * a malformed key, or two that differ, is refused rather than ignored (the client meant to be protected).
 */
export function idempotencyKeyOf(header: string | undefined, meta: unknown): string | undefined {
  const fromMeta = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)[IDEMPOTENCY_META_KEY] : undefined;
  if (fromMeta !== undefined && typeof fromMeta !== 'string') throw invalidKey();
  if (header !== undefined && !KEY_SHAPE.test(header)) throw invalidKey();
  if (fromMeta !== undefined && !KEY_SHAPE.test(fromMeta)) throw invalidKey();
  if (header !== undefined && fromMeta !== undefined && header !== fromMeta) {
    throw new GatehouseError('invalid_params', 'The Idempotency-Key header and _meta name different idempotency keys');
  }
  return header ?? fromMeta;
}

function invalidKey(): GatehouseError {
  return new GatehouseError('invalid_params', 'An idempotency key must be 1 to 255 visible ASCII characters');
}

/** SHA-256 (hex) of what a request asks for, the same whatever order its objects' members came in. */
export function fingerprintOf(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** JSON with object members in code-point order: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return value === undefined ? 'null' : JSON.stringify(value);
}
