import * as z from 'zod';
import { getKeyPolicy, setKeyPolicy } from '../services/key-policy.ts';
import { createKey, getKey, listKeys, renameKey, revokeKey, rotateKey } from '../services/keys.ts';
import { defineRoute, json } from './route.ts';
import { idParam, isoTime, roleSchema } from './schemas.ts';

export const keyView = z.object({
  id: z.string(),
  orgId: z.string(),
  userId: z.string().nullable(),
  name: z.string(),
  displayPrefix: z.string(),
  role: roleSchema,
  scopes: z.array(z.string()),
  servers: z.array(z.string()).nullable().describe('The virtual servers the key is restricted to; null: unrestricted'),
  cidrs: z.array(z.string()).nullable().describe('The networks the key may be used from; null: wherever the organisation allows'),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  status: z.enum(['active', 'revoked', 'expired']),
});

/** The one answer that carries a key: at creation and at rotation, never again. */
const createdKey = z.object({ key: z.string().describe('The API key, shown this once'), record: keyView });

const keyPolicyView = z.object({
  orgId: z.string(),
  maxLifetimeDays: z.number().int().nullable().describe('The longest a key may live, in days; null: no limit'),
  wildcard: z.enum(['allowed', 'with_expiry', 'refused']).describe("Whether keys may carry the '*' scope: always, only with an expiry, or never"),
  updatedAt: z.string().nullable(),
  stored: z.boolean().describe("false: no policy of the organisation's own; this is the default for the environment"),
});

const keyName = z.string().min(1).max(64);
const keyId = idParam('id');

export const keyRoutes = [
  defineRoute({
    method: 'GET',
    path: '/key-policy',
    action: 'key.read',
    operationId: 'getKeyPolicy',
    summary: "The organisation's key policy: the longest lifetime and whether '*' scopes are allowed",
    tag: 'keys',
    response: { status: 200, description: 'The key policy', schema: keyPolicyView },
    handle: async ({ services, actor, orgId }) => json(200, await getKeyPolicy(services, actor, orgId)),
  }),
  defineRoute({
    method: 'PUT',
    path: '/key-policy',
    action: 'org.update',
    operationId: 'setKeyPolicy',
    summary: 'Set the key policy; it applies to every key created or rotated from now on',
    tag: 'keys',
    body: z.strictObject({
      maxLifetimeDays: z.number().int().min(1).max(3650).nullable().optional().describe('null: no limit; absent: unchanged'),
      wildcard: z.enum(['allowed', 'with_expiry', 'refused']).optional().describe('absent: unchanged'),
    }),
    response: { status: 200, description: 'The key policy', schema: keyPolicyView },
    handle: async ({ services, actor, orgId, body }) => json(200, await setKeyPolicy(services, actor, orgId, body)),
  }),
  defineRoute({
    method: 'GET',
    path: '/keys',
    action: 'key.read',
    operationId: 'listKeys',
    summary: 'List keys (a member sees its own)',
    tag: 'keys',
    response: { status: 200, description: 'The keys', schema: z.object({ keys: z.array(keyView) }) },
    handle: async ({ services, actor, orgId }) => json(200, { keys: await listKeys(services, actor, orgId) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/keys',
    action: 'key.create',
    operationId: 'createKey',
    shownOnce: 'key',
    summary: 'Create a key; the key is in this answer only',
    tag: 'keys',
    body: z.strictObject({
      name: keyName,
      role: roleSchema.optional().describe('Default member; never more than your own role'),
      scopes: z.array(z.string().min(1).max(200)).min(1).max(100).describe('Never wider than your own key'),
      expiresAt: isoTime.optional().describe('Never later than your own key'),
      userId: z.string().min(1).max(128).optional().describe('The member the key acts for; a member may name only itself'),
      servers: z
        .array(z.string().min(1).max(64))
        .min(1)
        .max(100)
        .optional()
        .describe('Restricts the key to these virtual servers (never /mcp); default: as your own key is restricted'),
      cidrs: z
        .array(z.string().min(1).max(64))
        .min(1)
        .max(256)
        .optional()
        .describe('Restricts the key to clients from these networks (IPv4 or IPv6 CIDRs), within your own key’s; default: as your own key is restricted'),
    }),
    response: { status: 201, description: 'The key, shown once, and its record', schema: createdKey },
    handle: async ({ services, actor, orgId, body }) => json(201, await createKey(services, actor, { ...body, orgId })),
  }),
  defineRoute({
    method: 'GET',
    path: '/keys/{id}',
    action: 'key.read',
    operationId: 'getKey',
    summary: 'One key',
    tag: 'keys',
    params: keyId,
    response: { status: 200, description: 'The key', schema: keyView },
    handle: async ({ services, actor, orgId, params }) => json(200, await getKey(services, actor, orgId, params.id)),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/keys/{id}',
    action: 'key.update',
    operationId: 'updateKey',
    summary: 'Rename a key',
    tag: 'keys',
    params: keyId,
    body: z.strictObject({ name: keyName }),
    response: { status: 200, description: 'The key', schema: keyView },
    handle: async ({ services, actor, orgId, params, body }) => json(200, await renameKey(services, actor, orgId, params.id, body.name)),
  }),
  defineRoute({
    method: 'POST',
    path: '/keys/{id}/revoke',
    action: 'key.revoke',
    operationId: 'revokeKey',
    summary: 'Revoke a key; it stops working on the next request',
    tag: 'keys',
    params: keyId,
    body: z.strictObject({}),
    response: { status: 200, description: 'The revoked key', schema: keyView },
    handle: async ({ services, actor, orgId, params }) => json(200, await revokeKey(services, actor, orgId, params.id)),
  }),
  defineRoute({
    method: 'POST',
    path: '/keys/{id}/rotate',
    action: 'key.rotate',
    operationId: 'rotateKey',
    shownOnce: 'key',
    summary: 'Replace a key with a new one of the same rights; the old one stops working at once',
    tag: 'keys',
    params: keyId,
    body: z.strictObject({}),
    response: { status: 201, description: 'The new key, shown once, and its record', schema: createdKey },
    handle: async ({ services, actor, orgId, params }) => json(201, await rotateKey(services, actor, orgId, params.id)),
  }),
];
