import * as z from 'zod';
import { IDLE_MINUTES, MAX_HOURS } from '../identity/sign-in-defaults.ts';
import { getSignInSettings, updateSignInSettings } from '../services/sign-in-settings.ts';
import { defineRoute, json } from './route.ts';
import { idParam } from './schemas.ts';

const view = z.object({
  sessionIdleMinutes: z.number().int(),
  sessionMaxHours: z.number().int(),
  requireMfa: z.boolean(),
  passwordLogin: z.boolean(),
  oidc: z.object({ issuer: z.string(), clientId: z.string(), clientSecretSet: z.literal(true), allowJit: z.boolean() }).nullable(),
  updatedAt: z.string().nullable(),
});

const change = z.strictObject({
  sessionIdleMinutes: z.number().int().min(IDLE_MINUTES.min).max(IDLE_MINUTES.max).optional(),
  sessionMaxHours: z.number().int().min(MAX_HOURS.min).max(MAX_HOURS.max).optional(),
  requireMfa: z.boolean().optional(),
  passwordLogin: z.boolean().optional(),
  oidc: z
    .strictObject({
      issuer: z.string().min(1).max(2048),
      clientId: z.string().min(1).max(256),
      /** Write-only: never returned, logged or audited. Leave out to keep the stored one for the same issuer and client. */
      clientSecret: z.string().min(1).max(4096).optional(),
      allowJit: z.boolean().optional(),
    })
    .nullable()
    .optional(),
});

const orgId = idParam('orgId');

export const signInSettingsRoutes = [
  defineRoute({
    method: 'GET',
    path: '/organisations/{orgId}/sign-in',
    action: 'sign_in.read',
    operationId: 'getSignInSettings',
    summary: 'How people sign in to the organisation: session timeouts, required MFA, single sign-on (the client secret is never shown)',
    tag: 'organisations',
    params: orgId,
    response: { status: 200, description: 'The sign-in settings', schema: view },
    handle: async ({ services, actor, params }) => json(200, await getSignInSettings(services, actor, params.orgId)),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/organisations/{orgId}/sign-in',
    action: 'sign_in.update',
    operationId: 'updateSignInSettings',
    summary: 'Change session timeouts (idle 15-480 minutes), require MFA, set or remove the OIDC identity provider',
    tag: 'organisations',
    params: orgId,
    body: change,
    response: { status: 200, description: 'The sign-in settings', schema: view },
    handle: async ({ services, actor, params, body }) => json(200, await updateSignInSettings(services, actor, params.orgId, body)),
  }),
];
