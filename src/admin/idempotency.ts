import type { ApiResponse } from '../control-plane.ts';
import { GatehouseError } from '../errors.ts';
import { claimIdempotencyKey, fingerprintOf, idempotencyKeyOf } from '../gateway/traffic/idempotency-key.ts';
import { sealedFor, type IdempotencyStageDeps } from '../gateway/traffic/idempotency.ts';
import type { Actor } from '../services/context.ts';
import type { IdempotencyRef } from '../store/idempotency-types.ts';
import type { Route } from './route.ts';

/** The same store, sealing and times as the MCP endpoint's idempotency stage. */
export type AdminIdempotencyDeps = IdempotencyStageDeps;

/** The answer to a request, and whether it was a replay of a stored one (its audit record says so). */
export interface IdempotentAnswer {
  readonly response: ApiResponse;
  readonly replayed: boolean;
}

interface StoredAnswer {
  readonly status: number;
  readonly body?: unknown;
}

/**
 * The `Idempotency-Key` header on the admin API's POST routes: a retried POST with the same key, by the same caller,
 * to the same route with the same path and body, gets the first one's answer (with `idempotency-replayed: true`)
 * instead of creating a second object; another request under the key is refused (422), and so is a retry while the
 * first still runs (409). Answers are stored sealed. A secret shown once (a new key, an owner key, a SCIM token: the
 * route's `shownOnce` field) is never stored: a replay answers the same record without it, so the secret exists in
 * the first answer only, as everywhere else; a client that lost that answer revokes the key the record names.
 */
export function createAdminIdempotency(deps: AdminIdempotencyDeps) {
  return async function idempotent(header: string | undefined, actor: Actor, orgId: string, route: Route, request: unknown, run: () => Promise<ApiResponse>): Promise<IdempotentAnswer> {
    if (header === undefined || route.method !== 'POST') return { response: await run(), replayed: false };
    let key: string;
    try {
      key = idempotencyKeyOf(header, undefined) ?? header;
    } catch (err) {
      throw new GatehouseError('bad_request', err instanceof Error ? err.message : 'Invalid Idempotency-Key', { cause: err });
    }
    const ref: IdempotencyRef = { orgId, principal: `${actor.via}:${actor.keyId ?? actor.userId ?? actor.name}`, plane: 'api', key };
    const fingerprint = fingerprintOf({ route: route.operationId, request });
    const claimed = await claimIdempotencyKey(deps.store, ref, fingerprint, deps.now(), deps.pendingMs);
    if (!claimed.run) {
      const stored = JSON.parse(deps.box.open(claimed.sealed, sealedFor(ref))) as StoredAnswer;
      return { response: { ...stored, headers: { 'idempotency-replayed': 'true' } }, replayed: true };
    }
    const { claimId } = claimed;
    let response: ApiResponse;
    try {
      response = await run();
    } catch (err) {
      await release(ref, claimId);
      throw err;
    }
    if ('stream' in response || response.status < 200 || response.status >= 300) {
      await release(ref, claimId);
      return { response, replayed: false };
    }
    try {
      const answer: StoredAnswer = { status: response.status, body: withoutSecret(response.body, route.shownOnce) };
      const sealed = deps.box.seal(JSON.stringify(answer), sealedFor(ref));
      await deps.store.completeIdempotencyKey(ref, claimId, sealed, new Date(deps.now() + deps.retentionMs).toISOString());
    } catch (err) {
      // The object exists and the answer goes out; the pending row expires, so a retry is refused meanwhile, never re-run.
      deps.log.warn({ err }, 'cannot store the answer of an idempotent admin request');
    }
    return { response, replayed: false };
  };

  async function release(ref: IdempotencyRef, claimId: string): Promise<void> {
    try {
      await deps.store.releaseIdempotencyKey(ref, claimId);
    } catch (err) {
      deps.log.warn({ err }, 'cannot release an idempotency key');
    }
  }
}

export type AdminIdempotency = ReturnType<typeof createAdminIdempotency>;

function withoutSecret(body: unknown, field: string | undefined): unknown {
  if (field === undefined || typeof body !== 'object' || body === null) return body;
  return Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([k]) => k !== field));
}
