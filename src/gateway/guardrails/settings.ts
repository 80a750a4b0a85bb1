import type { Store } from '../../store/types.ts';
import { compileDenyRule, type CompiledDenyRule } from './deny-rules.ts';
import { effectivePolicy, emptyDocument, parseDocument, type EffectivePolicy, type GuardrailDocument } from './policy.ts';

/** An organisation's guardrails, compiled for the data path: policies per target are worked out once and kept. */
export interface CompiledGuardrails {
  policy(connector: string, name: string | undefined): EffectivePolicy;
  readonly denyRules: readonly CompiledDenyRule[];
  /** Set when the stored document no longer parses or compiles: every call of the organisation is refused. */
  readonly broken?: Error;
}

export function compileGuardrails(doc: GuardrailDocument): CompiledGuardrails {
  const policies = new Map<string, EffectivePolicy>();
  const denyRules = doc.denyRules.map(compileDenyRule);
  return {
    denyRules,
    policy(connector, name) {
      const k = name === undefined ? connector : `${connector}/${name}`;
      let p = policies.get(k);
      if (p === undefined) {
        p = effectivePolicy(doc, connector, name);
        if (policies.size < 10_000) policies.set(k, p);
      }
      return p;
    },
  };
}

function compileStored(raw: unknown): CompiledGuardrails {
  try {
    return compileGuardrails(parseDocument(raw));
  } catch (err) {
    const broken = err instanceof Error ? err : new Error(String(err));
    return { denyRules: [], policy: () => DEFAULTS.policy('', undefined), broken };
  }
}

const DEFAULTS = compileGuardrails(emptyDocument());

export interface GuardrailSettingsCache {
  /**
   * The organisation's compiled guardrails. Synchronous while the cache is as new as `revision` (the access
   * revision authentication read for this request), so a call costs one map lookup; a store failure rejects.
   */
  of(orgId: string, revision: number | undefined): CompiledGuardrails | Promise<CompiledGuardrails>;
}

/**
 * Every organisation's guardrail settings in memory, reloaded when the access revision moves (the settings table
 * bumps it; authentication has read it for this request already).
 */
export function createGuardrailSettings(store: Pick<Store, 'guardrailSettings' | 'accessRevision'>): GuardrailSettingsCache {
  let revision: number | undefined;
  let compiled = new Map<string, CompiledGuardrails>();
  let loading: Promise<void> | undefined;

  async function load(seen: number): Promise<void> {
    const all = await store.guardrailSettings.listAllGuardrailSettings();
    compiled = new Map(all.map((s) => [s.orgId, compileStored(s.document)]));
    revision = Math.max(revision ?? seen, seen);
  }

  async function reload(orgId: string, known: number | undefined): Promise<CompiledGuardrails> {
    const current = known ?? (await store.accessRevision());
    while (revision === undefined || revision < current) {
      loading ??= load(current).finally(() => {
        loading = undefined;
      });
      await loading;
    }
    return compiled.get(orgId) ?? DEFAULTS;
  }

  return {
    of(orgId, known) {
      if (revision !== undefined && known !== undefined && revision >= known) return compiled.get(orgId) ?? DEFAULTS;
      return reload(orgId, known);
    },
  };
}
