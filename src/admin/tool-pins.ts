import * as z from 'zod';
import {
  approveToolPin, classifyTool, getConnectorPinSettings, getToolPin, listToolPins, rejectToolPin, setConnectorPinSettings, type ToolPinDetail,
  type ToolPinView,
} from '../services/tool-pins.ts';
import { defineRoute, json } from './route.ts';

const status = z.enum(['approved', 'pending', 'rejected']);
const classification = z.enum(['read', 'write']);
const finding = z.object({ rule: z.string(), place: z.string() });
const pinView = z.object({
  connector: z.string(),
  tool: z.string().describe('The upstream name; hidden characters shown as <U+200B>'),
  status: status.describe('pending and rejected tools are not listed and their calls are refused'),
  change: z.enum(['new', 'changed']).nullable(),
  approvedFingerprint: z.string().nullable(),
  pendingFingerprint: z.string().nullable(),
  findings: z.array(finding).describe('Instruction-injection patterns and hidden characters found in the pending definition'),
  classification: classification.nullable().describe('Only tools classified read are served on a read-only connector'),
  readOnlyHint: z.boolean().nullable().describe("The upstream's own annotation: a hint for classifying, never trusted"),
  reviewedBy: z.string().nullable(),
  updatedAt: z.string(),
});
const pinDetail = pinView.extend({
  approvedDefinition: z.unknown(),
  pendingDefinition: z.unknown(),
  diff: z.string().nullable().describe('Approved (-) against pending (+), canonical JSON, hidden characters visible'),
});
const settingsView = z.object({ connector: z.string(), readOnly: z.boolean(), autoApproveFirstSync: z.boolean() });
const pinParams = z.strictObject({ connector: z.string().min(1).max(64), tool: z.string().min(1).max(256) });

const asView = (v: ToolPinView): z.output<typeof pinView> => ({ ...v, findings: [...v.findings] });
const asDetail = (v: ToolPinDetail): z.output<typeof pinDetail> => ({ ...v, findings: [...v.findings] });

/** Tool pinning (review of new and changed tool definitions, classification) and read-only connectors. */
export const toolPinRoutes = [
  defineRoute({
    method: 'GET',
    path: '/tools/pins',
    action: 'tool_pin.read',
    operationId: 'listToolPins',
    summary: 'Pinned tool definitions; status=pending lists what awaits review',
    tag: 'tools',
    query: z.strictObject({ connector: z.string().min(1).max(64).optional(), status: status.optional() }),
    response: { status: 200, description: 'The pins', schema: z.object({ pins: z.array(pinView) }) },
    handle: async ({ services, actor, orgId, query }) => json(200, { pins: (await listToolPins(services, actor, orgId, query)).map(asView) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/tools/pins/{connector}/{tool}',
    action: 'tool_pin.read',
    operationId: 'getToolPin',
    summary: 'One pinned tool: the approved and the pending definition, their diff and the findings',
    tag: 'tools',
    params: pinParams,
    response: { status: 200, description: 'The pin', schema: pinDetail },
    handle: async ({ services, actor, orgId, params }) => json(200, asDetail(await getToolPin(services, actor, orgId, params.connector, params.tool))),
  }),
  defineRoute({
    method: 'POST',
    path: '/tools/pins/{connector}/{tool}/approve',
    action: 'tool_pin.review',
    operationId: 'approveToolPin',
    summary: "Approve the pending definition (only the one with this fingerprint, if given); it is served from the gateway's next poll",
    tag: 'tools',
    params: pinParams,
    body: z.strictObject({ fingerprint: z.string().regex(/^[0-9a-f]{64}$/).optional() }),
    response: { status: 200, description: 'The pin', schema: pinDetail },
    handle: async ({ services, actor, orgId, params, body }) =>
      json(200, asDetail(await approveToolPin(services, actor, orgId, params.connector, params.tool, body.fingerprint))),
  }),
  defineRoute({
    method: 'POST',
    path: '/tools/pins/{connector}/{tool}/reject',
    action: 'tool_pin.review',
    operationId: 'rejectToolPin',
    summary: 'Reject the pending definition: the tool stays blocked',
    tag: 'tools',
    params: pinParams,
    body: z.strictObject({}),
    response: { status: 200, description: 'The pin', schema: pinDetail },
    handle: async ({ services, actor, orgId, params }) => json(200, asDetail(await rejectToolPin(services, actor, orgId, params.connector, params.tool))),
  }),
  defineRoute({
    method: 'PUT',
    path: '/tools/pins/{connector}/{tool}/classification',
    action: 'tool_pin.review',
    operationId: 'classifyTool',
    summary: 'Classify a tool as reading or writing (null: unclassified); read-only connectors serve only reading tools',
    tag: 'tools',
    params: pinParams,
    body: z.strictObject({ classification: classification.nullable() }),
    response: { status: 200, description: 'The pin', schema: pinView },
    handle: async ({ services, actor, orgId, params, body }) =>
      json(200, asView(await classifyTool(services, actor, orgId, params.connector, params.tool, body.classification))),
  }),
  defineRoute({
    method: 'GET',
    path: '/connectors/{connector}/pinning',
    action: 'connector.read',
    operationId: 'getConnectorPinning',
    summary: "A connector's read-only mark and first-sync auto-approval",
    tag: 'tools',
    params: z.strictObject({ connector: z.string().min(1).max(64) }),
    response: { status: 200, description: 'The settings', schema: settingsView },
    handle: async ({ services, actor, orgId, params }) => json(200, await getConnectorPinSettings(services, actor, orgId, params.connector)),
  }),
  defineRoute({
    method: 'PUT',
    path: '/connectors/{connector}/pinning',
    action: 'connector.update',
    operationId: 'setConnectorPinning',
    summary: 'Mark a connector read-only (only tools classified read are served) and set first-sync auto-approval',
    tag: 'tools',
    params: z.strictObject({ connector: z.string().min(1).max(64) }),
    body: z.strictObject({ readOnly: z.boolean().optional(), autoApproveFirstSync: z.boolean().optional() }),
    response: { status: 200, description: 'The settings', schema: settingsView },
    handle: async ({ services, actor, orgId, params, body }) => json(200, await setConnectorPinSettings(services, actor, orgId, params.connector, body)),
  }),
];
