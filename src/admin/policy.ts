import * as z from 'zod';
import { GatehouseError } from '../errors.ts';
import { ORG_ROLES } from '../gateway/access/permissions.ts';
import { clearPolicySet, getPolicySet, listPolicyVersions, MAX_POLICY_TEXT, setPolicySet, testPolicy } from '../services/policy.ts';
import type { PolicySetRecord } from '../store/policy-types.ts';
import { defineRoute, json } from './route.ts';

const versionView = z.object({
  version: z.number().int(),
  active: z.boolean().describe('false: this version cleared the set (Cedar not consulted)'),
  text: z.string().nullable().describe('The policies (Cedar); null for a clearing version'),
  createdBy: z.string(),
  createdAt: z.string(),
});
const currentView = z.object({
  active: z.boolean().describe('Whether a policy set is in force; without one Cedar is not consulted'),
  version: z.number().int().nullable(),
  text: z.string().nullable(),
  createdBy: z.string().nullable(),
  createdAt: z.string().nullable(),
});

function viewVersion(r: PolicySetRecord): z.output<typeof versionView> {
  return { version: r.version, active: r.text !== null, text: r.text, createdBy: r.createdBy, createdAt: r.createdAt };
}

function viewCurrent(r: PolicySetRecord | undefined): z.output<typeof currentView> {
  return r === undefined ? { active: false, version: null, text: null, createdBy: null, createdAt: null } : viewVersion(r);
}

const versionParam = z.strictObject({ version: z.coerce.number().int().min(1).max(2_147_483_647) });

/** The organisation's Cedar policy set: read, replace (validated against the schema), clear, its history, a dry run. */
export const policyRoutes = [
  defineRoute({
    method: 'GET',
    path: '/policy',
    action: 'policy.read',
    operationId: 'getPolicySet',
    summary: "The organisation's Cedar policy set in force",
    tag: 'policy',
    response: { status: 200, description: 'The set (active false: none, Cedar is not consulted)', schema: currentView },
    handle: async ({ services, actor, orgId }) => json(200, viewCurrent(await getPolicySet(services, actor, orgId))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/policy',
    action: 'policy.update',
    operationId: 'setPolicySet',
    summary:
      'Replace the policy set with a new version. It is validated against the Gatehouse schema (strict) and refused with the validator’s messages; from the next request every call to a tool, prompt or resource needs a permit',
    tag: 'policy',
    body: z.strictObject({ text: z.string().max(MAX_POLICY_TEXT).describe('Cedar policies; name them with @id("...") for the audit records') }),
    response: { status: 200, description: 'The saved version', schema: versionView },
    handle: async ({ services, actor, orgId, body }) => json(200, viewVersion(await setPolicySet(services, actor, orgId, body.text))),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/policy',
    action: 'policy.update',
    operationId: 'clearPolicySet',
    summary: 'Remove the policy set (recorded as a version): Cedar is no longer consulted',
    tag: 'policy',
    response: { status: 204, description: 'Cleared' },
    handle: async ({ services, actor, orgId }) => {
      if ((await clearPolicySet(services, actor, orgId)) === undefined) throw new GatehouseError('not_found', 'The organisation has no policy set');
      return json(204);
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/policy/versions',
    action: 'policy.read',
    operationId: 'listPolicySetVersions',
    summary: 'Every version of the policy set, newest first',
    tag: 'policy',
    response: { status: 200, description: 'The versions', schema: z.object({ versions: z.array(versionView) }) },
    handle: async ({ services, actor, orgId }) => json(200, { versions: (await listPolicyVersions(services, actor, orgId)).map(viewVersion) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/policy/versions/{version}',
    action: 'policy.read',
    operationId: 'getPolicySetVersion',
    summary: 'One version of the policy set',
    tag: 'policy',
    params: versionParam,
    response: { status: 200, description: 'The version', schema: versionView },
    handle: async ({ services, actor, orgId, params }) => {
      const r = await getPolicySet(services, actor, orgId, params.version);
      if (r === undefined) throw new GatehouseError('not_found', 'No such version');
      return json(200, viewVersion(r));
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/policy/test',
    action: 'policy.read',
    operationId: 'testPolicySet',
    summary: 'What the set in force (or the one given) would decide for one request, without making it',
    tag: 'policy',
    body: z.strictObject({
      text: z.string().max(MAX_POLICY_TEXT).optional().describe('Policies to try instead of the set in force'),
      method: z.enum(['tools/call', 'prompts/get', 'resources/read', 'resources/subscribe', 'resources/unsubscribe', 'completion/complete']),
      kind: z.enum(['tool', 'prompt', 'resource']),
      connector: z.string().min(1).max(128),
      name: z.string().min(1).max(2048).describe('Tool or prompt name, or resource URI, as the upstream knows it'),
      role: z.enum(ORG_ROLES),
      keyId: z.string().min(1).max(300).optional(),
      userId: z.string().min(1).max(300).nullable().optional(),
      arguments: z.record(z.string().max(256), z.unknown()).optional(),
      clientIp: z.ipv4().or(z.ipv6()).nullable().optional(),
      protocolVersion: z.string().max(32).optional(),
    }),
    response: {
      status: 200,
      description: 'The decision and the policies that determined it',
      schema: z.object({ version: z.number().int().nullable(), decision: z.enum(['allow', 'deny', 'error']), determining: z.array(z.string()), message: z.string().optional() }),
    },
    handle: async ({ services, actor, orgId, body }) => {
      const v = await testPolicy(services, actor, orgId, body);
      return json(200, { ...v, determining: [...v.determining] });
    },
  }),
];
