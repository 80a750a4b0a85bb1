import { GatehouseError } from '../../errors.ts';
import type { QuotaKind, QuotaSettings } from '../../store/traffic-types.ts';

export { QUOTA_KINDS, type QuotaKind } from '../../store/traffic-types.ts';

/**
 * What a key can make the gateway hold open, as opposed to how fast it may ask (limits.ts):
 *
 *   session    MCP sessions (initialize)
 *   stream     long-lived SSE connections: a session's GET stream, a 2026-07-28 subscriptions/listen stream
 *   upstream   connections a session opens of its own (sampling, elicitation, roots, logging, subscriptions)
 *   process    the stdio processes among those: each one is a process on this host
 *
 * Each kind has a ceiling per key and per organisation, counted on this replica (what is held open is held by a
 * replica; the ceilings are per replica, like the session table). An organisation may set lower ceilings of its own
 * (`overrides`, from its traffic settings as last loaded); the gateway's stay the most. Holding is `acquire` and its release: the count
 * cannot drift, since nothing else changes it, and a release runs once however often it is called.
 */

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
  readonly #overrides: (orgId: string) => QuotaSettings | undefined;
  readonly #held = new Map<string, number>();

  constructor(limits: QuotaLimits, overrides: (orgId: string) => QuotaSettings | undefined = () => undefined) {
    this.#limits = limits;
    this.#overrides = overrides;
  }

  /** The ceilings that hold for the organisation: the gateway's, or the organisation's own where lower. */
  ceilings(kind: QuotaKind, orgId: string): { perKey: number; perOrg: number } {
    const own = this.#overrides(orgId);
    return {
      perKey: Math.min(this.#limits.perKey[kind], own?.perKey[kind] ?? Infinity),
      perOrg: Math.min(this.#limits.perOrg[kind], own?.perOrg[kind] ?? Infinity),
    };
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
    const ceiling = this.ceilings(kind, orgId);
    if (key >= ceiling.perKey) {
      throw new GatehouseError(code, `This key already holds ${String(key)} ${WHAT[kind]}, its most; close one or let it expire`, { data: { quota: kind, scope: 'key' } });
    }
    if (org >= ceiling.perOrg) {
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
