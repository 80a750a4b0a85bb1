import * as z from 'zod';
import { addConnector, getConnector, LIMIT_RANGES, listConnectors, removeConnector, updateConnector } from '../services/connectors.ts';
import { disconnectUpstream, startUpstreamConnect, upstreamConnection } from '../services/upstream-oauth.ts';
import { setCookie, UPSTREAM_CONNECT_COOKIE } from '../identity/session-cookie.ts';
import { defineRoute, json } from './route.ts';
import { idParam } from './schemas.ts';

/** A header or variable as shown: a secret one has its name only, never its value. */
const shownValue = z.object({ name: z.string(), secret: z.boolean(), value: z.string().optional() });

const limit = (min: number, max: number, what: string) => z.number().int().min(min).max(max).optional().describe(what);
const limitsShape = {
  timeoutMs: limit(...LIMIT_RANGES.timeoutMs, 'Wait for an answer or a progress notification, in ms (each one restarts it)'),
  maxCallMs: limit(...LIMIT_RANGES.maxCallMs, 'Hard maximum of one call, in ms; progress does not extend it'),
  maxConcurrent: limit(...LIMIT_RANGES.maxConcurrent, 'Calls in flight at once (per replica); the next is refused with 503'),
  breakerFailures: limit(...LIMIT_RANGES.breakerFailures, 'Failures in a row that open the circuit'),
  breakerOpenMs: limit(...LIMIT_RANGES.breakerOpenMs, 'How long an open circuit refuses before one probe'),
};
const limitsInput = z.strictObject(limitsShape);
const limitsView = z.object(limitsShape);

export const connectorView = z.object({
  id: z.string(),
  name: z.string(),
  type: z.enum(['http', 'stdio']),
  url: z.string().optional(),
  allowPrivateNetwork: z.boolean().optional().describe('Set by the operator (CLI) only: the connector may reach non-public addresses'),
  propagateTraceContext: z.boolean().optional().describe('The upstream is sent the W3C trace context (traceparent) of each call when tracing is on'),
  command: z.string().optional(),
  args: z.array(z.string()).optional(),
  headers: z.array(shownValue).optional(),
  env: z.array(shownValue).optional(),
  limits: limitsView.optional().describe('The connector’s own limits; unset ones take the gateway defaults'),
  health: z
    .object({
      connection: z.string().describe('The shared connection: connecting, ready, down or closed'),
      breaker: z.enum(['closed', 'open', 'half-open']),
      inFlight: z.number().int(),
      consecutiveFailures: z.number().int(),
      recentFailures: z.number().int().describe('Failures in the last minute'),
      lastError: z.object({ code: z.string().describe('An error class (code), never upstream text'), at: z.string() }).nullable(),
      retryAt: z.string().nullable().describe('When an open circuit lets its next probe through'),
    })
    .optional()
    .describe('How the running gateway (this replica) sees the connector'),
  oauth: z
    .object({ mode: z.enum(['client_credentials', 'user']), clientId: z.string(), clientSecret: z.boolean(), privateKey: z.string().optional(), scope: z.string().optional(), authMethod: z.string().optional(), issuer: z.string().optional() })
    .optional()
    .describe('OAuth client credentials the gateway uses for this upstream; whether a secret is held, never the secret'),
  createdAt: z.string(),
});

const oauthInput = z
  .strictObject({
    mode: z.enum(['client_credentials', 'user']).optional().describe('client_credentials (default): one token for the connector; user: each member connects their own account'),
    clientId: z.string().min(1).max(512).optional().describe('Required for client_credentials; in user mode, absent: a client ID metadata document or dynamic registration'),
    clientSecret: z.string().max(4096).optional(),
    scope: z.string().max(1024).optional(),
    authMethod: z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']).optional(),
    issuer: z.string().max(2048).optional(),
    privateKeyPem: z.string().max(16_384).optional().describe('For private_key_jwt: a PKCS#8 PEM key, sealed and never shown'),
    signingAlg: z.string().max(16).optional(),
  })
  .describe('OAuth client credentials for an upstream that wants access tokens; the secret is sealed and never shown');

/** A value to store. `secret` values (and credential-looking names) are encrypted and never shown again. */
const valueInput = z.strictObject({
  name: z.string().min(1).max(128),
  value: z.string().max(8192),
  secret: z.boolean().default(false),
});
const values = z.array(valueInput).max(50);
const connectorName = z.string().min(1).max(32);

const createBody = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('http'),
    name: connectorName,
    url: z.string().min(1).max(2048),
    headers: values.default([]),
    limits: limitsInput.optional(),
    oauth: oauthInput.optional(),
    propagateTraceContext: z.boolean().optional().describe('Send the upstream the W3C trace context (traceparent) of each call when tracing is on'),
  }),
  z
    .strictObject({
      type: z.literal('stdio'),
      name: connectorName,
      command: z.string().min(1).max(1024),
      args: z.array(z.string().max(4096)).max(100).default([]),
      env: values.default([]),
      cwd: z.string().max(1024).optional(),
      limits: limitsInput.optional(),
    })
    .describe('Runs a command on the gateway host: reserved to the operator (CLI); refused with 403 here'),
]);

