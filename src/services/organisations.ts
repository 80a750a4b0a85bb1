import { GatehouseError } from '../errors.ts';
import { newId } from '../ids.ts';
import { DuplicateError, type Organisation } from '../store/types.ts';
import type { ServiceContext } from './context.ts';
import { createKey } from './keys.ts';

export const DEFAULT_ORG_SLUG = 'default';

export async function requireOrganisation(ctx: Pick<ServiceContext, 'store'>, slug: string): Promise<Organisation> {
  const org = await ctx.store.getOrganisationBySlug(slug);
  if (org === undefined) throw new GatehouseError('not_found', `No organisation '${slug}'`);
  return org;
}

/**
 * First start: when the store has no organisation, create the default one and its owner key. Returns the key
 * (to be shown once) only when this call created it; a restart, or a second process racing this one, gets none.
 */
export async function bootstrap(ctx: ServiceContext): Promise<{ org: Organisation; ownerKey?: string }> {
  const existing = await ctx.store.getOrganisationBySlug(DEFAULT_ORG_SLUG);
  if (existing !== undefined) return { org: existing };
  const org: Organisation = { id: newId('org'), slug: DEFAULT_ORG_SLUG, name: 'Default organisation', createdAt: new Date().toISOString(), deletedAt: null };
  try {
    await ctx.store.createOrganisation(org);
  } catch (err) {
    if (err instanceof DuplicateError) return { org: await requireOrganisation(ctx, DEFAULT_ORG_SLUG) };
    throw err;
  }
  const { key } = await createKey(ctx, { user: 'system:bootstrap' }, { orgId: org.id, name: 'owner', role: 'owner', scopes: ['*'] });
  return { org, ownerKey: key };
}
