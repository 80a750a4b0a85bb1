import { GatehouseError } from '../errors.ts';
import { roleWithin } from '../gateway/access/permissions.ts';
import { hashApiKey } from '../gateway/authn/api-key-format.ts';
import { generateScimToken, scimTokenPrefix } from '../identity/scim-token.ts';
import { newId } from '../ids.ts';
import type { ScimRoleMapping, ScimTokenRecord } from '../store/scim-types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor } from './context.ts';
import { syncMembership, type ScimContext } from './scim-roles.ts';

/** The organisation's SCIM token as it may be shown: never the token, never its hash. */
export type ScimTokenView = Omit<ScimTokenRecord, 'tokenHash' | 'orgId'>;

export interface ScimSettingsView {
  readonly token: ScimTokenView | null;
  readonly roleMappings: ScimRoleMapping[];
}

const NOT_FOUND = 'No such organisation';
const MAX_MAPPINGS = 200;

function viewToken(t: ScimTokenRecord): ScimTokenView {
  return { id: t.id, displayPrefix: t.displayPrefix, createdBy: t.createdBy, createdAt: t.createdAt };
}

export async function getScimSettings(ctx: Pick<ScimContext, 'store'>, actor: Actor, orgId: string): Promise<ScimSettingsView> {
  authorize(actor, 'scim.read');
  requireSameOrg(actor, orgId, NOT_FOUND);
  const token = await ctx.store.scim.getToken(orgId);
  return { token: token === undefined ? null : viewToken(token), roleMappings: await ctx.store.scim.getRoleMappings(orgId) };
}

/** Issues the organisation's SCIM token, replacing (and so retiring at once) any previous one. Shown this once. */
export async function rotateScimToken(ctx: ScimContext, actor: Actor, orgId: string): Promise<{ token: string; record: ScimTokenView }> {
  authorize(actor, 'scim.token.rotate');
  requireSameOrg(actor, orgId, NOT_FOUND);
  const token = generateScimToken();
  const record: ScimTokenRecord = {
    id: newId('sct'),
    orgId,
    tokenHash: hashApiKey(token, ctx.pepper),
    displayPrefix: scimTokenPrefix(token),
    createdBy: actor.userId ?? actor.keyId ?? actor.name,
    createdAt: new Date().toISOString(),
  };
  const previous = await ctx.store.scim.getToken(orgId);
  await ctx.store.scim.putToken(record);
  await ctx.audit.record(changeEvent(orgId, actor, 'scim.token.rotate', { name: record.id }, { replaced: previous?.id ?? null }));
  return { token, record: viewToken(record) };
}

export async function revokeScimToken(ctx: ScimContext, actor: Actor, orgId: string): Promise<void> {
  authorize(actor, 'scim.token.revoke');
  requireSameOrg(actor, orgId, NOT_FOUND);
  const previous = await ctx.store.scim.getToken(orgId);
  if (previous === undefined || !(await ctx.store.scim.deleteToken(orgId))) throw new GatehouseError('not_found', 'The organisation has no SCIM token');
  await ctx.audit.record(changeEvent(orgId, actor, 'scim.token.revoke', { name: previous.id }, undefined));
}

/**
 * Replaces the organisation's IdP group -> role mappings and brings every provisioned person's role in line at once.
 * Nobody maps a group to a role wider than their own: only an owner can let the IdP make owners.
 */
export async function setScimRoleMappings(ctx: ScimContext, actor: Actor, orgId: string, mappings: readonly ScimRoleMapping[]): Promise<ScimRoleMapping[]> {
  authorize(actor, 'scim.mapping.update');
  requireSameOrg(actor, orgId, NOT_FOUND);
  if (mappings.length > MAX_MAPPINGS) throw new GatehouseError('bad_request', `At most ${String(MAX_MAPPINGS)} mappings`);
  const seen = new Set<string>();
  for (const m of mappings) {
    if (m.idpGroup.length === 0 || m.idpGroup.length > 256) throw new GatehouseError('bad_request', 'An IdP group name must be 1 to 256 characters');
    if (seen.has(m.idpGroup)) throw new GatehouseError('bad_request', `The IdP group '${m.idpGroup.slice(0, 64)}' is mapped twice`);
    seen.add(m.idpGroup);
    if (!roleWithin(m.role, actor.role)) throw new GatehouseError('forbidden', `You cannot map a group to a role with more rights than yours (${m.role})`);
  }
  // Nor can they take away a mapping wider than their role: an admin cannot unmake the owners an owner mapped.
  for (const old of await ctx.store.scim.getRoleMappings(orgId)) {
    if (!roleWithin(old.role, actor.role) && !mappings.some((m) => m.idpGroup === old.idpGroup && m.role === old.role)) {
      throw new GatehouseError('forbidden', `You cannot change the mapping of a group to a role with more rights than yours (${old.role})`);
    }
  }
  await ctx.store.scim.setRoleMappings(orgId, mappings);
  await ctx.audit.record(changeEvent(orgId, actor, 'scim.mapping.update', {}, { roleMappings: mappings }));
  for (const user of await ctx.store.scim.listUsers(orgId)) await syncMembership(ctx, actor, orgId, user.userId);
  return ctx.store.scim.getRoleMappings(orgId);
}
