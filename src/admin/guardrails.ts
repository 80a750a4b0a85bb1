import * as z from 'zod';
import { denyRuleSchema, guardrailDocumentSchema, guardrailPolicySchema } from '../gateway/guardrails/policy.ts';
import { getGuardrails, setConnectorGuardrails, setDenyRule, setGuardrails, setToolGuardrails, type GuardrailsView } from '../services/guardrails.ts';
import { defineRoute, json } from './route.ts';

const guardrailsView = z.object({
  document: guardrailDocumentSchema.describe("The organisation's policy, its connector and tool overrides, and its deny rules"),
  updatedAt: z.string().nullable(),
});

function view(v: GuardrailsView): z.output<typeof guardrailsView> {
  return { document: structuredClone(v.document), updatedAt: v.updatedAt };
}

const response = { status: 200, description: "The organisation's guardrail settings", schema: guardrailsView } as const;
const connectorName = z.string().min(1).max(64);

/** Guardrails per organisation, connector and tool. Every change applies to the next request. */
export const guardrailRoutes = [
  defineRoute({
    method: 'GET',
    path: '/guardrails',
    action: 'guardrails.read',
    operationId: 'getGuardrails',
    summary: "The organisation's guardrails: schema checks, deny rules, PII and secret detection, output cap",
    tag: 'guardrails',
    response,
    handle: async ({ services, actor, orgId }) => json(200, view(await getGuardrails(services, actor, orgId))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/guardrails',
    action: 'guardrails.update',
    operationId: 'setGuardrails',
    summary: 'Replace the whole guardrail document (validated; deny rules must compile)',
    tag: 'guardrails',
    body: z.strictObject({ document: z.record(z.string(), z.unknown()) }),
    response,
    handle: async ({ services, actor, orgId, body }) => json(200, view(await setGuardrails(services, actor, orgId, body.document))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/guardrails/connectors/{connector}',
    action: 'guardrails.update',
    operationId: 'setConnectorGuardrails',
    summary: "Override the organisation's guardrails for one connector; null removes the override",
    tag: 'guardrails',
    params: z.strictObject({ connector: connectorName }),
    body: z.strictObject({ policy: guardrailPolicySchema.nullable() }),
    response,
    handle: async ({ services, actor, orgId, params, body }) => json(200, view(await setConnectorGuardrails(services, actor, orgId, params.connector, body.policy))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/guardrails/tools/{connector}/{tool}',
    action: 'guardrails.update',
    operationId: 'setToolGuardrails',
    summary: "Override the guardrails for one tool or prompt (the upstream's own name); null removes the override",
    tag: 'guardrails',
    params: z.strictObject({ connector: connectorName, tool: z.string().min(1).max(200) }),
    body: z.strictObject({ policy: guardrailPolicySchema.nullable() }),
    response,
    handle: async ({ services, actor, orgId, params, body }) => json(200, view(await setToolGuardrails(services, actor, orgId, params.connector, params.tool, body.policy))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/guardrails/deny-rules/{id}',
    action: 'guardrails.update',
    operationId: 'setDenyRule',
    summary: 'Add or replace a deny rule (connector/tool glob, JSON path into the arguments, regular expression); null removes it',
    tag: 'guardrails',
    params: z.strictObject({ id: z.string().min(1).max(64) }),
    body: z.strictObject({ rule: denyRuleSchema.omit({ id: true }).nullable() }),
    response,
    handle: async ({ services, actor, orgId, params, body }) => json(200, view(await setDenyRule(services, actor, orgId, params.id, body.rule))),
  }),
];
