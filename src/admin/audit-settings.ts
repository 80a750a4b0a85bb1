import * as z from 'zod';
import { getAuditSettings, pruneAudit, updateAuditSettings } from '../services/audit-retention.ts';
import { defineRoute, json } from './route.ts';

const settingsView = z.object({
  orgId: z.string(),
  retentionDays: z.number().int().nullable().describe('Records older than this many days are removed, whole checkpointed segments at a time; null: kept'),
  viewerExport: z.boolean().describe('Viewers may export the log in bulk (owners and admins always may)'),
  updatedAt: z.string(),
});

const pruneView = z.object({
  orgId: z.string(),
  dryRun: z.boolean(),
  removed: z.number().int(),
  firstSeq: z.number().int().nullable(),
  lastSeq: z.number().int().nullable(),
  note: z.string().nullable(),
});

/** Audit retention and the viewers' export grant; listed before `/audit/{hash}`. */
export const auditSettingsRoutes = [
  defineRoute({
    method: 'GET',
    path: '/audit/settings',
    action: 'audit.settings.read',
    operationId: 'getAuditSettings',
    summary: "Your organisation's audit retention and whether viewers may export",
    tag: 'audit',
    response: { status: 200, description: 'The settings (defaults when never set: retention off, no viewer export)', schema: settingsView },
    handle: async ({ services, actor, orgId }) => json(200, await getAuditSettings(services, actor, orgId)),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/audit/settings',
    action: 'audit.settings.update',
    operationId: 'updateAuditSettings',
    summary: 'Set audit retention (days, or null for off) and grant or revoke bulk export to viewers (owners)',
    tag: 'audit',
    body: z.strictObject({
      retentionDays: z.number().int().min(1).max(3650).nullable().optional(),
      viewerExport: z.boolean().optional(),
    }),
    response: { status: 200, description: 'The settings now', schema: settingsView },
    handle: async ({ services, actor, orgId, body }) => json(200, await updateAuditSettings(services, actor, orgId, body)),
  }),
  defineRoute({
    method: 'POST',
    path: '/audit/prune',
    action: 'audit.prune',
    operationId: 'pruneAudit',
    summary: 'Apply retention now: remove whole checkpointed segments older than it, leaving a signed tombstone (owners)',
    tag: 'audit',
    body: z.strictObject({ dryRun: z.boolean().optional() }),
    response: { status: 200, description: 'What was (or, for a dry run, would be) removed', schema: pruneView },
    handle: async ({ services, actor, orgId, body }) => json(200, await pruneAudit(services, actor, orgId, { dryRun: body.dryRun })),
  }),
];
