// The store contract for human approvals, on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { orgA, orgB, forEachDialect } from '../../test/support/store-contract.ts';
import type { ApprovalRecord } from './approval-types.ts';

const NOW = '2026-03-01T10:00:00.000Z';
const LATER = '2026-03-01T10:05:00.000Z';
const EXPIRY = '2026-03-01T10:15:00.000Z';
const AFTER_EXPIRY = '2026-03-01T10:20:00.000Z';

function approval(overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id: 'apr_1', orgId: orgA.id, keyId: 'key_1', connector: 'fx', tool: 'echo', digest: 'd1', argsPreview: '{"text":"hi"}', status: 'pending',
    requestedAt: NOW, expiresAt: EXPIRY, decidedBy: null, decidedAt: null, ...overrides,
  };
}

forEachDialect('approvals', (db) => {
  void it('finds a pending approval by digest, lists it, and reads it back as written', async () => {
    await db.store.approvals.createApproval(approval());
    assert.deepEqual(await db.store.approvals.getApproval(orgA.id, 'apr_1'), approval());
    assert.equal((await db.store.approvals.findApproval(orgA.id, 'd1', LATER))?.id, 'apr_1');
    assert.deepEqual((await db.store.approvals.listPendingApprovals(orgA.id, LATER)).map((a) => a.id), ['apr_1']);
    assert.equal(await db.store.approvals.getApproval(orgB.id, 'apr_1'), undefined, "another organisation's is not there");
    assert.equal(await db.store.approvals.findApproval(orgB.id, 'd1', LATER), undefined);
  });

  void it('is decided once, and consumed once even by two stores racing', async () => {
    assert.equal(await db.store.approvals.decideApproval(orgA.id, 'apr_1', 'approved', 'user:admin', LATER), true);
    assert.equal(await db.store.approvals.decideApproval(orgA.id, 'apr_1', 'denied', 'user:db.other', LATER), false, 'a decision stands');
    const a = await db.store.approvals.getApproval(orgA.id, 'apr_1');
    assert.equal(a?.status, 'approved');
    assert.equal(a.decidedBy, 'user:admin');
    const raced = await Promise.all([db.store.approvals.consumeApproval(orgA.id, 'apr_1', LATER), db.other.approvals.consumeApproval(orgA.id, 'apr_1', LATER)]);
    assert.deepEqual(raced.sort(), [false, true]);
    assert.equal(await db.store.approvals.findApproval(orgA.id, 'd1', LATER), undefined, 'a used approval approves nothing more');
  });

  void it('an expired approval can be neither decided nor consumed, and is not listed', async () => {
    await db.store.approvals.createApproval(approval({ id: 'apr_2', digest: 'd2' }));
    assert.equal(await db.store.approvals.decideApproval(orgA.id, 'apr_2', 'approved', 'user:admin', AFTER_EXPIRY), false);
    assert.deepEqual(await db.store.approvals.listPendingApprovals(orgA.id, AFTER_EXPIRY), []);
    assert.equal(await db.store.approvals.findApproval(orgA.id, 'd2', AFTER_EXPIRY), undefined);
    await db.store.approvals.createApproval(approval({ id: 'apr_3', digest: 'd3', status: 'approved' }));
    assert.equal(await db.store.approvals.consumeApproval(orgA.id, 'apr_3', AFTER_EXPIRY), false);
    assert.equal(await db.store.approvals.decideApproval(orgB.id, 'apr_2', 'approved', 'user:x', LATER), false, "not through another organisation");
  });
});
