/**
 * An organisation's traffic settings: its own limit, per-tool limits, the tiers it assigned its keys, and the
 * addresses it refuses. One document per organisation; the data path holds all of them in memory and reloads when
 * the access revision moves (the table's triggers bump it, so no second counter is read per request).
 */
export interface ToolLimit {
  /** `connector/tool`, where either part may be `*` or end in `*` (`github/create_*`). */
  readonly pattern: string;
  /** `<n>/<s|m|h>[,burst=<n>]`, shared by every key of the organisation calling a tool that matches. */
  readonly limit: string;
}

/** What a key can make the gateway hold open (gateway/traffic/quotas.ts). */
export type QuotaKind = 'session' | 'stream' | 'upstream' | 'process';
export const QUOTA_KINDS: readonly QuotaKind[] = ['session', 'stream', 'upstream', 'process'];

/** An organisation's own ceilings, below the gateway's: per key and for the organisation as a whole. */
export interface QuotaSettings {
  readonly perKey: Readonly<Partial<Record<QuotaKind, number>>>;
  readonly perOrg: Readonly<Partial<Record<QuotaKind, number>>>;
}

export interface TrafficSettings {
  readonly orgId: string;
  /** All the organisation's requests together; null: no limit of its own. */
  readonly orgLimit: string | null;
  /**
   * Its own limit per client address, over all its keys, checked once the request is known to be its (the gateway's
   * per-address limit still applies before authentication); null: none of its own.
   */
  readonly addressLimit: string | null;
  readonly toolLimits: readonly ToolLimit[];
  /** Key id -> tier (`unlimited`, a number of requests per second, or a limit). */
  readonly keyTiers: Readonly<Record<string, string>>;
  /** Addresses and CIDRs refused per plane, whatever the allowlist says. */
  readonly deny: { readonly mcp: readonly string[]; readonly api: readonly string[] };
  /** `connector/tool` patterns whose calls a person must approve first (human approval). */
  readonly approvals: readonly string[];
  /** Quotas lower than the gateway's (the gateway's ceilings stay the most any organisation gets). */
  readonly quotas: QuotaSettings;
  readonly updatedAt: string;
}

export interface TrafficSettingsStore {
  getTrafficSettings(orgId: string): Promise<TrafficSettings | undefined>;
  /** Inserts or replaces the organisation's document. */
  setTrafficSettings(s: TrafficSettings): Promise<void>;
  listAllTrafficSettings(): Promise<TrafficSettings[]>;
}

export function emptyTrafficSettings(orgId: string): TrafficSettings {
  return { orgId, orgLimit: null, addressLimit: null, toolLimits: [], keyTiers: {}, deny: { mcp: [], api: [] }, approvals: [], quotas: { perKey: {}, perOrg: {} }, updatedAt: new Date(0).toISOString() };
}

/** The stored JSON document back into settings; fields a document lacks read as empty. */
export function toTrafficSettings(orgId: string, json: unknown, updatedAt: string): TrafficSettings {
  const doc = (typeof json === 'string' ? JSON.parse(json) : json) as Partial<Omit<TrafficSettings, 'orgId' | 'updatedAt'>>;
  return {
    orgId,
    orgLimit: doc.orgLimit ?? null,
    addressLimit: doc.addressLimit ?? null,
    toolLimits: doc.toolLimits ?? [],
    keyTiers: doc.keyTiers ?? {},
    deny: { mcp: doc.deny?.mcp ?? [], api: doc.deny?.api ?? [] },
    approvals: doc.approvals ?? [],
    quotas: { perKey: doc.quotas?.perKey ?? {}, perOrg: doc.quotas?.perOrg ?? {} },
    updatedAt,
  };
}

export function trafficDocument(s: TrafficSettings): string {
  return JSON.stringify({ orgLimit: s.orgLimit, addressLimit: s.addressLimit, toolLimits: s.toolLimits, keyTiers: s.keyTiers, deny: s.deny, approvals: s.approvals, quotas: s.quotas });
}
