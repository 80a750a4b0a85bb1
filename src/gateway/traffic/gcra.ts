/**
 * The one rate-limit algorithm: GCRA (generic cell rate algorithm). A key's whole state is one number, its
 * theoretical arrival time (TAT): when the bucket would be empty again if no more requests came. A request of
 * `cost` units is allowed when, after adding `cost` emission intervals, the TAT is no further than `burst`
 * intervals ahead of now. Exact burst, no background refill, O(1) per check, one value per key (one atomic
 * compare-and-set in Redis).
 */

/** A limit: `rate` units per `periodMs`, with at most `burst` units at once (burst >= 1). */
export interface LimitSpec {
  readonly rate: number;
  readonly periodMs: number;
  readonly burst: number;
}

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

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000 };
const SPEC = /^(\d{1,9})\/(s|m|h)(?:,burst=(\d{1,9}))?$/;

/**
 * `<rate>/<s|m|h>[,burst=<n>]`, e.g. `300/m`, `10/s,burst=30`. Without a burst, one period's worth is allowed at
 * once (`300/m` lets 300 through in a row, then one every 200 ms). Undefined when the text is not a limit.
 */
export function parseLimit(text: string): LimitSpec | undefined {
  const m = SPEC.exec(text.trim());
  if (m === null) return undefined;
  const rate = Number(m[1]);
  const periodMs = UNITS[m[2] ?? ''];
  const burst = m[3] === undefined ? rate : Number(m[3]);
  if (periodMs === undefined || rate < 1 || burst < 1) return undefined;
  return Object.freeze({ rate, periodMs, burst });
}

export function formatLimit(spec: LimitSpec): string {
  const unit = Object.entries(UNITS).find(([, ms]) => ms === spec.periodMs)?.[0] ?? 's';
  return spec.burst === spec.rate ? `${String(spec.rate)}/${unit}` : `${String(spec.rate)}/${unit},burst=${String(spec.burst)}`;
}

/** A key's tier: `unlimited`, a bare number of requests per second (`5`, `100`), or a limit as above. */
export type Tier = LimitSpec | 'unlimited';

export function parseTier(text: string): Tier | undefined {
  const t = text.trim();
  if (t === 'unlimited') return 'unlimited';
  if (/^\d{1,9}$/.test(t)) return parseLimit(`${t}/s`);
  return parseLimit(t);
}
