import * as z from 'zod';
import { decideApproval, getApproval, listPendingApprovals, type ApprovalView } from '../services/approvals.ts';
import { defineRoute, json } from './route.ts';

const approvalView = z.object({
  id: z.string(),
  keyId: z.string().describe('The key whose call waits'),
  connector: z.string(),
  tool: z.string(),
  arguments: z.string().describe('The arguments as the audit log keeps them: secret fields redacted, long values clipped'),
  digest: z.string().describe('SHA-256 (hex) of the exact call it approves: key, tool and arguments after canonical JSON'),
  state: z.enum(['pending', 'approved', 'denied', 'used', 'expired']),
  requestedAt: z.string(),
  expiresAt: z.string(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
});

function view(a: ApprovalView): z.output<typeof approvalView> {
  return {
    id: a.id,
    keyId: a.keyId,
    connector: a.connector,
    tool: a.tool,
    arguments: a.argsPreview,
    digest: a.digest,
    state: a.state,
    requestedAt: a.requestedAt,
    expiresAt: a.expiresAt,
    decidedBy: a.decidedBy,
    decidedAt: a.decidedAt,
  };
}

const params = z.strictObject({ id: z.string().min(1).max(64) });
const one = { status: 200, description: 'The approval', schema: approvalView } as const;

/** Human approval of tool calls: what waits, and the decision (the client then retries the same call). */
export const approvalRoutes = [
  defineRoute({
    method: 'GET',
    path: '/approvals',
    action: 'approval.read',
    operationId: 'listApprovals',
    summary: 'Tool calls waiting for a person to approve them',
    tag: 'approvals',
    response: { status: 200, description: 'Pending approvals, oldest first', schema: z.object({ approvals: z.array(approvalView) }) },
    handle: async ({ services, actor, orgId }) => json(200, { approvals: (await listPendingApprovals(services, actor, orgId)).map(view) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/approvals/{id}',
    action: 'approval.read',
    operationId: 'getApproval',
    summary: 'One approval, whatever its state',
    tag: 'approvals',
    params,
    response: one,
    handle: async ({ services, actor, orgId, params }) => json(200, view(await getApproval(services, actor, orgId, params.id))),
  }),
  defineRoute({
    method: 'POST',
    path: '/approvals/{id}/approve',
    action: 'approval.decide',
    operationId: 'approveCall',
    summary: 'Approve the call: its next identical retry runs, once',
    tag: 'approvals',
    params,
    body: z.strictObject({}),
    response: one,
    handle: async ({ services, actor, orgId, params }) => json(200, view(await decideApproval(services, actor, orgId, params.id, 'approved'))),
  }),
  defineRoute({
    method: 'POST',
    path: '/approvals/{id}/deny',
    action: 'approval.decide',
    operationId: 'denyCall',
    summary: 'Deny the call: its retries are refused until someone asks again',
    tag: 'approvals',
    params,
    body: z.strictObject({}),
    response: one,
    handle: async ({ services, actor, orgId, params }) => json(200, view(await decideApproval(services, actor, orgId, params.id, 'denied'))),
  }),
];
