import type { Store } from '../../store/types.ts';
import type * as EngineModule from './policy-engine.ts';
import type { PolicyAnswer, PolicyRequest } from './policy-engine.ts';
import { decisionKey, policyRequest, type RequestFacts } from './policy-request.ts';

/** An organisation's policy set in force: its version, and whether it could be loaded (if not, every call is refused). */
export type PolicySetInForce =
  | { readonly version: number; readonly loaded: true; evaluate(facts: RequestFacts): PolicyAnswer }
  | { readonly version: number; readonly loaded: false };

export interface PolicySets {
  /**
   * The organisation's policy set in force; undefined when it has none (Cedar is then not consulted). `revision` is
   * the store's access revision when the caller has just read it (authentication does). Rejects when the store
   * cannot tell: the caller refuses.
   */
  inForce(orgId: string, revision?: number): Promise<PolicySetInForce | undefined>;
}

type Engine = typeof EngineModule;

/**
 * Every organisation's current policy set, compiled and handed to the engine once per version. A policy change moves
 * the store's access revision (a trigger on policy_sets), which authentication reads on every request already: a
 * request costs no row and no parsing, and a set saved by the CLI or another replica applies to the very next one.
 * A stored set that no longer compiles (say, after an upgrade changed the schema) refuses every call of its
 * organisation rather than letting them through unchecked. The engine (4 MB of WebAssembly) is loaded only once
 * some organisation has a policy set: a gateway without policies never pays for it.
 */
export function createPolicySets(store: Pick<Store, 'policies' | 'accessRevision'>): PolicySets {
  let revision: number | undefined;
  let sets = new Map<string, PolicySetInForce>();
  let loading: Promise<void> | undefined;
  let engine: Engine | undefined;

  async function load(seen: number): Promise<void> {
    const current = (await store.policies.listCurrentPolicySets()).filter((s) => s.text !== null);
    if (current.length > 0) engine ??= await import('./policy-engine.ts');
    const next = new Map<string, PolicySetInForce>();
    for (const set of current) {
      const had = sets.get(set.orgId);
      if (had?.version === set.version) {
        next.set(set.orgId, had);
        continue;
      }
      next.set(set.orgId, compile(engine as Engine, set.orgId, set.version, set.text ?? ''));
    }
    sets = next;
    revision = Math.max(revision ?? seen, seen);
  }

  return {
    async inForce(orgId, known) {
      const current = known ?? (await store.accessRevision());
      while (revision === undefined || revision < current) {
        loading ??= load(current).finally(() => {
          loading = undefined;
        });
        await loading;
      }
      return sets.get(orgId);
    },
  };
}

function compile(engine: Engine, orgId: string, version: number, text: string): PolicySetInForce {
  const compiled = engine.compilePolicies(text);
  if (!compiled.ok) return { version, loaded: false };
  try {
    // One slot per organisation: the engine's copy of the old version is replaced, not accumulated.
    engine.loadPolicies(orgId, compiled.policies);
  } catch {
    return { version, loaded: false };
  }
  return { version, loaded: true, evaluate: decisionCache(compiled.policies, (request) => engine.evaluate(orgId, request)) };
}

/** Decisions kept per policy set in force; the oldest unused go first. */
const MAX_DECISIONS = 2048;

/**
 * Cedar's answer is a function of the request alone (principal and resource entities, action, context) for a given
 * policy set, and one evaluation in the WebAssembly engine costs 100-300 µs: so each set in force keeps its recent
 * decisions by the facts the request is built from (policy-request.ts decisionKey, a few µs; a hit builds no
 * request). `context.now` (seconds) is left out of the key unless a policy of the set mentions `now`, which would
 * otherwise make every second a miss; the hour and weekday stay in. Errors are never kept (they refuse, and are
 * evaluated again). A new version starts with an empty cache.
 */
export function decisionCache(policies: Readonly<Record<string, string>>, evaluate: (request: PolicyRequest) => PolicyAnswer): (facts: RequestFacts) => PolicyAnswer {
  const usesNow = Object.values(policies).some((text) => /\bnow\b/.test(text));
  const cache = new Map<string, PolicyAnswer>();
  return (facts) => {
    const key = decisionKey(facts, usesNow);
    const hit = cache.get(key);
    if (hit !== undefined) {
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    const answer = evaluate(policyRequest(facts));
    if (answer.decision !== 'error') {
      cache.set(key, answer);
      if (cache.size > MAX_DECISIONS) cache.delete(cache.keys().next().value as string);
    }
    return answer;
  };
}
