import * as z from 'zod';
import { createOrganisation, deleteOrganisation, getOrganisation, listOrganisations, renameOrganisation } from '../services/organisations.ts';
import { defineRoute, json } from './route.ts';
import { idParam } from './schemas.ts';

export const organisationView = z.object({ id: z.string(), slug: z.string(), name: z.string(), createdAt: z.string() });
const orgName = z.string().min(1).max(100);
const orgId = idParam('orgId');

export const organisationRoutes = [
  defineRoute({
    method: 'GET',
    path: '/organisations',
    action: 'org.read',
    operationId: 'listOrganisations',
    summary: 'The organisations you can see (your own)',
    tag: 'organisations',
    response: { status: 200, description: 'The organisations', schema: z.object({ organisations: z.array(organisationView) }) },
    handle: async ({ services, actor }) => json(200, { organisations: await listOrganisations(services, actor) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/organisations',
    action: 'org.create',
    operationId: 'createOrganisation',
    shownOnce: 'ownerKey',
    summary: 'Create an organisation: reserved to the operator (CLI `gatehouse orgs create`); every API key gets 403',
    tag: 'organisations',
    body: z.strictObject({ slug: z.string().min(1).max(40), name: orgName }),
    response: {
      status: 201,
      description: 'The organisation and its owner key, shown once',
      schema: z.object({ organisation: organisationView, ownerKey: z.string() }),
    },
    handle: async ({ services, actor, body }) => {
      const { org, ownerKey } = await createOrganisation(services, actor, body);
      return json(201, { organisation: org, ownerKey });
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/organisations/{orgId}',
    action: 'org.read',
    operationId: 'getOrganisation',
    summary: 'One organisation',
    tag: 'organisations',
    params: orgId,
    response: { status: 200, description: 'The organisation', schema: organisationView },
    handle: async ({ services, actor, params }) => json(200, await getOrganisation(services, actor, params.orgId)),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/organisations/{orgId}',
    action: 'org.update',
    operationId: 'updateOrganisation',
    summary: 'Rename the organisation',
    tag: 'organisations',
    params: orgId,
    body: z.strictObject({ name: orgName }),
    response: { status: 200, description: 'The organisation', schema: organisationView },
    handle: async ({ services, actor, params, body }) => json(200, await renameOrganisation(services, actor, params.orgId, body.name)),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/organisations/{orgId}',
    action: 'org.delete',
    operationId: 'deleteOrganisation',
    summary: 'Delete the organisation: its keys stop working, connectors, virtual servers and members go, the audit chain stays',
    tag: 'organisations',
    params: orgId,
    response: { status: 204, description: 'Deleted' },
    handle: async ({ services, actor, params }) => {
      await deleteOrganisation(services, actor, params.orgId);
      return json(204);
    },
  }),
];
