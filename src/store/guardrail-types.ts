/**
 * An organisation's guardrail settings: one JSON document per organisation (the organisation's policy, overrides per
 * connector and per tool, and its deny rules). The document's shape is the gateway's (gateway/guardrails/policy.ts
 * validates it); the store keeps it as it was saved. Its table bumps the access revision, which authentication reads
 * on every request already, so the data path's cache of it costs no second read.
 */
export interface GuardrailSettings {
  readonly orgId: string;
  readonly document: Readonly<Record<string, unknown>>;
  readonly updatedAt: string;
}

export interface GuardrailSettingsStore {
  getGuardrailSettings(orgId: string): Promise<GuardrailSettings | undefined>;
  /** Inserts or replaces the organisation's document. */
  setGuardrailSettings(s: GuardrailSettings): Promise<void>;
  listAllGuardrailSettings(): Promise<GuardrailSettings[]>;
}

export function toGuardrailSettings(orgId: string, json: unknown, updatedAt: string): GuardrailSettings {
  const doc = (typeof json === 'string' ? JSON.parse(json) : json) as unknown;
  return { orgId, document: typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {}, updatedAt };
}
