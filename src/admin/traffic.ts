import * as z from 'zod';
import { getTraffic, setAddressLimit, setApprovalRule, setDenyList, setKeyTier, setOrgLimit, setQuota, setToolLimit } from '../services/traffic.ts';
import { QUOTA_KINDS, type TrafficSettings } from '../store/traffic-types.ts';
import { defineRoute, json } from './route.ts';

const limitText = z.string().min(1).max(64).describe('<n>/<s|m|h>[,burst=<n>], e.g. 100/s or 300/m,burst=50');
const trafficView = z.object({
  orgLimit: z.string().nullable().describe("All the organisation's requests together; null: none of its own"),
  addressLimit: z.string().nullable().describe("Per client address over all the organisation's keys, after authentication; null: none of its own"),
  toolLimits: z.array(z.object({ pattern: z.string(), limit: z.string() })).describe('Per connector/tool pattern, shared by all keys'),
  keyTiers: z.record(z.string(), z.string()).describe('Key id -> tier (unlimited, requests per second, or a limit)'),
  deny: z.object({ mcp: z.array(z.string()), api: z.array(z.string()) }).describe('Ranges refused per plane, whatever the allowlist says'),
  approvals: z.array(z.string()).describe("connector/tool patterns whose calls a person approves first"),
  quotas: z
    .object({ perKey: z.record(z.string(), z.number().int()), perOrg: z.record(z.string(), z.number().int()) })
    .describe("The organisation's own ceilings (session, stream, upstream, process) per key and in all; the gateway's stay the most"),
  updatedAt: z.string(),
});

function view(s: TrafficSettings): z.output<typeof trafficView> {
  return {
    orgLimit: s.orgLimit,
    addressLimit: s.addressLimit,
    toolLimits: s.toolLimits.map((l) => ({ ...l })),
    keyTiers: { ...s.keyTiers },
    deny: { mcp: [...s.deny.mcp], api: [...s.deny.api] },
    approvals: [...s.approvals],
    quotas: { perKey: { ...s.quotas.perKey }, perOrg: { ...s.quotas.perOrg } },
    updatedAt: s.updatedAt,
  };
}

const response = { status: 200, description: "The organisation's traffic settings", schema: trafficView } as const;

/** Rate limits (organisation, tools, key tiers) and deny lists. Every change applies to the next request. */
export const trafficRoutes = [
  defineRoute({
    method: 'GET',
    path: '/traffic',
    action: 'traffic.read',
    operationId: 'getTraffic',
    summary: "The organisation's rate limits, key tiers and deny lists",
    tag: 'traffic',
    response,
    handle: async ({ services, actor, orgId }) => json(200, view(await getTraffic(services, actor, orgId))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/traffic/org-limit',
    action: 'traffic.update',
    operationId: 'setOrgLimit',
    summary: "Set the organisation's total limit over all its keys; null lifts it",
    tag: 'traffic',
    body: z.strictObject({ limit: limitText.nullable() }),
    response,
    handle: async ({ services, actor, orgId, body }) => json(200, view(await setOrgLimit(services, actor, orgId, body.limit))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/traffic/address-limit',
    action: 'traffic.update',
    operationId: 'setAddressLimit',
    summary: "Set the organisation's own limit per client address over all its keys; null lifts it (the gateway's own still applies)",
    tag: 'traffic',
    body: z.strictObject({ limit: limitText.nullable() }),
    response,
    handle: async ({ services, actor, orgId, body }) => json(200, view(await setAddressLimit(services, actor, orgId, body.limit))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/traffic/tools',
    action: 'traffic.update',
    operationId: 'setToolLimit',
    summary: 'Set the limit of the tools a connector/tool pattern matches (either part * or ending in *); null removes it',
    tag: 'traffic',
    body: z.strictObject({ pattern: z.string().min(3).max(200), limit: limitText.nullable() }),
    response,
    handle: async ({ services, actor, orgId, body }) => json(200, view(await setToolLimit(services, actor, orgId, body.pattern, body.limit))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/traffic/keys/{id}',
    action: 'traffic.update',
    operationId: 'setKeyTier',
    summary: "Assign a key its tier: unlimited, requests per second (5, 10, 100, 1000) or a limit; null: the gateway's default",
    tag: 'traffic',
    params: z.strictObject({ id: z.string().min(1).max(64) }),
    body: z.strictObject({ tier: z.string().min(1).max(64).nullable() }),
    response,
    handle: async ({ services, actor, orgId, params, body }) => json(200, view(await setKeyTier(services, actor, orgId, params.id, body.tier))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/traffic/quotas/{kind}',
    action: 'traffic.update',
    operationId: 'setQuota',
    summary: "Set the organisation's own ceiling of open sessions, streams, upstream connections or processes, per key and in all; null: the gateway's",
    tag: 'traffic',
    params: z.strictObject({ kind: z.enum(QUOTA_KINDS) }),
    body: z.strictObject({ perKey: z.number().int().min(0).max(100_000).nullable().optional(), perOrg: z.number().int().min(0).max(100_000).nullable().optional() }),
    response,
    handle: async ({ services, actor, orgId, params, body }) => {
      if (body.perKey === undefined && body.perOrg === undefined) return json(200, view(await getTraffic(services, actor, orgId)));
      let s: TrafficSettings | undefined;
      if (body.perKey !== undefined) s = await setQuota(services, actor, orgId, params.kind, 'key', body.perKey);
      if (body.perOrg !== undefined) s = await setQuota(services, actor, orgId, params.kind, 'organisation', body.perOrg);
      return json(200, view(s as TrafficSettings));
    },
  }),
  defineRoute({
    method: 'PUT',
    path: '/traffic/approvals',
    action: 'traffic.update',
    operationId: 'setApprovalRule',
    summary: 'Mark the tools a connector/tool pattern matches as needing human approval per call (required: false unmarks them)',
    tag: 'traffic',
    body: z.strictObject({ pattern: z.string().min(3).max(200), required: z.boolean() }),
    response,
    handle: async ({ services, actor, orgId, body }) => json(200, view(await setApprovalRule(services, actor, orgId, body.pattern, body.required))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/traffic/deny/{plane}',
    action: 'network.update',
    operationId: 'setDenyList',
    summary: "Replace one plane's deny list (IPv4 or IPv6 CIDRs; empty refuses no one). Deny beats the allowlist",
    tag: 'network',
    params: z.strictObject({ plane: z.enum(['mcp', 'api']) }),
    body: z.strictObject({ cidrs: z.array(z.string().min(1).max(64)).max(256) }),
    response,
    handle: async ({ services, actor, orgId, params, body }) => json(200, view(await setDenyList(services, actor, orgId, params.plane, body.cidrs))),
  }),
];
