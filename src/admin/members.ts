import * as z from 'zod';
import { addMember, getMember, listMembers, removeMember, setMemberRole } from '../services/members.ts';
import { defineRoute, json } from './route.ts';
import { idParam, roleSchema } from './schemas.ts';

export const memberView = z.object({
  userId: z.string(),
  email: z.string(),
  role: roleSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
});

const userId = idParam('userId');

export const memberRoutes = [
  defineRoute({
    method: 'GET',
    path: '/members',
    action: 'member.read',
    operationId: 'listMembers',
    summary: 'List the members',
    tag: 'members',
    response: { status: 200, description: 'The members', schema: z.object({ members: z.array(memberView) }) },
    handle: async ({ services, actor, orgId }) => json(200, { members: await listMembers(services, actor, orgId) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/members',
    action: 'member.add',
    operationId: 'addMember',
    summary: 'Add a person by email with a role no wider than yours',
    tag: 'members',
    body: z.strictObject({ email: z.email().max(320), role: roleSchema }),
    response: { status: 201, description: 'The member', schema: memberView },
    handle: async ({ services, actor, orgId, body }) => json(201, await addMember(services, actor, orgId, body)),
  }),
  defineRoute({
    method: 'GET',
    path: '/members/{userId}',
    action: 'member.read',
    operationId: 'getMember',
    summary: 'One member',
    tag: 'members',
    params: userId,
    response: { status: 200, description: 'The member', schema: memberView },
    handle: async ({ services, actor, orgId, params }) => json(200, await getMember(services, actor, orgId, params.userId)),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/members/{userId}',
    action: 'member.update',
    operationId: 'updateMember',
    summary: "Change a member's role (within yours)",
    tag: 'members',
    params: userId,
    body: z.strictObject({ role: roleSchema }),
    response: { status: 200, description: 'The member', schema: memberView },
    handle: async ({ services, actor, orgId, params, body }) => json(200, await setMemberRole(services, actor, orgId, params.userId, body.role)),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/members/{userId}',
    action: 'member.remove',
    operationId: 'removeMember',
    summary: 'Remove a member; their keys in the organisation are revoked at once',
    tag: 'members',
    params: userId,
    response: { status: 204, description: 'Removed' },
    handle: async ({ services, actor, orgId, params }) => {
      await removeMember(services, actor, orgId, params.userId);
      return json(204);
    },
  }),
];
