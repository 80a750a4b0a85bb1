/**
 * Per-organisation Cedar policy sets, versioned: every save is a new version (1, 2, ...), the newest one is in force,
 * and clearing the set is a version too (with no text), so the history says when Cedar stopped being consulted.
 */
export interface PolicySetRecord {
  readonly orgId: string;
  readonly version: number;
  /** The policies as saved (Cedar text); null: the set was cleared at this version (Cedar not consulted). */
  readonly text: string | null;
  readonly createdBy: string;
  readonly createdAt: string;
}

export interface PolicyStore {
  /** Appends the next version of the organisation's set (text null clears it) and returns it. */
  savePolicySet(orgId: string, text: string | null, createdBy: string, createdAt: string): Promise<PolicySetRecord>;
  /** The newest version (cleared or not); undefined when the organisation never had one. */
  currentPolicySet(orgId: string): Promise<PolicySetRecord | undefined>;
  getPolicySetVersion(orgId: string, version: number): Promise<PolicySetRecord | undefined>;
  /** Every version of the organisation's set, newest first. */
  listPolicySetVersions(orgId: string): Promise<PolicySetRecord[]>;
  /** The newest version of every organisation's set, for the data path's cache. */
  listCurrentPolicySets(): Promise<PolicySetRecord[]>;
}
