/**
 * Unwrapped data keys in memory, so the data path never asks the store or the key provider per call: bounded in
 * count (the least recently used goes first) and in age (a key is asked for again after `ttlMs`, so a provider
 * that was switched off stops serving within that time). Entries are not zeroed when dropped: a caller may still
 * be about to use the buffer it was handed; they are zeroed when the vault closes.
 */
export class DataKeyCache {
  readonly #entries = new Map<string, { key: Buffer; expires: number }>();
  readonly #size: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(size: number, ttlMs: number, now: () => number = Date.now) {
    this.#size = size;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get(id: string): Buffer | undefined {
    const e = this.#entries.get(id);
    if (e === undefined) return undefined;
    this.#entries.delete(id);
    if (e.expires <= this.#now()) return undefined;
    this.#entries.set(id, e);
    return e.key;
  }

  set(id: string, key: Buffer): void {
    this.#entries.delete(id);
    this.#entries.set(id, { key, expires: this.#now() + this.#ttlMs });
    while (this.#entries.size > this.#size) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    for (const e of this.#entries.values()) e.key.fill(0);
    this.#entries.clear();
  }
}
