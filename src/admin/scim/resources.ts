import SCIMMY from 'scimmy';
import { GatehouseError } from '../../errors.ts';
import type { Actor } from '../../services/context.ts';
import { createGroup, deleteGroup, deprovisionUser, provisionUser, replaceGroup, replaceUser, type ScimInput } from '../../services/scim-provisioning.ts';
import type { ScimContext } from '../../services/scim-roles.ts';
import type { ScimGroupRecord, ScimUserRecord } from '../../store/scim-types.ts';
import { applyFilter } from './filter.ts';

/**
 * SCIMMY's resource handlers, declared once per process. SCIMMY keeps them in module state, so they hold nothing of
 * their own: everything about the request (the services, the SCIM token's organisation and actor, the checked
 * filter) travels in the call context each request passes to read/write/patch/dispose.
 */
export interface ScimCall {
  readonly ctx: ScimContext;
  readonly actor: Actor;
  readonly orgId: string;
  /** The list filter, checked by the glue (SCIMMY's own parse of it is not used). */
  filter: SCIMMY.Types.Filter | undefined;
  /** A failure that is not the client's (the store, the audit log), kept for the log: SCIMMY would turn it into a 404. */
  failure?: unknown;
}

export const SCIM_BASE = '/scim/v2';
export const MAX_RESULTS = 200;

const STATUS: Partial<Record<GatehouseError['code'], [number, string]>> = {
  bad_request: [400, 'invalidValue'],
  not_found: [404, ''],
  conflict: [409, 'uniqueness'],
  forbidden: [403, ''],
};

/** Runs a handler, turning our errors into SCIM errors here: SCIMMY answers 404 for anything it does not know. */
async function guarded<T>(raw: unknown, fn: (c: ScimCall) => Promise<T>): Promise<T> {
  const c = raw as ScimCall;
  try {
    return await fn(c);
  } catch (err) {
    if (err instanceof SCIMMY.Types.Error) throw err;
    const mapped = err instanceof GatehouseError ? STATUS[err.code] : undefined;
    if (err instanceof GatehouseError && mapped !== undefined) throw new SCIMMY.Types.Error(mapped[0], mapped[1], err.message);
    c.failure = err;
    throw new SCIMMY.Types.Error(500, '', 'Internal error');
  }
}

function meta(r: { createdAt: string; updatedAt: string }) {
  return { created: r.createdAt, lastModified: r.updatedAt };
}

function userView(u: ScimUserRecord, groups: readonly ScimGroupRecord[]) {
  return {
    ...(JSON.parse(u.resource) as Record<string, unknown>),
    id: u.userId,
    userName: u.userName,
    ...(u.externalId === null ? {} : { externalId: u.externalId }),
    active: u.active,
    groups: groups.filter((g) => g.members.includes(u.userId)).map((g) => ({ value: g.id, display: g.displayName, $ref: `${SCIM_BASE}/Groups/${g.id}` })),
    meta: meta(u),
  };
}

function groupView(g: ScimGroupRecord, userNames: ReadonlyMap<string, string>) {
  return {
    id: g.id,
    displayName: g.displayName,
    ...(g.externalId === null ? {} : { externalId: g.externalId }),
    members: g.members.map((m) => ({ value: m, display: userNames.get(m) ?? m, $ref: `${SCIM_BASE}/Users/${m}` })),
    meta: meta(g),
  };
}

function notFound(what: string): SCIMMY.Types.SCIMError {
  return new SCIMMY.Types.Error(404, '', `No such ${what}`);
}

/** SCIMMY hands ingress a schema instance; the services take plain data. */
function plain(instance: unknown): ScimInput {
  return JSON.parse(JSON.stringify(instance)) as ScimInput;
}

let declared = false;

export function declareScimResources(): void {
  if (declared) return;
  declared = true;
  SCIMMY.Config.set({
    patch: true,
    filter: { supported: true, maxResults: MAX_RESULTS },
    sort: true,
    authenticationSchemes: [{ type: 'oauthbearertoken', name: 'Bearer token', description: "The organisation's SCIM token (gths_…), issued by an owner or admin" }],
  });
  const User = SCIMMY.Resources.declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false));
  User.basepath(SCIM_BASE);
  User.egress((resource, raw) =>
      guarded(raw, async ({ ctx, orgId, filter }) => {
        const groups = await ctx.store.scim.listGroups(orgId);
        if (resource.id !== undefined) {
          const user = await ctx.store.scim.getUser(orgId, resource.id);
          if (user === undefined) throw notFound('user');
          return userView(user, groups);
        }
        const all = (await ctx.store.scim.listUsers(orgId)).map((u) => userView(u, groups));
        return filter === undefined ? all : applyFilter(filter, all, SCIMMY.Schemas.User.definition);
      }),
    )
    .ingress((resource, instance, raw) =>
      guarded(raw, async ({ ctx, actor, orgId }) => {
        const input = plain(instance);
        const user = resource.id === undefined ? await provisionUser(ctx, actor, orgId, input) : await replaceUser(ctx, actor, orgId, resource.id, input);
        return userView(user, await ctx.store.scim.groupsOfUser(orgId, user.userId));
      }),
    )
    .degress((resource, raw) =>
      guarded(raw, async ({ ctx, actor, orgId }) => {
        if (resource.id === undefined) throw notFound('user');
        await deprovisionUser(ctx, actor, orgId, resource.id);
      }),
    );
  const Group = SCIMMY.Resources.declare(SCIMMY.Resources.Group);
  Group.basepath(SCIM_BASE);
  Group.egress((resource, raw) =>
      guarded(raw, async ({ ctx, orgId, filter }) => {
        const names = new Map((await ctx.store.scim.listUsers(orgId)).map((u) => [u.userId, u.userName]));
        if (resource.id !== undefined) {
          const group = await ctx.store.scim.getGroup(orgId, resource.id);
          if (group === undefined) throw notFound('group');
          return groupView(group, names);
        }
        const all = (await ctx.store.scim.listGroups(orgId)).map((g) => groupView(g, names));
        return filter === undefined ? all : applyFilter(filter, all, SCIMMY.Schemas.Group.definition);
      }),
    )
    .ingress((resource, instance, raw) =>
      guarded(raw, async ({ ctx, actor, orgId }) => {
        const input = plain(instance);
        const group = resource.id === undefined ? await createGroup(ctx, actor, orgId, input) : await replaceGroup(ctx, actor, orgId, resource.id, input);
        const names = new Map((await ctx.store.scim.listUsers(orgId)).map((u) => [u.userId, u.userName]));
        return groupView(group, names);
      }),
    )
    .degress((resource, raw) =>
      guarded(raw, async ({ ctx, actor, orgId }) => {
        if (resource.id === undefined) throw notFound('group');
        await deleteGroup(ctx, actor, orgId, resource.id);
      }),
    );
  // Discovery resources are SCIMMY's own (not declared); only their locations are ours.
  SCIMMY.Resources.Schema.basepath(SCIM_BASE);
  SCIMMY.Resources.ResourceType.basepath(SCIM_BASE);
  SCIMMY.Resources.ServiceProviderConfig.basepath(SCIM_BASE);
}
