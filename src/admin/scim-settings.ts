import * as z from 'zod';
import { getScimSettings, revokeScimToken, rotateScimToken, setScimRoleMappings } from '../services/scim-settings.ts';
import { storeScimContext } from '../services/scim-roles.ts';
import { defineRoute, json } from './route.ts';
import { roleSchema } from './schemas.ts';

const tokenView = z.object({ id: z.string(), displayPrefix: z.string(), createdBy: z.string(), createdAt: z.string() });
const roleMapping = z.strictObject({
  idpGroup: z.string().min(1).max(256).describe("The IdP group's displayName or externalId, matched exactly"),
  role: roleSchema,
});
const settingsView = z.object({ token: tokenView.nullable(), roleMappings: z.array(roleMapping) });

/**
 * The SCIM settings. A mapping change that takes someone's membership away revokes their keys in the store's
 * transaction and ends their browser sessions in the organisation (storeScimContext); the gateway refuses the keys
 * on the next request and its reaper closes their MCP sessions.
 */
export const scimSettingsRoutes = [
  defineRoute({
    method: 'GET',
    path: '/scim',
    action: 'scim.read',
    operationId: 'getScimSettings',
    summary: "The organisation's SCIM token (metadata only) and IdP group -> role mappings",
    tag: 'scim',
    response: { status: 200, description: 'The SCIM settings', schema: settingsView },
    handle: async ({ services, actor, orgId }) => json(200, await getScimSettings(services, actor, orgId)),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/scim',
    action: 'scim.mapping.update',
    operationId: 'setScimRoleMappings',
    summary: 'Replace the IdP group -> role mappings (highest role wins; owner only by an owner); roles follow at once',
    tag: 'scim',
    body: z.strictObject({ roleMappings: z.array(roleMapping).max(200) }),
    response: { status: 200, description: 'The SCIM settings', schema: settingsView },
    handle: async ({ services, actor, orgId, body }) => {
      await setScimRoleMappings(storeScimContext(services), actor, orgId, body.roleMappings);
      return json(200, await getScimSettings(services, actor, orgId));
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/scim/token',
    action: 'scim.token.rotate',
    operationId: 'rotateScimToken',
    shownOnce: 'token',
    summary: 'Issue the SCIM token (gths_…), replacing any previous one at once; the token is in this answer only',
    tag: 'scim',
    body: z.strictObject({}),
    response: { status: 201, description: 'The token, shown once, and its record', schema: z.object({ token: z.string(), record: tokenView }) },
    handle: async ({ services, actor, orgId }) => json(201, await rotateScimToken(storeScimContext(services), actor, orgId)),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/scim/token',
    action: 'scim.token.revoke',
    operationId: 'revokeScimToken',
    summary: 'Revoke the SCIM token; provisioning stops until a new one is issued',
    tag: 'scim',
    response: { status: 204, description: 'Revoked' },
    handle: async ({ services, actor, orgId }) => {
      await revokeScimToken(storeScimContext(services), actor, orgId);
      return json(204);
    },
  }),
];
