import { createHash, randomUUID } from 'node:crypto';
import { GatehouseError } from '../../errors.ts';
import type { IdempotencyRef, IdempotencyStore } from '../../store/idempotency-types.ts';

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

/** A claim of a key: ours to run (and then complete or release), or the stored answer's sealed text to replay. */
export type Claimed = { readonly run: true; readonly claimId: string } | { readonly run: false; readonly sealed: string };

/**
 * Claims `ref` for a request with `fingerprint` (the MCP stage and the admin API share this): the first claim wins
 * and runs; a retry of the same request gets the stored answer; another request under the key is refused
 * (idempotency_mismatch), and so is a retry while the first still runs (idempotency_in_flight) - never run twice.
 * `refused` is told which, before the refusal is thrown.
 */
export async function claimIdempotencyKey(
  store: Pick<IdempotencyStore, 'claimIdempotencyKey'>,
  ref: IdempotencyRef,
  fingerprint: string,
  at: number,
  pendingMs: number,
  refused: (why: 'mismatch' | 'in_flight') => void = () => undefined,
): Promise<Claimed> {
  const claimId = randomUUID();
  const held = await store.claimIdempotencyKey({ ...ref, claimId, fingerprint, now: new Date(at).toISOString(), expiresAt: new Date(at + pendingMs).toISOString() });
  if (held.state === 'claimed') return { run: true, claimId };
  if (held.fingerprint !== fingerprint) {
    refused('mismatch');
    throw new GatehouseError('idempotency_mismatch', 'This idempotency key was used for a different request');
  }
  if (held.state === 'pending') {
    refused('in_flight');
    throw new GatehouseError('idempotency_in_flight', 'A request with this idempotency key is still running; retry later');
  }
  return { run: false, sealed: held.result };
}
