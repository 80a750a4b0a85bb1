import * as z from 'zod';
import { exportAudit, getAuditRecord, searchAudit, verifyAudit } from '../services/audit.ts';
import { defineRoute, json } from './route.ts';
import { idParam, isoTime, queryInt } from './schemas.ts';

export const auditRecordView = z.object({
  seq: z.number().int(),
  ts: z.string(),
  orgId: z.string(),
  actorKeyId: z.string().nullable(),
  actorUser: z.string().nullable(),
  clientIp: z.string().nullable(),
  action: z.string(),
  targetConnector: z.string().nullable(),
  targetName: z.string().nullable(),
  decision: z.enum(['allow', 'deny', 'error']),
  reason: z.string().nullable(),
  latencyMs: z.number().nullable(),
  correlationId: z.string().nullable(),
  args: z.string().nullable().describe('JSON text of the arguments, secret-looking values redacted'),
  detail: z.string().nullable().describe('JSON object text of what the stages found and decided (guardrail findings, policies, limits), never matched values'),
  prevHash: z.string(),
  hash: z.string(),
});

const filters = {
  action: z.string().min(1).max(100).optional().describe('Exact action, or a prefix ending in * (key.*)'),
  decision: z.enum(['allow', 'deny', 'error']).optional(),
  actorKeyId: z.string().min(1).max(128).optional(),
  actorUser: z.string().min(1).max(320).optional(),
  since: isoTime.optional().describe('Inclusive'),
  until: isoTime.optional().describe('Exclusive'),
};

export const auditRoutes = [
  defineRoute({
    method: 'GET',
    path: '/audit',
    action: 'audit.read',
    operationId: 'listAudit',
    summary: "Your organisation's audit records, filtered, in chain order",
    tag: 'audit',
    query: z.strictObject({ ...filters, after: queryInt(0, Number.MAX_SAFE_INTEGER).optional(), limit: queryInt(1, 1000).optional() }),
    response: {
      status: 200,
      description: 'One page; pass nextAfter as after for the next',
      schema: z.object({ records: z.array(auditRecordView), nextAfter: z.number().int().nullable() }),
    },
    handle: async ({ services, actor, orgId, query }) =>
      json(200, await searchAudit(services, actor, orgId, { ...query, afterSeq: query.after })),
  }),
  defineRoute({
    method: 'GET',
    path: '/audit/export',
    action: 'audit.export',
    operationId: 'exportAudit',
    summary: 'The chain as NDJSON, one record a line; unfiltered it can be verified again offline',
    tag: 'audit',
    query: z.strictObject(filters),
    response: { status: 200, description: 'JSON lines', contentType: 'application/x-ndjson', schema: auditRecordView },
    handle: ({ services, actor, orgId, query }) =>
      Promise.resolve({ status: 200, contentType: 'application/x-ndjson', stream: exportAudit(services, actor, orgId, query) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/audit/verify',
    action: 'audit.verify',
    operationId: 'verifyAudit',
    summary: "Verify your organisation's hash chain from its first record",
    tag: 'audit',
    response: {
      status: 200,
      description: 'The verification report',
      schema: z.object({
        chain: z.string(),
        ok: z.boolean(),
        verified: z.number().int(),
        headHash: z.string(),
        firstBreak: z.object({ seq: z.number().int(), reason: z.string() }).optional(),
      }),
    },
    handle: async ({ services, actor, orgId }) => json(200, await verifyAudit(services, actor, orgId)),
  }),
  defineRoute({
    method: 'GET',
    path: '/audit/{hash}',
    action: 'audit.read',
    operationId: 'getAuditRecord',
    summary: 'One audit record, by its hash',
    tag: 'audit',
    params: idParam('hash'),
    response: { status: 200, description: 'The record', schema: auditRecordView },
    handle: async ({ services, actor, orgId, params }) => json(200, await getAuditRecord(services, actor, orgId, params.hash)),
  }),
];
