import * as z from 'zod';
import { GatehouseError } from '../errors.ts';
import {
  createVirtualServer,
  definitionShape,
  getVirtualServer,
  listVirtualServers,
  removeVirtualServer,
  updateVirtualServer,
  virtualServerPath,
} from '../services/virtual-servers.ts';
import type { VirtualServerRecord } from '../store/types.ts';
import { defineRoute, json } from './route.ts';
import { idParam } from './schemas.ts';

export const virtualServerView = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  tools: z.array(z.string()),
  prompts: z.array(z.string()),
  resources: z.array(z.string()),
  unprefixed: z.boolean(),
  endpoint: z.string().describe('The path the server is served at, /servers/<name>/mcp'),
  createdAt: z.string(),
  updatedAt: z.string(),
});

function view(s: VirtualServerRecord) {
  const { orgId: _org, ...rest } = s;
  return { ...rest, endpoint: virtualServerPath(s.name) };
}

const serverName = idParam('name');

export const virtualServerRoutes = [
  defineRoute({
    method: 'GET',
    path: '/servers',
    action: 'virtual_server.read',
    operationId: 'listVirtualServers',
    summary: 'List the virtual servers',
    tag: 'servers',
    response: { status: 200, description: 'The virtual servers', schema: z.object({ servers: z.array(virtualServerView) }) },
    handle: async ({ services, actor, orgId }) => json(200, { servers: (await listVirtualServers(services, actor, orgId)).map(view) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/servers',
    action: 'virtual_server.create',
    operationId: 'createVirtualServer',
    summary: 'Create a virtual server: a chosen part of the catalog on its own endpoint',
    tag: 'servers',
    body: z.strictObject({ name: z.string().min(1).max(32).describe('Lowercase letters, digits and inner hyphens'), ...definitionShape }),
    response: { status: 201, description: 'The virtual server', schema: virtualServerView },
    handle: async ({ services, actor, orgId, body }) => json(201, view(await createVirtualServer(services, actor, { ...body, orgId }))),
  }),
  defineRoute({
    method: 'GET',
    path: '/servers/{name}',
    action: 'virtual_server.read',
    operationId: 'getVirtualServer',
    summary: 'One virtual server',
    tag: 'servers',
    params: serverName,
    response: { status: 200, description: 'The virtual server', schema: virtualServerView },
    handle: async ({ services, actor, orgId, params }) => {
      const server = await getVirtualServer(services, actor, orgId, params.name);
      if (server === undefined) throw new GatehouseError('not_found', `No virtual server '${params.name.slice(0, 64)}'`);
      return json(200, view(server));
    },
  }),
  defineRoute({
    method: 'PATCH',
    path: '/servers/{name}',
    action: 'virtual_server.update',
    operationId: 'updateVirtualServer',
    summary: 'Change a virtual server; each list given replaces the stored one (the name cannot change)',
    tag: 'servers',
    params: serverName,
    body: z.strictObject(definitionShape),
    response: { status: 200, description: 'The virtual server', schema: virtualServerView },
    handle: async ({ services, actor, orgId, params, body }) => json(200, view(await updateVirtualServer(services, actor, orgId, params.name, body))),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/servers/{name}',
    action: 'virtual_server.delete',
    operationId: 'deleteVirtualServer',
    summary: 'Remove a virtual server; keys restricted to it stay, and reach nothing through it',
    tag: 'servers',
    params: serverName,
    response: {
      status: 200,
      description: 'Removed; the active keys restricted to it, to revoke',
      schema: z.object({ affectedKeys: z.array(z.string()) }),
    },
    handle: async ({ services, actor, orgId, params }) => json(200, await removeVirtualServer(services, actor, orgId, params.name)),
  }),
];
