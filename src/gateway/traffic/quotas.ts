import { GatehouseError } from '../../errors.ts';

/**
 * What a key can make the gateway hold open, as opposed to how fast it may ask (limits.ts):
 *
 *   session    MCP sessions (initialize)
 *   stream     long-lived SSE connections: a session's GET stream, a 2026-07-28 subscriptions/listen stream
 *   upstream   connections a session opens of its own (sampling, elicitation, roots, logging, subscriptions)
 *   process    the stdio processes among those: each one is a process on this host
 *
 * Each kind has a ceiling per key and per organisation, counted on this replica (what is held open is held by a
 * replica; the ceilings are per replica, like the session table). Holding is `acquire` and its release: the count
 * cannot drift, since nothing else changes it, and a release runs once however often it is called.
 */
export type QuotaKind = 'session' | 'stream' | 'upstream' | 'process';
export const QUOTA_KINDS: readonly QuotaKind[] = ['session', 'stream', 'upstream', 'process'];

export interface QuotaLimits {
  readonly perKey: Readonly<Record<QuotaKind, number>>;
  readonly perOrg: Readonly<Record<QuotaKind, number>>;
}

const WHAT: Readonly<Record<QuotaKind, string>> = {
  session: 'open sessions',
  stream: 'open streams',
  upstream: 'upstream connections of its sessions',
  process: 'upstream processes of its sessions',
};

export type Release = () => void;

export class Quotas {
  readonly #limits: QuotaLimits;
  readonly #held = new Map<string, number>();

  constructor(limits: QuotaLimits) {
    this.#limits = limits;
  }

  /** Holds one `kind` for the key; throws (429, nothing held) when the key or its organisation is at its ceiling. */
  acquire(kind: QuotaKind, orgId: string, keyId: string): Release {
    const { byKey, byOrg, key, org } = this.check(kind, orgId, keyId);
    this.#held.set(byKey, key + 1);
    this.#held.set(byOrg, org + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#decrement(byKey);
      this.#decrement(byOrg);
    };
  }

  /** Throws as `acquire` would, holding nothing: for a refusal that must come before the work that holds. */
  check(kind: QuotaKind, orgId: string, keyId: string): { byKey: string; byOrg: string; key: number; org: number } {
    const byKey = `${kind} k ${orgId} ${keyId}`;
    const byOrg = `${kind} o ${orgId}`;
    const key = this.#held.get(byKey) ?? 0;
    const org = this.#held.get(byOrg) ?? 0;
    // Sessions keep the error clients already know for them; the other kinds share one.
    const code = kind === 'session' ? 'too_many_sessions' : 'quota_exceeded';
    if (key >= this.#limits.perKey[kind]) {
      throw new GatehouseError(code, `This key already holds ${String(key)} ${WHAT[kind]}, its most; close one or let it expire`, { data: { quota: kind, scope: 'key' } });
    }
    if (org >= this.#limits.perOrg[kind]) {
      throw new GatehouseError(code, `This organisation already holds ${String(org)} ${WHAT[kind]}, its most; close one or let it expire`, { data: { quota: kind, scope: 'organisation' } });
    }
    return { byKey, byOrg, key, org };
  }

  /** How many of `kind` the key (or, without one, the organisation) holds now. */
  held(kind: QuotaKind, orgId: string, keyId?: string): number {
    return this.#held.get(keyId === undefined ? `${kind} o ${orgId}` : `${kind} k ${orgId} ${keyId}`) ?? 0;
  }

  #decrement(k: string): void {
    const n = (this.#held.get(k) ?? 1) - 1;
    if (n <= 0) this.#held.delete(k);
    else this.#held.set(k, n);
  }
}

/** Ceilings that never refuse, for code that holds no quota of its own (unit tests of the registries). */
export const UNLIMITED: QuotaLimits = {
  perKey: { session: Infinity, stream: Infinity, upstream: Infinity, process: Infinity },
  perOrg: { session: Infinity, stream: Infinity, upstream: Infinity, process: Infinity },
};
