/**
 * An organisation's key policy: how long its API keys may live and whether a key may carry the wildcard scope `*`.
 * Enforced when a key is created or rotated (services/key-policy.ts); one row per organisation, none for the default.
 */
export type WildcardRule = 'allowed' | 'with_expiry' | 'refused';

export interface KeyPolicy {
  readonly orgId: string;
  /** The longest a key may live from its creation or rotation, in days; null: no limit. */
  readonly maxLifetimeDays: number | null;
  /** `*` scopes: allowed, allowed only on keys that expire, or refused. */
  readonly wildcard: WildcardRule;
  readonly updatedAt: string;
}

export interface KeyPolicyStore {
  getKeyPolicy(orgId: string): Promise<KeyPolicy | undefined>;
  /** Inserts or replaces the organisation's policy. */
  setKeyPolicy(p: KeyPolicy): Promise<void>;
}

export function toKeyPolicy(orgId: string, maxLifetimeDays: unknown, wildcard: unknown, updatedAt: string): KeyPolicy {
  return {
    orgId,
    maxLifetimeDays: maxLifetimeDays === null || maxLifetimeDays === undefined ? null : Number(maxLifetimeDays),
    wildcard: wildcard === 'refused' || wildcard === 'with_expiry' ? wildcard : 'allowed',
    updatedAt,
  };
}
