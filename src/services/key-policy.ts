import { GatehouseError } from '../errors.ts';
import type { KeyPolicy, WildcardRule } from '../store/key-policy-types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/** A policy as it is shown: the stored one, or the default (`stored: false`) for the environment. */
export type KeyPolicyView = Omit<KeyPolicy, 'updatedAt'> & { readonly updatedAt: string | null; readonly stored: boolean };

export interface KeyPolicyChange {
  readonly maxLifetimeDays?: number | null | undefined;
  readonly wildcard?: WildcardRule | undefined;
}

const DAY_MS = 86_400_000;
/** Ten years: a longer limit is no limit, and is said as null. */
const MAX_DAYS = 3650;
const NO_SUCH_ORGANISATION = 'No such organisation';

/**
 * Without a policy of its own an organisation gets the environment's default: no lifetime limit, and in production
 * no wildcard key without an expiry (the first owner key, made at bootstrap, is the one exception).
 */
export function defaultKeyPolicy(orgId: string, production: boolean): KeyPolicy {
  return { orgId, maxLifetimeDays: null, wildcard: production ? 'with_expiry' : 'allowed', updatedAt: new Date(0).toISOString() };
}

async function effective(ctx: Pick<ServiceContext, 'store' | 'production'>, orgId: string): Promise<KeyPolicyView> {
  const stored = await ctx.store.keyPolicies.getKeyPolicy(orgId);
  return stored === undefined ? { ...defaultKeyPolicy(orgId, ctx.production === true), updatedAt: null, stored: false } : { ...stored, stored: true };
}

export async function getKeyPolicy(ctx: Pick<ServiceContext, 'store' | 'production'>, actor: Actor, orgId: string): Promise<KeyPolicyView> {
  authorize(actor, 'key.read');
  requireSameOrg(actor, orgId, NO_SUCH_ORGANISATION);
  return effective(ctx, orgId);
}

/** Sets the policy (owners and the operator); keys already issued keep their expiry, the next create or rotate obeys. */
export async function setKeyPolicy(ctx: ServiceContext, actor: Actor, orgId: string, change: KeyPolicyChange): Promise<KeyPolicyView> {
  authorize(actor, 'org.update');
  requireSameOrg(actor, orgId, NO_SUCH_ORGANISATION);
  const org = await ctx.store.getOrganisation(orgId);
  if (org === undefined || org.deletedAt !== null) throw new GatehouseError('not_found', NO_SUCH_ORGANISATION);
  const current = await effective(ctx, orgId);
  const maxLifetimeDays = change.maxLifetimeDays === undefined ? current.maxLifetimeDays : change.maxLifetimeDays;
  if (maxLifetimeDays !== null && (!Number.isInteger(maxLifetimeDays) || maxLifetimeDays < 1 || maxLifetimeDays > MAX_DAYS)) {
    throw new GatehouseError('bad_request', `The maximum key lifetime must be 1 to ${MAX_DAYS} days, or none`);
  }
  const policy: KeyPolicy = { orgId, maxLifetimeDays, wildcard: change.wildcard ?? current.wildcard, updatedAt: new Date().toISOString() };
  await ctx.store.keyPolicies.setKeyPolicy(policy);
  await ctx.audit.record(changeEvent(orgId, actor, 'key_policy.update', { name: orgId }, { maxLifetimeDays: policy.maxLifetimeDays, wildcard: policy.wildcard }));
  return { ...policy, stored: true };
}

/**
 * Refuses a key the organisation's policy does not allow: one that lives longer than the policy's maximum (or
 * never expires under one), or carries `*` where the policy refuses it or wants it to expire. Called on create and
 * on rotate, with the expiry the new key would have.
 */
export async function enforceKeyPolicy(
  ctx: Pick<ServiceContext, 'store' | 'production'>,
  orgId: string,
  key: { readonly scopes: readonly string[]; readonly expiresAt: string | null },
  now = Date.now(),
): Promise<void> {
  const policy = await effective(ctx, orgId);
  if (policy.maxLifetimeDays !== null) {
    const limit = now + policy.maxLifetimeDays * DAY_MS;
    if (key.expiresAt === null) {
      throw new GatehouseError('bad_request', `This organisation's key policy needs every key to expire within ${policy.maxLifetimeDays} days: give it an expiry`);
    }
    if (Date.parse(key.expiresAt) > limit) {
      throw new GatehouseError('bad_request', `This organisation's key policy allows keys to live at most ${policy.maxLifetimeDays} days`);
    }
  }
  if (key.scopes.includes('*')) {
    if (policy.wildcard === 'refused') {
      throw new GatehouseError('bad_request', "This organisation's key policy refuses the wildcard scope '*': name the connectors or tools");
    }
    if (policy.wildcard === 'with_expiry' && key.expiresAt === null) {
      throw new GatehouseError('bad_request', "This organisation's key policy allows the wildcard scope '*' only on a key that expires: give it an expiry");
    }
  }
}
