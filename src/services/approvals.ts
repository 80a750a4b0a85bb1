import { GatehouseError } from '../errors.ts';
import type { ApprovalRecord } from '../store/approval-types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';

/**
 * Human approval of tool calls, the admin's side (the data path's is gateway/approval/approval-stage.ts): what waits
 * for a decision, and the decision. An approval approves one call - the same key, tool and arguments - once; an
 * expired one approves nothing. Each decision is audited; a request that is not the organisation's, is no longer
 * pending, or has expired answers like a missing one.
 */
const NO_SUCH_APPROVAL = 'No such pending approval';

export interface ApprovalView extends ApprovalRecord {
  /** pending, approved, denied, used - or expired, when its time ran out first. */
  readonly state: ApprovalRecord['status'] | 'expired';
}

function viewOf(a: ApprovalRecord, now: string): ApprovalView {
  const expired = a.expiresAt <= now && (a.status === 'pending' || a.status === 'approved');
  return { ...a, state: expired ? 'expired' : a.status };
}

export async function listPendingApprovals(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<ApprovalView[]> {
  authorize(actor, 'approval.read');
  requireSameOrg(actor, orgId, NO_SUCH_APPROVAL);
  const now = new Date().toISOString();
  return (await ctx.store.approvals.listPendingApprovals(orgId, now)).map((a) => viewOf(a, now));
}

export async function getApproval(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, id: string): Promise<ApprovalView> {
  authorize(actor, 'approval.read');
  requireSameOrg(actor, orgId, NO_SUCH_APPROVAL);
  const a = await ctx.store.approvals.getApproval(orgId, id);
  if (a === undefined) throw new GatehouseError('not_found', NO_SUCH_APPROVAL);
  return viewOf(a, new Date().toISOString());
}

export async function decideApproval(ctx: ServiceContext, actor: Actor, orgId: string, id: string, decision: 'approved' | 'denied'): Promise<ApprovalView> {
  authorize(actor, 'approval.decide');
  requireSameOrg(actor, orgId, NO_SUCH_APPROVAL);
  const now = new Date().toISOString();
  const by = actor.userId !== null ? `user:${actor.userId}` : actor.keyId !== null ? `key:${actor.keyId}` : `operator:${actor.name}`;
  if (!(await ctx.store.approvals.decideApproval(orgId, id, decision, by, now))) throw new GatehouseError('not_found', NO_SUCH_APPROVAL);
  const a = await ctx.store.approvals.getApproval(orgId, id);
  if (a === undefined) throw new GatehouseError('not_found', NO_SUCH_APPROVAL);
  await ctx.audit.record(changeEvent(orgId, actor, decision === 'approved' ? 'approval.approve' : 'approval.deny', { connector: a.connector, name: a.tool }, { id, keyId: a.keyId }));
  return viewOf(a, now);
}
