import * as z from 'zod';
import { getKeyPolicy, setKeyPolicy } from '../services/key-policy.ts';
import { GatehouseError } from '../errors.ts';
import { createKey, getKey, listKeys, MAX_OVERLAP_SECONDS, renameKey, revokeKey, rotateKey, scheduleKeyRotation } from '../services/keys.ts';
import { ROTATION_DAYS } from '../store/types.ts';
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
  status: z
    .enum(['active', 'retiring', 'revoked', 'expired'])
    .describe('retiring: rotated with an overlap, it works until retiresAt; revoked: revoked, or its overlap has ended'),
  rotationDays: z.number().int().nullable().describe('Days between rotations (30, 60, 90 or 180); null: no schedule'),
  rotationDueAt: z.string().nullable().describe('When the key is due for rotation: its creation plus its schedule'),
  rotationStatus: z
    .enum(['none', 'scheduled', 'due', 'overdue'])
    .describe('scheduled: not due yet; due: past its due date; overdue: a whole further period past it; none: no schedule, or the key no longer works or is being replaced'),
  retiresAt: z.string().nullable().describe('Set on a key rotated with an overlap: it works until then, never after'),
  policyExempt: z.boolean().describe("The first owner key (and its replacements): '*' without an expiry whatever the key policy"),
});

const rotationDays = z
  .union(ROTATION_DAYS.map((d) => z.literal(d)))
  .describe('Rotate every 30, 60, 90 or 180 days: the key is reported due (API, CLI, audit) from its creation plus that');

/** The one answer that carries a key: at creation and at rotation, never again. */
const createdKey = z.object({ key: z.string().describe('The API key, shown this once'), record: keyView });

const rotatedKey = createdKey.extend({
  retiresAt: z.string().nullable().describe('When the old key stops working (the end of the overlap); null: it already has'),
});

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
      rotationDays: rotationDays.optional().describe('Default: no rotation schedule'),
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
    summary: 'Rename a key, or set or clear its rotation schedule',
    tag: 'keys',
    params: keyId,
    body: z.strictObject({
      name: keyName.optional(),
      rotationDays: rotationDays.nullable().optional().describe('null: no schedule; absent: unchanged'),
    }),
    response: { status: 200, description: 'The key', schema: keyView },
    handle: async ({ services, actor, orgId, params, body }) => {
      if (body.name === undefined && body.rotationDays === undefined) throw new GatehouseError('bad_request', 'Give a name or a rotationDays (null clears the schedule)');
      let view = body.name === undefined ? undefined : await renameKey(services, actor, orgId, params.id, body.name);
      if (body.rotationDays !== undefined) view = await scheduleKeyRotation(services, actor, orgId, params.id, body.rotationDays);
      return json(200, view);
    },
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
    summary: 'Replace a key with a new one of the same rights and schedule; the old one stops working at once, or after the overlap',
    tag: 'keys',
    params: keyId,
    body: z.strictObject({
      overlapSeconds: z
        .number()
        .int()
        .min(0)
        .max(MAX_OVERLAP_SECONDS)
        .optional()
        .describe('How long the old key keeps working beside the new one, at most 30 days (2592000); default 0: it stops at once'),
    }),
    response: { status: 201, description: 'The new key, shown once, its record, and when the old one stops working', schema: rotatedKey },
    handle: async ({ services, actor, orgId, params, body }) => json(201, await rotateKey(services, actor, orgId, params.id, { overlapSeconds: body.overlapSeconds })),
  }),
];
