/**
 * The one rate-limit algorithm: GCRA (generic cell rate algorithm). A key's whole state is one number, its
 * theoretical arrival time (TAT): when the bucket would be empty again if no more requests came. A request of
 * `cost` units is allowed when, after adding `cost` emission intervals, the TAT is no further than `burst`
 * intervals ahead of now. Exact burst, no background refill, O(1) per check, one value per key (one atomic
 * compare-and-set in Redis).
 */
import type { LimitSpec } from '../../limit-spec.ts';

export interface TakeResult {
  readonly allowed: boolean;
  /** Units that could still be taken right now after this check. */
  readonly remaining: number;
  /** Milliseconds until the bucket is full again (what the RateLimit header's `t` counts down for a full refill). */
  readonly resetMs: number;
  /** Milliseconds until a refused request of this cost would be allowed; 0 when allowed. */
  readonly retryAfterMs: number;
}

/** The emission interval: how long one unit takes to come back. */
export function intervalOf(spec: LimitSpec): number {
  return spec.periodMs / spec.rate;
}

/**
 * One GCRA step. `tat` is the stored arrival time (undefined: never seen), and the returned `tat` is what to store
 * (unchanged when refused). With `commit` false nothing is taken: the answer says whether `cost` would be allowed.
 */
export function gcra(tat: number | undefined, spec: LimitSpec, cost: number, now: number, commit = true): TakeResult & { readonly tat: number | undefined } {
  const interval = intervalOf(spec);
  const tolerance = interval * spec.burst;
  const base = tat === undefined || tat < now ? now : tat;
  const next = base + interval * cost;
  const allowAt = next - tolerance;
  if (allowAt > now) {
    return { allowed: false, remaining: Math.max(0, Math.floor((tolerance - (base - now)) / interval)), resetMs: Math.ceil(base - now), retryAfterMs: Math.ceil(allowAt - now), tat };
  }
  const stored = commit ? next : tat;
  return { allowed: true, remaining: Math.floor((now - allowAt) / interval), resetMs: Math.ceil((commit ? next : base) - now), retryAfterMs: 0, tat: stored };
}

