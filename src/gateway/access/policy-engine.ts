import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { DetailedError, EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import { POLICY_SCHEMA } from './policy-schema.ts';

/**
 * Cedar, in-process (the official WebAssembly build). `compilePolicies` parses a policy set, names each policy (its
 * `@id("...")` annotation, else `policy<N>` by position) and validates it against the schema in strict mode: what is
 * saved has been type-checked against the entities and context the gateway actually sends. `loadPolicies` hands a
 * compiled set to the engine once per version (parsed once, kept inside the WebAssembly instance); `evaluate` then
 * costs one call, with no parsing of policies.
 */
export type Compiled = { readonly ok: true; readonly policies: Readonly<Record<string, string>> } | { readonly ok: false; readonly message: string };

/** At most this many distinct messages are shown for a refused set; the rest are counted. */
const MAX_MESSAGES = 5;
const MAX_POLICIES = 1000;

export function compilePolicies(text: string): Compiled {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') return refused(parts.errors);
  if (parts.policy_templates.length > 0) return { ok: false, message: 'Policy templates are not supported: write static policies' };
  if (parts.policies.length > MAX_POLICIES) return { ok: false, message: `A policy set holds at most ${String(MAX_POLICIES)} policies` };
  const policies: Record<string, string> = {};
  for (const [i, policy] of parts.policies.entries()) {
    const json = cedar.policyToJson(policy);
    if (json.type === 'failure') return refused(json.errors);
    const id = json.json.annotations?.id ?? `policy${String(i)}`;
    if (Object.hasOwn(policies, id)) return { ok: false, message: `Two policies have the id "${id}"` };
    policies[id] = policy;
  }
  const checked = cedar.validate({ schema: POLICY_SCHEMA, policies: { staticPolicies: policies }, validationSettings: { mode: 'strict' } });
  if (checked.type === 'failure') return refused(checked.errors);
  if (checked.validationErrors.length > 0) return refused(checked.validationErrors.map((e) => e.error));
  return { ok: true, policies };
}

function refused(errors: readonly DetailedError[]): Compiled {
  const messages = [...new Set(errors.map((e) => (e.help === null ? e.message : `${e.message} (${e.help})`)))];
  const shown = messages.slice(0, MAX_MESSAGES).join('; ');
  const more = messages.length > MAX_MESSAGES ? `; and ${String(messages.length - MAX_MESSAGES)} more` : '';
  return { ok: false, message: `Invalid policy set: ${shown}${more}` };
}

/** Makes `policies` the set evaluated under `slot` (one slot per organisation: a new version replaces the old). */
export function loadPolicies(slot: string, policies: Readonly<Record<string, string>>): void {
  const answer = cedar.preparsePolicySet(slot, { staticPolicies: { ...policies } });
  if (answer.type === 'failure') throw new Error(`cannot load the policy set: ${answer.errors.map((e) => e.message).join('; ')}`);
}

export interface PolicyRequest {
  readonly principal: { readonly type: string; readonly id: string };
  readonly action: { readonly type: string; readonly id: string };
  readonly resource: { readonly type: string; readonly id: string };
  readonly context: cedar.Context;
  readonly entities: EntityJson[];
}

export type PolicyAnswer =
  | { readonly decision: 'allow' | 'deny'; readonly determining: readonly string[] }
  /** The engine could not decide, or a policy failed to evaluate: the caller refuses (fail closed). */
  | { readonly decision: 'error'; readonly errored: readonly string[]; readonly message: string };

export function evaluate(slot: string, request: PolicyRequest): PolicyAnswer {
  const answer = cedar.statefulIsAuthorized({
    principal: request.principal,
    action: request.action,
    resource: request.resource,
    context: request.context,
    entities: request.entities,
    preparsedPolicySetId: slot,
  });
  if (answer.type === 'failure') return { decision: 'error', errored: [], message: answer.errors.map((e) => e.message).join('; ') };
  const { decision, diagnostics } = answer.response;
  // Cedar skips a policy whose evaluation fails; a skipped forbid would open what it closes, so an error refuses.
  if (diagnostics.errors.length > 0) {
    return { decision: 'error', errored: diagnostics.errors.map((e) => e.policyId), message: diagnostics.errors.map((e) => e.error.message).join('; ') };
  }
  return { decision, determining: diagnostics.reason };
}
