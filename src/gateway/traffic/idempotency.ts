import type { Logger } from 'pino';
import type { IdempotencyRef, IdempotencyStore } from '../../store/idempotency-types.ts';
import type { SecretBox } from '../../vault/secret-box.ts';
import { noteDetail, type Call } from '../call.ts';
import type { Principal } from '../principal.ts';
import { claimIdempotencyKey, fingerprintOf, idempotencyKeyOf } from './idempotency-key.ts';

export interface IdempotencyStageDeps {
  readonly store: IdempotencyStore;
  /** Stored answers may hold tool output: they are sealed, bound to their key's row. */
  readonly box: Pick<SecretBox, 'seal' | 'open'>;
  /** How long an answer is kept for retries. */
  readonly retentionMs: number;
  /** How long a claim may run before its pending row expires (a crashed replica's claim frees itself). */
  readonly pendingMs: number;
  readonly log: Logger;
  readonly now: () => number;
}

/** Who a key belongs to: the API key, or for an OAuth token its issuer and client and the subject. */
export function callerOf(p: Principal): string {
  return p.actor.user === null ? p.keyId : `${p.keyId}#${p.actor.user}`;
}

/** The associated data a stored answer is sealed under: a ciphertext moved to another key's row does not open. */
export function sealedFor(ref: IdempotencyRef): string {
  return `idempotency/v1:${ref.plane}:${ref.orgId}:${ref.principal}:${ref.key}`;
}

/**
 * Stage `limit` (idempotency): a tools/call with an idempotency key (the `Idempotency-Key` header, or
 * `_meta["io.gatehouse/idempotency-key"]`) runs its upstream at most once per key. The first call claims the key in
 * the store (a pending row; the primary key decides the race, across replicas too) and, once the whole path has run,
 * stores the answer the client got (after the output checks), sealed; a failed call gives its claim up so a retry
 * may run. A retry with the same key and the same tool and arguments is answered with the stored answer without
 * reaching the upstream (the later stages still see it); other arguments are refused (idempotency_mismatch), and so is
 * a retry while the first call still runs (idempotency_in_flight): never run twice. Keys are per organisation and
 * caller. Calls without a key cost a method comparison and one property read; nothing is read from the store.
 */
export function createIdempotencyStage(deps: IdempotencyStageDeps) {
  return function idempotency(call: Call): Promise<void> | undefined {
    if (call.direction !== 'client' || call.request?.method !== 'tools/call') return undefined;
    const params = call.request.params;
    const key = idempotencyKeyOf(call.idempotencyKey, params?._meta);
    const p = call.principal;
    const target = call.target;
    if (key === undefined || p === undefined || target === undefined) return undefined;
    const ref: IdempotencyRef = { orgId: p.orgId, principal: callerOf(p), plane: 'mcp', key };
    const fingerprint = fingerprintOf({ connector: target.connector, tool: target.original, arguments: params?.arguments ?? {} });
    return claim(call, ref, fingerprint);
  };

  async function claim(call: Call, ref: IdempotencyRef, fingerprint: string): Promise<void> {
    const claimed = await claimIdempotencyKey(deps.store, ref, fingerprint, deps.now(), deps.pendingMs, (why) => { noteDetail(call, 'idempotency', { refused: why }); });
    if (!claimed.run) {
      const answer: unknown = JSON.parse(deps.box.open(claimed.sealed, sealedFor(ref)));
      noteDetail(call, 'idempotency', { replayed: true });
      call.local = () => answer;
      return;
    }
    (call.onSettled ??= []).push(() => settle(call, ref, claimed.claimId));
  }

  /** Once the call has run its whole path: keep its answer, or give the claim up when it has none. */
  async function settle(call: Call, ref: IdempotencyRef, claimId: string): Promise<void> {
    try {
      if (call.failure === undefined && call.result !== undefined) {
        const sealed = deps.box.seal(JSON.stringify(call.result), sealedFor(ref));
        const stored = await deps.store.completeIdempotencyKey(ref, claimId, sealed, new Date(deps.now() + deps.retentionMs).toISOString());
        noteDetail(call, 'idempotency', { stored });
      } else {
        await deps.store.releaseIdempotencyKey(ref, claimId);
        noteDetail(call, 'idempotency', { released: true });
      }
    } catch (err) {
      // The answer still goes out; the pending row stays until it expires, so a retry is refused rather than run twice.
      deps.log.warn({ correlationId: call.correlationId, err }, 'cannot store the answer of an idempotent call');
      noteDetail(call, 'idempotency', { stored: false });
    }
  }
}

/** Deletes expired idempotency rows; a failure is logged and tried again next time. */
export async function purgeIdempotencyKeys(store: IdempotencyStore, now: number, log: Logger): Promise<void> {
  try {
    const purged = await store.purgeExpiredIdempotencyKeys(new Date(now).toISOString());
    if (purged > 0) log.debug({ purged }, 'purged expired idempotency keys');
  } catch (err) {
    log.warn({ err }, 'cannot purge expired idempotency keys');
  }
}
