import type { KeyRole } from '../store/types.ts';
import type { ScimGroupRecord, ScimRoleMapping } from '../store/scim-types.ts';
import { changeEvent, type Actor, type ServiceContext } from './context.ts';
import { endUpstreamTokens } from './upstream-oauth.ts';

/**
 * What SCIM provisioning needs beyond the control-plane context: a way to end a person's sessions in an organisation
 * at once. identity/user-sessions.ts ends their browser sessions and the MCP sessions and streams
 * opened with their keys.
 */
export interface ScimContext extends ServiceContext {
  endUserSessions(orgId: string, userId: string): Promise<void>;
}

/**
 * SCIM's context where the gateway's live registries are not at hand (the CLI, the admin routes): the person's
 * browser sessions, which live in the store, end at once on every replica; MCP sessions opened with their keys,
 * already revoked, are refused at their next request and closed by the gateway's reaper.
 */
export function storeScimContext(services: ServiceContext): ScimContext {
  return {
    ...services,
    endUserSessions: async (orgId, userId) => {
      await services.store.signIn.endUserSessions(userId, orgId, new Date().toISOString());
    },
  };
}

/** Highest wins. Roles are not a ladder for handing out keys, but a person in two mapped groups needs one role. */
const RANK: Readonly<Record<KeyRole, number>> = { owner: 4, admin: 3, member: 2, viewer: 1 };

/**
 * The role a person's IdP groups give: the highest role mapped to any of them, matched by the group's displayName or
 * externalId exactly. Unmapped groups give nothing; no mapped group means no membership (undefined). Owner comes only
 * from an explicit mapping to owner.
 */
export function roleFromGroups(groups: readonly Pick<ScimGroupRecord, 'displayName' | 'externalId'>[], mappings: readonly ScimRoleMapping[]): KeyRole | undefined {
  const byGroup = new Map(mappings.map((m) => [m.idpGroup, m.role]));
  let best: KeyRole | undefined;
  for (const g of groups) {
    for (const name of [g.displayName, g.externalId]) {
      const role = name === null ? undefined : byGroup.get(name);
      if (role !== undefined && (best === undefined || RANK[role] > RANK[best])) best = role;
    }
  }
  return best;
}

/**
 * Brings the person's membership in line with SCIM: an active user gets the role its groups map to; an inactive,
 * deleted or unmapped one has no membership (removing it revokes the person's keys in the organisation, in the
 * store's transaction). Every change is audited with the SCIM token as actor.
 */
export async function syncMembership(ctx: ScimContext, actor: Actor, orgId: string, userId: string): Promise<void> {
  const user = await ctx.store.scim.getUser(orgId, userId);
  let desired: KeyRole | undefined;
  if (user?.active === true) {
    desired = roleFromGroups(await ctx.store.scim.groupsOfUser(orgId, userId), await ctx.store.scim.getRoleMappings(orgId));
  }
  const current = await ctx.store.getMember(orgId, userId);
  const at = new Date().toISOString();
  if (desired === undefined) {
    if (current === undefined) return;
    if (await ctx.store.deleteMembership(orgId, userId, at)) {
      await ctx.audit.record(changeEvent(orgId, actor, 'member.remove', { name: userId }, { from: current.role, via: 'scim' }));
      await ctx.endUserSessions(orgId, userId);
    }
  } else if (current === undefined) {
    await ctx.store.insertMembership({ orgId, userId, role: desired, createdAt: at, updatedAt: at });
    await ctx.audit.record(changeEvent(orgId, actor, 'member.add', { name: userId }, { role: desired, via: 'scim' }));
  } else if (current.role !== desired) {
    await ctx.store.setMemberRole(orgId, userId, desired, at);
    await ctx.audit.record(changeEvent(orgId, actor, 'member.update', { name: userId }, { from: current.role, role: desired, via: 'scim' }));
  }
}

/**
 * Deactivation or deletion: revokes every live key the person holds in the organisation and ends their sessions, at
 * once, whatever their membership. Revoked keys stay revoked: reactivating the person does not bring them back.
 */
export async function endUserAccess(ctx: ScimContext, actor: Actor, orgId: string, userId: string): Promise<void> {
  const at = new Date().toISOString();
  for (const key of await ctx.store.listApiKeys(orgId)) {
    if (key.userId !== userId || key.revokedAt !== null) continue;
    if (await ctx.store.revokeApiKey(orgId, key.id, at)) {
      await ctx.audit.record(changeEvent(orgId, actor, 'key.revoke', { name: key.id }, { via: 'scim', user: userId }));
    }
  }
  await ctx.endUserSessions(orgId, userId);
  // Their own tokens at upstreams (OAuth per user) are revoked and deleted with the rest of their access.
  await endUpstreamTokens(ctx, actor, orgId, userId, 'scim');
}
