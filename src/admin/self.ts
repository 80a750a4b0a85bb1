import * as z from 'zod';
import { defineRoute, json } from './route.ts';

export const selfView = z.object({
  orgId: z.string(),
  role: z.string(),
  via: z.string(),
  userId: z.string().nullable(),
  keyId: z.string().nullable(),
  scopes: z.array(z.string()),
  expiresAt: z.string().nullable(),
});

export const selfRoutes = [
  defineRoute({
    method: 'GET',
    path: '/me',
    action: 'self.read',
    operationId: 'whoAmI',
    summary: 'Who you are acting as: organisation, effective role, user, key, scopes',
    tag: 'self',
    response: { status: 200, description: 'The caller', schema: selfView },
    handle: ({ actor, orgId }) =>
      Promise.resolve(
        json(200, {
          orgId,
          role: actor.role,
          via: actor.via,
          userId: actor.userId,
          keyId: actor.keyId,
          scopes: actor.scopes,
          expiresAt: actor.expiresAt,
        }),
      ),
  }),
];
