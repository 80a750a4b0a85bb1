import { GatehouseError } from '../errors.ts';
import type { PolicySetRecord } from '../store/policy-types.ts';
import type { KeyRole } from '../store/types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/**
 * Per-organisation Cedar policy sets (gateway/access/policy-schema.ts has the schema). Saving validates the set
 * against the schema, strictly, and refuses it with the validator's messages (400); each save or clear is a new
 * version, audited. Once an organisation has a set, every request that resolves to a tool, prompt or resource needs a
 * permit from it (deny by default, forbid wins); with no set (never saved, or cleared) Cedar is not consulted.
 */
const NO_SUCH_ORG = 'No such organisation';
/** Policies are text an administrator writes: a few kilobytes; this bounds what the gateway compiles and keeps. */
export const MAX_POLICY_TEXT = 256 * 1024;

/** The engine is loaded when a set is first checked, not when the CLI or the admin API starts. */
const engine = () => import('../gateway/access/policy-engine.ts');

export async function getPolicySet(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, version?: number): Promise<PolicySetRecord | undefined> {
  authorize(actor, 'policy.read');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  return version === undefined ? ctx.store.policies.currentPolicySet(orgId) : ctx.store.policies.getPolicySetVersion(orgId, version);
}

export async function listPolicyVersions(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<PolicySetRecord[]> {
  authorize(actor, 'policy.read');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  return ctx.store.policies.listPolicySetVersions(orgId);
}

/** Checks a set against the schema without saving it: the policy ids, or a bad_request with the validator's messages. */
export async function checkPolicies(text: string): Promise<string[]> {
  if (text.length > MAX_POLICY_TEXT) throw new GatehouseError('bad_request', `A policy set is at most ${String(MAX_POLICY_TEXT)} characters`);
  const compiled = (await engine()).compilePolicies(text);
  if (!compiled.ok) throw new GatehouseError('bad_request', compiled.message);
  return Object.keys(compiled.policies);
}

/** Validates and saves the organisation's set as its next version; it applies from the next request. */
export async function setPolicySet(ctx: ServiceContext, actor: Actor, orgId: string, text: string): Promise<PolicySetRecord> {
  authorize(actor, 'policy.update');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  const ids = await checkPolicies(text);
  const saved = await ctx.store.policies.savePolicySet(orgId, text, actorName(actor), new Date().toISOString());
  await ctx.audit.record(changeEvent(orgId, actor, 'policy.set', { name: `v${String(saved.version)}` }, { version: saved.version, policies: ids }));
  return saved;
}

/** Removes the organisation's set (a version without text): Cedar is no longer consulted. False when it had none. */
export async function clearPolicySet(ctx: ServiceContext, actor: Actor, orgId: string): Promise<PolicySetRecord | undefined> {
  authorize(actor, 'policy.update');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  const current = await ctx.store.policies.currentPolicySet(orgId);
  if (current === undefined || current.text === null) return undefined;
  const saved = await ctx.store.policies.savePolicySet(orgId, null, actorName(actor), new Date().toISOString());
  await ctx.audit.record(changeEvent(orgId, actor, 'policy.clear', { name: `v${String(saved.version)}` }, { version: saved.version }));
  return saved;
}

export interface PolicyQuestion {
  /** The policies to ask; default: the organisation's set in force. */
  readonly text?: string;
  readonly method: string;
  readonly connector: string;
  /** The tool or prompt name, or the resource URI, as the upstream knows it. */
  readonly name: string;
  readonly kind: 'tool' | 'prompt' | 'resource';
  readonly role: KeyRole;
  readonly keyId?: string;
  readonly userId?: string | null;
  readonly arguments?: Record<string, unknown>;
  readonly clientIp?: string | null;
  readonly protocolVersion?: string;
}

export interface PolicyVerdict {
  readonly version: number | null;
  readonly decision: 'allow' | 'deny' | 'error';
  readonly determining: readonly string[];
  readonly message?: string;
}

/** What the set (in force, or given) would decide for one request, without making it. Not audited: it changes nothing. */
export async function testPolicy(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, q: PolicyQuestion): Promise<PolicyVerdict> {
  authorize(actor, 'policy.read');
  requireSameOrg(actor, orgId, NO_SUCH_ORG);
  const current = q.text === undefined ? await ctx.store.policies.currentPolicySet(orgId) : undefined;
  const text = q.text ?? current?.text ?? null;
  if (text === null) return { version: null, decision: 'allow', determining: [], message: 'No policy set: Cedar is not consulted' };
  await checkPolicies(text);
  const [{ compilePolicies, loadPolicies, evaluate }, { policyRequest }, { compileScopes }] = await Promise.all([
    engine(),
    import('../gateway/access/policy-request.ts'),
    import('../gateway/access/scopes.ts'),
  ]);
  const compiled = compilePolicies(text);
  if (!compiled.ok) throw new GatehouseError('bad_request', compiled.message);
  const slot = `test:${orgId}`;
  loadPolicies(slot, compiled.policies);
  const keyId = q.keyId ?? 'key_test';
  const userId = q.userId ?? null;
  const answer = evaluate(
    slot,
    policyRequest({
      principal: {
        orgId, keyId, keyName: keyId, role: q.role, userId, scopes: compileScopes(['*']), scopeList: ['*'], expiresAt: null, servers: null, cidrs: null, network: null,
        actor: { keyId, user: userId },
      },
      method: q.method,
      target: q.kind === 'tool' ? { kind: 'tool', connector: q.connector, original: q.name, entry: { connector: q.connector, original: q.name, item: {} } } : { kind: q.kind, connector: q.connector, original: q.name },
      args: q.arguments,
      clientIp: q.clientIp ?? null,
      protocolVersion: q.protocolVersion ?? '2025-11-25',
      now: Date.now(),
    }),
  );
  const version = current?.version ?? null;
  if (answer.decision === 'error') return { version, decision: 'error', determining: answer.errored, message: answer.message };
  return { version, decision: answer.decision, determining: answer.determining };
}

function actorName(actor: Actor): string {
  return actor.userId ?? actor.keyId ?? actor.name;
}
