import type { Row } from './rows.ts';

/**
 * Idempotency keys: the first request with a key claims it (a pending row; the table's primary key makes "first one
 * wins" hold across replicas), runs, and then stores its answer; a retry with the same key gets that answer back
 * instead of running again. A pending row left by a crash expires like any other.
 */

/** Where a key was used: tools/call on the MCP endpoints, or a creating POST of the admin API. */
export type IdempotencyPlane = 'mcp' | 'api';

/** One key, in its namespace: the organisation, the caller (key, or token client and subject) and the plane. */
export interface IdempotencyRef {
  readonly orgId: string;
  readonly principal: string;
  readonly plane: IdempotencyPlane;
  readonly key: string;
}

export interface IdempotencyClaim extends IdempotencyRef {
  /** Random; only the claim that inserted the row may complete or release it. */
  readonly claimId: string;
  /** SHA-256 (hex) of what the request asked for: a retry must ask for the same. */
  readonly fingerprint: string;
  /** ISO times: rows that expired by `now` count as absent; the claim's pending row expires at `expiresAt`. */
  readonly now: string;
  readonly expiresAt: string;
}

export type IdempotencyState =
  | { readonly state: 'claimed' }
  | { readonly state: 'pending'; readonly fingerprint: string }
  | { readonly state: 'done'; readonly fingerprint: string; readonly result: string };

export interface IdempotencyStore {
  /** Claims the key, or says who holds it: a pending claim, or the stored answer. */
  claimIdempotencyKey(c: IdempotencyClaim): Promise<IdempotencyState>;
  /** Stores the answer of a claim and keeps it until `expiresAt`; false when the claim is no longer there. */
  completeIdempotencyKey(ref: IdempotencyRef, claimId: string, result: string, expiresAt: string): Promise<boolean>;
  /** Gives up a pending claim (the request failed before it had an answer), so a retry may run. */
  releaseIdempotencyKey(ref: IdempotencyRef, claimId: string): Promise<void>;
  /** Deletes the rows that expired by `now`; returns how many. */
  purgeExpiredIdempotencyKeys(now: string): Promise<number>;
}

/** A row that held the key; none (given up between the insert and the read) counts as still pending: never run twice. */
export function toIdempotencyState(row: Row | undefined): IdempotencyState {
  if (row === undefined) return { state: 'pending', fingerprint: '' };
  const fingerprint = String(row.fingerprint);
  if (row.state === 'done' && typeof row.result === 'string') return { state: 'done', fingerprint, result: row.result };
  return { state: 'pending', fingerprint };
}
