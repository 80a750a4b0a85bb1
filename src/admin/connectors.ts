import * as z from 'zod';
import { addConnector, getConnector, listConnectors, removeConnector, updateConnector } from '../services/connectors.ts';
import { defineRoute, json } from './route.ts';
import { idParam } from './schemas.ts';

/** A header or variable as shown: a secret one has its name only, never its value. */
const shownValue = z.object({ name: z.string(), secret: z.boolean(), value: z.string().optional() });

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
  createdAt: z.string(),
});

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
    })
    .describe('Runs a command on the gateway host: reserved to the operator (CLI); refused with 403 here'),
]);

const patchBody = z.strictObject({
  name: connectorName.optional(),
  url: z.string().min(1).max(2048).optional(),
  headers: values.optional().describe('Replaces every header; secret values must be given again'),
  propagateTraceContext: z.boolean().optional().describe('HTTP connectors: send the upstream the W3C trace context of each call'),
  command: z.string().min(1).max(1024).optional(),
  args: z.array(z.string().max(4096)).max(100).optional(),
  env: values.optional().describe('Replaces every variable; secret values must be given again'),
  cwd: z.string().max(1024).optional(),
});

const connectorId = idParam('id');

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
];
