import { GatehouseError } from '../errors.ts';
import { newId } from '../ids.ts';
import { DuplicateError, type Organisation } from '../store/types.ts';
import { authorize, changeEvent, operatorActor, requireSameOrg, type Actor, type ServiceContext } from './context.ts';
import { createKey } from './keys.ts';

export const DEFAULT_ORG_SLUG = 'default';
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
const NO_SUCH_ORGANISATION = 'No such organisation';

/** An organisation as it may be shown. */
export type OrganisationView = Omit<Organisation, 'deletedAt'>;

function viewOrganisation(o: Organisation): OrganisationView {
  return { id: o.id, slug: o.slug, name: o.name, createdAt: o.createdAt };
}

/** A live organisation by slug, for the CLI's `--org`. */
export async function requireOrganisation(ctx: Pick<ServiceContext, 'store'>, slug: string): Promise<Organisation> {
  const org = await ctx.store.getOrganisationBySlug(slug);
  if (org === undefined || org.deletedAt !== null) throw new GatehouseError('not_found', `No organisation '${slug}'`);
  return org;
}

function checkName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > 100) throw new GatehouseError('bad_request', 'Organisation name must be 1 to 100 characters');
  return name;
}

/**
 * Creates an organisation and its first owner key, returned once. Reserved to the operator: tenants are created by
 * whoever runs the deployment, not by another tenant.
 */
export async function createOrganisation(
  ctx: ServiceContext,
  actor: Actor,
  input: { slug: string; name: string },
): Promise<{ org: OrganisationView; ownerKey: string }> {
  authorize(actor, 'org.create');
  if (!SLUG.test(input.slug)) throw new GatehouseError('bad_request', 'Slug must be 1-40 lowercase letters, digits or inner hyphens');
  const org: Organisation = { id: newId('org'), slug: input.slug, name: checkName(input.name), createdAt: new Date().toISOString(), deletedAt: null };
  try {
    await ctx.store.createOrganisation(org);
  } catch (err) {
    if (err instanceof DuplicateError) throw new GatehouseError('conflict', `An organisation '${input.slug}' already exists`);
    throw err;
  }
  await ctx.audit.record(changeEvent(org.id, actor, 'org.create', { name: org.id }, { slug: org.slug, name: org.name }));
  const { key } = await createKey(ctx, actor, { orgId: org.id, name: 'owner', role: 'owner', scopes: ['*'] }, { firstOwnerKey: true });
  return { org: viewOrganisation(org), ownerKey: key };
}

/** The organisations the actor can see: its own, or every live one for the operator. */
export async function listOrganisations(ctx: Pick<ServiceContext, 'store'>, actor: Actor): Promise<OrganisationView[]> {
  authorize(actor, 'org.read');
  const all = (await ctx.store.listOrganisations()).filter((o) => o.deletedAt === null);
  if (actor.orgId === null) {
    authorize(actor, 'org.list_all');
    return all.map(viewOrganisation);
  }
  return all.filter((o) => o.id === actor.orgId).map(viewOrganisation);
}

async function liveOrganisation(ctx: Pick<ServiceContext, 'store'>, actor: Actor, id: string): Promise<Organisation> {
  requireSameOrg(actor, id, NO_SUCH_ORGANISATION);
  const org = await ctx.store.getOrganisation(id);
  if (org === undefined || org.deletedAt !== null) throw new GatehouseError('not_found', NO_SUCH_ORGANISATION);
  return org;
}

export async function getOrganisation(ctx: Pick<ServiceContext, 'store'>, actor: Actor, id: string): Promise<OrganisationView> {
  authorize(actor, 'org.read');
  return viewOrganisation(await liveOrganisation(ctx, actor, id));
}

export async function renameOrganisation(ctx: ServiceContext, actor: Actor, id: string, rawName: string): Promise<OrganisationView> {
  authorize(actor, 'org.update');
  const org = await liveOrganisation(ctx, actor, id);
  const name = checkName(rawName);
  if (!(await ctx.store.renameOrganisation(id, name))) throw new GatehouseError('not_found', NO_SUCH_ORGANISATION);
  await ctx.audit.record(changeEvent(id, actor, 'org.update', { name: id }, { name }));
  return viewOrganisation({ ...org, name });
}

/**
 * Deletes an organisation: its keys stop working, its connectors, virtual servers and memberships go, its audit chain
 * stays (and its slug stays taken, so old audit records never point at a newcomer).
 */
export async function deleteOrganisation(ctx: ServiceContext, actor: Actor, id: string): Promise<void> {
  authorize(actor, 'org.delete');
  await liveOrganisation(ctx, actor, id);
  if (!(await ctx.store.deleteOrganisation(id, new Date().toISOString()))) throw new GatehouseError('not_found', NO_SUCH_ORGANISATION);
  await ctx.audit.record(changeEvent(id, actor, 'org.delete', { name: id }, undefined));
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
  const { key } = await createKey(ctx, operatorActor('system:bootstrap'), { orgId: org.id, name: 'owner', role: 'owner', scopes: ['*'] }, { firstOwnerKey: true });
  return { org, ownerKey: key };
}
