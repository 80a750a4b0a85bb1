import * as z from 'zod';
import { getAllowlist, PLANES, setAllowlist } from '../services/network.ts';
import { addIssuer, listIssuers, removeIssuer } from '../services/oauth-issuers.ts';
import type { NetworkAllowlist, NetworkPlane, OAuthIssuerRecord } from '../store/types.ts';
import { defineRoute, json } from './route.ts';

const planeSchema = z.enum(['mcp', 'api']).describe('mcp: the MCP endpoints; api: the dashboard, the admin API, sign-in sessions and SCIM');
const planeView = z.object({
  plane: planeSchema,
  restricted: z.boolean().describe('false: any address may reach the plane'),
  cidrs: z.array(z.string()).nullable().describe('The allowed ranges; an empty list allows nothing'),
  updatedAt: z.string().nullable(),
});
const cidr = z.string().min(1).max(64);

function viewPlane(plane: NetworkPlane, list: NetworkAllowlist | undefined): z.output<typeof planeView> {
  return { plane, restricted: list !== undefined, cidrs: list === undefined ? null : [...list.cidrs], updatedAt: list?.updatedAt ?? null };
}

const issuerView = z.object({
  id: z.string(),
  issuer: z.string(),
  audience: z.string(),
  algorithms: z.array(z.string()),
  jwksUri: z.string(),
  scopeMap: z.record(z.string(), z.array(z.string())),
  requiredScopes: z.array(z.string()),
  servers: z.array(z.string()).nullable(),
  requireAtJwt: z.boolean(),
  createdBy: z.string(),
  createdAt: z.string(),
});

function viewIssuer(i: OAuthIssuerRecord): z.output<typeof issuerView> {
  const { orgId: _o, ...rest } = i;
  return { ...rest, algorithms: [...i.algorithms], requiredScopes: [...i.requiredScopes], servers: i.servers && [...i.servers],
    scopeMap: Object.fromEntries(Object.entries(i.scopeMap).map(([k, v]) => [k, [...v]])) };
}

/** Network rules (the organisation's IP allowlists per plane) and the OAuth issuers whose tokens agents may present. */
export const accessRuleRoutes = [
  defineRoute({
    method: 'GET',
    path: '/network',
    action: 'network.read',
    operationId: 'listNetworkAllowlists',
    summary: "The organisation's IP allowlists, one per plane",
    tag: 'network',
    response: { status: 200, description: 'Both planes', schema: z.object({ planes: z.array(planeView) }) },
    handle: async ({ services, actor, orgId }) =>
      json(200, { planes: await Promise.all(PLANES.map(async (p) => viewPlane(p, await getAllowlist(services, actor, orgId, p)))) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/network/{plane}',
    action: 'network.read',
    operationId: 'getNetworkAllowlist',
    summary: "One plane's IP allowlist",
    tag: 'network',
    params: z.strictObject({ plane: planeSchema }),
    response: { status: 200, description: 'The plane', schema: planeView },
    handle: async ({ services, actor, orgId, params }) => json(200, viewPlane(params.plane, await getAllowlist(services, actor, orgId, params.plane))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/network/{plane}',
    action: 'network.update',
    operationId: 'setNetworkAllowlist',
    summary: "Replace one plane's IP allowlist (IPv4 or IPv6 CIDRs); null lifts the restriction. Applies to the next request",
    tag: 'network',
    params: z.strictObject({ plane: planeSchema }),
    body: z.strictObject({ cidrs: z.array(cidr).min(1).max(256).nullable() }),
    response: { status: 200, description: 'The plane', schema: planeView },
    handle: async ({ services, actor, orgId, params, body }) =>
      json(200, viewPlane(params.plane, await setAllowlist(services, actor, orgId, params.plane, body.cidrs))),
  }),
  defineRoute({
    method: 'GET',
    path: '/oauth/issuers',
    action: 'oauth_issuer.read',
    operationId: 'listOAuthIssuers',
    summary: 'The OAuth issuers whose access tokens (JWT) agents of this organisation may present',
    tag: 'oauth',
    response: { status: 200, description: 'The issuers', schema: z.object({ issuers: z.array(issuerView) }) },
    handle: async ({ services, actor, orgId }) => json(200, { issuers: (await listIssuers(services, actor, orgId)).map(viewIssuer) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/oauth/issuers',
    action: 'oauth_issuer.create',
    operationId: 'addOAuthIssuer',
    summary: "Trust an issuer's access tokens; its scope map grants no more than the caller holds",
    tag: 'oauth',
    body: z.strictObject({
      issuer: z.string().min(1).max(512).describe('https (http only on loopback); names the organisation, so it belongs to one'),
      audience: z.string().min(1).max(512).describe("The resource tokens must be issued for: the gateway's canonical /mcp URL"),
      algorithms: z.array(z.string().max(16)).min(1).max(16).optional(),
      jwksUri: z.string().max(1024).optional().describe("Default: from the issuer's OpenID Connect or RFC 8414 metadata"),
      scopeMap: z.record(z.string().max(128), z.array(z.string().max(300)).max(256)).describe('Token scope value -> Gatehouse scopes'),
      requiredScopes: z.array(z.string().max(128)).max(32).optional(),
      servers: z.array(z.string().max(64)).min(1).max(256).optional(),
      requireAtJwt: z.boolean().optional(),
    }),
    response: { status: 201, description: 'The issuer', schema: issuerView },
    handle: async ({ services, actor, orgId, body }) => json(201, viewIssuer(await addIssuer(services, actor, { ...body, orgId }))),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/oauth/issuers/{id}',
    action: 'oauth_issuer.delete',
    operationId: 'removeOAuthIssuer',
    summary: 'Stop trusting an issuer (by id); its tokens are refused from the next request',
    tag: 'oauth',
    params: z.strictObject({ id: z.string().min(1).max(64) }),
    response: { status: 204, description: 'Removed' },
    handle: async ({ services, actor, orgId, params }) => {
      await removeIssuer(services, actor, orgId, params.id);
      return json(204);
    },
  }),
];
