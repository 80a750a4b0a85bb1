import type { LimitSpec } from '../../limit-spec.ts';
import { gcra, type TakeResult } from './gcra.ts';

/**
 * Where the limiters keep their state. One call per check, atomic for the key, so a shared implementation (Redis:
 * one script holding the GCRA step over one key) gives every replica the same answer; the memory store serves one
 * process. `commit` false only asks (the auth-failure limiter asks before authenticating and charges on failure).
 */
export interface LimiterStore {
  take(key: string, spec: LimitSpec, cost: number, now: number, commit?: boolean): TakeResult | Promise<TakeResult>;
}

export interface MemoryLimiterOptions {
  /** At most this many keys are held; past it the entries idle longest (whose buckets are full again) go first. */
  readonly maxKeys?: number;
}

/**
 * The in-process store. A key whose TAT has passed is at full capacity, i.e. no different from a key never seen,
 * so it is dropped when met; and the map is bounded: past `maxKeys`, the least recently used entries are evicted
 * (a flood of distinct addresses then costs at most `maxKeys` entries, and an evicted address starts full, which
 * only forgives an address that was idle longest).
 */
export class MemoryLimiterStore implements LimiterStore {
  readonly #maxKeys: number;
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  readonly #tats = new Map<string, number>();

  constructor(options: MemoryLimiterOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
  }

  get size(): number {
    return this.#tats.size;
  }

  take(key: string, spec: LimitSpec, cost: number, now: number, commit = true): TakeResult {
    const held = this.#tats.get(key);
    const tat = held !== undefined && held > now ? held : undefined;
    const r = gcra(tat, spec, cost, now, commit);
    if (r.tat !== tat || held !== undefined) {
      this.#tats.delete(key);
      if (r.tat !== undefined && r.tat > now) this.#tats.set(key, r.tat);
    }
    this.#evict();
    return { allowed: r.allowed, remaining: r.remaining, resetMs: r.resetMs, retryAfterMs: r.retryAfterMs };
  }

  #evict(): void {
    // Least recently used first (insertion order, re-inserted on use).
    for (const k of this.#tats.keys()) {
      if (this.#tats.size <= this.#maxKeys) break;
      this.#tats.delete(k);
    }
  }
}
