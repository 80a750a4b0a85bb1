import * as z from 'zod';
import { COMMITTED_FIELDS } from '../gateway/audit/chain.ts';
import { PII_FIELDS } from '../gateway/audit/export.ts';
import { auditPublicKey, authorizeExport, exportAudit, getAuditRecord, searchAudit, verifyAudit, verifyAuditExport } from '../services/audit.ts';
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
  salt: z.string().nullable().describe('Version-2 records: the seed of the per-field salts (README "Audit"); null for version 1'),
});

const filters = {
  action: z.string().min(1).max(100).optional().describe('Exact action, or a prefix ending in * (key.*)'),
  decision: z.enum(['allow', 'deny', 'error']).optional(),
  actorKeyId: z.string().min(1).max(128).optional(),
  actorUser: z.string().min(1).max(320).optional(),
  since: isoTime.optional().describe('Inclusive'),
  until: isoTime.optional().describe('Exclusive'),
  connector: z.string().min(1).max(128).optional().describe('The connector a data-path request resolved to'),
};

const REDACTABLE = z.enum(COMMITTED_FIELDS);

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
    handle: async ({ services, actor, orgId, query }) => {
      const { connector, after, ...rest } = query;
      return json(200, await searchAudit(services, actor, orgId, { ...rest, targetConnector: connector, afterSeq: after }));
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/audit/export',
    action: 'audit.export',
    operationId: 'exportAudit',
    summary: 'The chain as NDJSON with its signed checkpoints, verifiable offline with the public key; filtered or redacted, it still verifies',
    tag: 'audit',
    query: z.strictObject({
      ...filters,
      redact: z
        .string()
        .max(300)
        .optional()
        .transform((v, c) => {
          if (v === undefined) return undefined;
          const names = v === 'pii' ? [...PII_FIELDS] : v.split(',').map((f) => f.trim());
          const parsed = z.array(REDACTABLE).safeParse(names);
          if (!parsed.success) {
            c.addIssue({ code: 'custom', message: `redact: pii, or fields among ${COMMITTED_FIELDS.join(', ')}` });
            return z.NEVER;
          }
          return parsed.data;
        })
        .describe('pii (actorUser, clientIp, args), or a comma-separated list of fields: each is replaced by its digest'),
    }),
    response: { status: 200, description: 'JSON lines: records, link lines for records a filter left out, checkpoints', contentType: 'application/x-ndjson', schema: auditRecordView },
    handle: async ({ services, actor, orgId, query }) => {
      const { connector, redact, ...rest } = query;
      await authorizeExport(services, actor, orgId);
      return {
        status: 200,
        contentType: 'application/x-ndjson',
        stream: exportAudit(services, actor, orgId, { ...rest, targetConnector: connector }, { redact }),
      };
    },
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
        checkpoints: z.object({ verified: z.number().int(), latestSeq: z.number().int().nullable() }),
        pruned: z.object({ tombstones: z.number().int(), throughSeq: z.number().int() }).nullable().describe('Retention: the chain starts after record throughSeq'),
      }),
    },
    handle: async ({ services, actor, orgId }) => json(200, await verifyAudit(services, actor, orgId)),
  }),
  defineRoute({
    method: 'POST',
    path: '/audit/verify',
    action: 'audit.verify',
    operationId: 'verifyAuditExport',
    summary: 'Verify an uploaded export (NDJSON, as GET /audit/export gives) with a public key, as `audit verify --file` does',
    tag: 'audit',
    body: z.strictObject({
      export: z.string().min(1).describe('The export file as text: JSON lines. The request body limit (GATEHOUSE_MAX_BODY_BYTES) bounds it'),
      publicKey: z.string().min(1).max(4096).optional().describe('Ed25519 SPKI PEM; default: the deployment\'s current key'),
    }),
    response: {
      status: 200,
      description: 'The verification report: ok, or the first bad record, its line and why',
      schema: z.object({
        ok: z.boolean(),
        records: z.number().int(),
        links: z.number().int(),
        checkpoints: z.number().int(),
        anchored: z.number().int(),
        unanchored: z.number().int(),
        firstBreak: z.object({ seq: z.number().int(), line: z.number().int(), reason: z.string() }).optional(),
        keyId: z.string().nullable().describe('The stored key used, or null for a given one'),
      }),
    },
    handle: async ({ services, actor, orgId, body }) => json(200, await verifyAuditExport(services, actor, orgId, body.export, body.publicKey)),
  }),
  defineRoute({
    method: 'GET',
    path: '/audit/public-key',
    action: 'audit.verify',
    operationId: 'getAuditPublicKey',
    summary: 'The Ed25519 public key (SPKI PEM) that verifies the signed checkpoints of exports',
    tag: 'audit',
    response: { status: 200, description: 'The key', schema: z.object({ keyId: z.string(), publicKey: z.string() }) },
    handle: async ({ services, actor }) => json(200, await auditPublicKey(services, actor)),
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
