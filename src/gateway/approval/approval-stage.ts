import { randomUUID } from 'node:crypto';
import { GatehouseError } from '../../errors.ts';
import { newId } from '../../ids.ts';
import type { ApprovalRecord, ApprovalStore } from '../../store/approval-types.ts';
import { auditArgs } from '../audit/redact.ts';
import { noteDetail, type Call } from '../call.ts';
import { fingerprintOf } from '../traffic/idempotency-key.ts';
import type { OrgLimits } from '../traffic/org-limits.ts';
import { callDeadline } from '../deadline.ts';

export interface ApprovalStageDeps {
  readonly orgLimits: OrgLimits;
  readonly approvals: ApprovalStore;
  /** How long a request for approval stays open: for an admin to decide, or for the person asked in the session. */
  readonly ttlMs: number;
  readonly now: () => number;
}

/** The route an admin approves on, named in the refusal a client that cannot be asked gets. */
export function approvalRoute(id: string): string {
  return `POST /api/v1/approvals/${id}/approve`;
}

/**
 * Stage `guard-pre`, first: a call of a tool the organisation marked as needing approval (traffic settings,
 * `approvals`) waits for a person. The decision is bound to a digest of the exact call - organisation, key,
 * connector, tool and canonical arguments - so an approval of one call approves no other.
 *
 *   1. an admin already approved this exact call: the approval is consumed (once) and the call goes on;
 *   2. the session's client declared elicitation: the person behind it is asked, and the call waits (up to the
 *      approval's lifetime) for accept + approve; declining, cancelling or the time running out refuses it;
 *   3. otherwise a pending approval is left (or the live one reused) and the call refused with `approval_required`,
 *      naming the admin route; the client retries the same call once it is approved.
 *
 * Every outcome is in the call's audit record (`detail.approval`: id, how, outcome), never the arguments themselves
 * beyond what the record already keeps. Costs one cached settings lookup on calls of tools that need none.
 */
export function createApprovalStage(deps: ApprovalStageDeps) {
  return async function approval(call: Call): Promise<void> {
    const t = call.target;
    const p = call.principal;
    // A replay of an idempotent call (call.local) runs nothing upstream: the first run was the one approved.
    if (call.direction === 'server' || t?.kind !== 'tool' || p === undefined || call.local !== undefined) return;
    const settings = await deps.orgLimits.of(p.orgId, call.accessRevision);
    if (settings?.needsApproval(t.connector, t.original) !== true) return;

    const args = call.request?.params?.arguments ?? {};
    const digest = fingerprintOf([p.orgId, p.keyId, t.connector, t.original, args]);
    const now = deps.now();
    const at = new Date(now).toISOString();
    const existing = await deps.approvals.findApproval(p.orgId, digest, at);
    if (existing?.status === 'approved') {
      if (await deps.approvals.consumeApproval(p.orgId, existing.id, at)) {
        noteDetail(call, 'approval', { id: existing.id, via: 'admin', outcome: 'approved', by: existing.decidedBy });
        return;
      }
    }

    const session = call.session;
    if (session?.elicit !== undefined) {
      await askInSession(call, session.elicit, t.connector, t.original, args);
      return;
    }

    let pending = existing?.status === 'pending' ? existing : undefined;
    if (pending === undefined) {
      pending = {
        id: newId('apr'),
        orgId: p.orgId,
        keyId: p.keyId,
        connector: t.connector,
        tool: t.original,
        digest,
        argsPreview: auditArgs(args) ?? '{}',
        status: 'pending',
        requestedAt: at,
        expiresAt: new Date(now + deps.ttlMs).toISOString(),
        decidedBy: null,
        decidedAt: null,
      } satisfies ApprovalRecord;
      await deps.approvals.createApproval(pending);
    }
    noteDetail(call, 'approval', { id: pending.id, via: 'admin', outcome: 'requested', expiresAt: pending.expiresAt });
    throw new GatehouseError(
      'approval_required',
      `This call needs a person's approval and this client cannot be asked (it declared no elicitation). An administrator approves it with ${approvalRoute(pending.id)} (or gatehouse approvals approve ${pending.id}) before ${pending.expiresAt}; then send the same call again.`,
      { data: { client: { approvalId: pending.id, expiresAt: pending.expiresAt } } },
    );
  };

  async function askInSession(call: Call, elicit: NonNullable<NonNullable<Call['session']>['elicit']>, connector: string, tool: string, args: unknown): Promise<void> {
    const id = `session:${randomUUID()}`;
    // The question travels on this call's own answer stream, like an upstream's messages for it.
    call.onTarget?.(connector);
    const deadline = callDeadline(call.signal, deps.ttlMs);
    const signal = deadline.signal;
    let answer: Record<string, unknown>;
    try {
      answer = await elicit(
        {
          message: `Gatehouse: allow this call of ${connector}/${tool}?\nArguments: ${auditArgs(args) ?? '{}'}`,
          requestedSchema: {
            type: 'object',
            properties: { approve: { type: 'boolean', title: 'Approve this call', description: 'Only this call, with exactly these arguments' } },
            required: ['approve'],
          },
        },
        connector,
        signal,
      );
    } catch (err) {
      if (deadline.expired()) {
        noteDetail(call, 'approval', { id, via: 'elicitation', outcome: 'expired' });
        throw new GatehouseError('approval_expired', 'Nobody approved this call in time');
      }
      if (call.signal.aborted) throw err;
      noteDetail(call, 'approval', { id, via: 'elicitation', outcome: 'failed' });
      throw new GatehouseError('approval_denied', 'The request for approval failed; the call was not made', { cause: err });
    } finally {
      deadline.clear();
    }
    const content = answer.content as Record<string, unknown> | undefined;
    if (answer.action === 'accept' && content?.approve === true) {
      noteDetail(call, 'approval', { id, via: 'elicitation', outcome: 'approved' });
      return;
    }
    noteDetail(call, 'approval', { id, via: 'elicitation', outcome: answer.action === 'accept' ? 'denied' : String(answer.action) });
    throw new GatehouseError('approval_denied', 'The call was not approved');
  }
}