const patchBody = z.strictObject({
  name: connectorName.optional(),
  url: z.string().min(1).max(2048).optional(),
  headers: values.optional().describe('Replaces every header; secret values must be given again'),
  oauth: oauthInput.nullable().optional().describe('Replaces the OAuth settings (the secret must be given again); null removes them'),
  propagateTraceContext: z.boolean().optional().describe('HTTP connectors: send the upstream the W3C trace context of each call'),
  command: z.string().min(1).max(1024).optional(),
  args: z.array(z.string().max(4096)).max(100).optional(),
  env: values.optional().describe('Replaces every variable; secret values must be given again'),
  cwd: z.string().max(1024).optional(),
  limits: limitsInput.nullable().optional().describe('Replaces the connector’s limits; null clears them'),
});

const connectorId = idParam('id');

const connectStarted = z.object({ authorizationUrl: z.string(), expiresAt: z.string().describe('When the connect link stops working') });
const connectionView = z.object({ connected: z.boolean(), scope: z.string().nullable(), expiresAt: z.string().nullable().describe("When the access token expires; it is refreshed before then") });
const disconnectedView = z.object({ removed: z.boolean(), revoked: z.boolean() });

export const connectorRoutes = [
  defineRoute({
    method: 'GET',
    path: '/connectors',
    action: 'connector.read',
    operationId: 'listConnectors',
    summary: 'List connectors (secret values are never returned)',
    tag: 'connectors',
    response: { status: 200, description: 'The connectors', schema: z.object({ connectors: z.array(connectorView) }) },
    handle: async ({ services, actor, orgId }) => json(200, { connectors: await listConnectors(services, actor, orgId) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/connectors',
    action: 'connector.create',
    operationId: 'createConnector',
    summary: 'Add an upstream MCP server',
    tag: 'connectors',
    body: createBody,
    response: { status: 201, description: 'The connector', schema: connectorView },
    handle: async ({ services, actor, orgId, body }) => json(201, await addConnector(services, actor, { ...body, orgId })),
  }),
  defineRoute({
    method: 'GET',
    path: '/connectors/{id}',
    action: 'connector.read',
    operationId: 'getConnector',
    summary: 'One connector',
    tag: 'connectors',
    params: connectorId,
    response: { status: 200, description: 'The connector', schema: connectorView },
    handle: async ({ services, actor, orgId, params }) => json(200, await getConnector(services, actor, orgId, params.id)),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/connectors/{id}',
    action: 'connector.update',
    operationId: 'updateConnector',
    summary: 'Change a connector',
    tag: 'connectors',
    params: connectorId,
    body: patchBody,
    response: { status: 200, description: 'The connector', schema: connectorView },
    handle: async ({ services, actor, orgId, params, body }) => json(200, await updateConnector(services, actor, orgId, params.id, body)),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/connectors/{id}',
    action: 'connector.delete',
    operationId: 'deleteConnector',
    summary: 'Remove a connector',
    tag: 'connectors',
    params: connectorId,
    response: { status: 204, description: 'Removed' },
    handle: async ({ services, actor, orgId, params }) => {
      await removeConnector(services, actor, orgId, params.id);
      return json(204);
    },
  }),
  // OAuth per user: the caller's own account at the connector's upstream (services/upstream-oauth.ts).
  defineRoute({
    method: 'GET',
    path: '/connectors/{id}/oauth/connect',
    action: 'connector.oauth_connect',
    operationId: 'connectUpstreamAccount',
    summary: "Connect your own account at the connector's upstream: redirects the browser to its authorization server (PKCE S256, resource indicator); the gateway's /auth/upstream/callback stores your tokens when the same browser (its cookie) comes back",
    tag: 'connectors',
    params: connectorId,
    response: { status: 302, description: 'To the authorization server (Location); the same URL in the body', schema: connectStarted },
    handle: async ({ services, actor, orgId, params }) => {
      const { browser, ...started } = await startUpstreamConnect(services, actor, orgId, params.id);
      const headers = { location: started.authorizationUrl, 'cache-control': 'no-store', 'set-cookie': setCookie(UPSTREAM_CONNECT_COOKIE, browser, 600) };
      return { status: 302, body: started, headers };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/connectors/{id}/oauth/connection',
    action: 'connector.oauth_connect',
    operationId: 'getUpstreamConnection',
    summary: "Whether you have connected your own account at the connector's upstream (never a token)",
    tag: 'connectors',
    params: connectorId,
    response: { status: 200, description: 'Your connection', schema: connectionView },
    handle: async ({ services, actor, orgId, params }) => json(200, await upstreamConnection(services, actor, orgId, params.id)),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/connectors/{id}/oauth/connection',
    action: 'connector.oauth_connect',
    operationId: 'disconnectUpstreamAccount',
    summary: "Disconnect your own account: your tokens are revoked at the authorization server (RFC 7009) where it offers revocation, and deleted",
    tag: 'connectors',
    params: connectorId,
    response: { status: 200, description: 'Whether tokens were held, and whether the server confirmed their revocation', schema: disconnectedView },
    handle: async ({ services, actor, orgId, params }) => json(200, await disconnectUpstream(services, actor, orgId, params.id)),
  }),
];
