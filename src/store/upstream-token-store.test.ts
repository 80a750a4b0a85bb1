// The store contract for per-user upstream OAuth tokens (one sealed row per organisation, user and connector), on
// SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { connector, forEachDialect, orgA, orgB, T0, T1, T2 } from '../../test/support/store-contract.ts';
import type { UpstreamTokenRecord } from './upstream-token-types.ts';

const row = (userId: string, connectorId: string, overrides: Partial<UpstreamTokenRecord> = {}): UpstreamTokenRecord => ({
  orgId: orgA.id, userId, connectorId, sealed: `v2.sealed-${userId}-${connectorId}`, scope: 'mcp:read offline_access',
  expiresAt: T2, updatedAt: T1, ...overrides,
});

forEachDialect(
  'upstream tokens',
  (db) => {
    void it('keeps one row per user and connector, replaced whole, read back by another replica', async () => {
      assert.equal(await db.store.upstreamTokens.getUpstreamToken(orgA.id, 'usr_1', 'con_a'), undefined);
      await db.store.upstreamTokens.putUpstreamToken(row('usr_1', 'con_a'));
      assert.deepEqual(await db.other.upstreamTokens.getUpstreamToken(orgA.id, 'usr_1', 'con_a'), row('usr_1', 'con_a'));
      const refreshed = row('usr_1', 'con_a', { sealed: 'v2.rotated', scope: null, expiresAt: null, updatedAt: T2 });
      await db.store.upstreamTokens.putUpstreamToken(refreshed);
      assert.deepEqual(await db.other.upstreamTokens.getUpstreamToken(orgA.id, 'usr_1', 'con_a'), refreshed);
    });

    void it("never answers with another user's, connector's or organisation's row", async () => {
      await db.store.upstreamTokens.putUpstreamToken(row('usr_2', 'con_b', { updatedAt: T0 }));
      assert.equal(await db.store.upstreamTokens.getUpstreamToken(orgA.id, 'usr_2', 'con_a'), undefined);
      assert.equal(await db.store.upstreamTokens.getUpstreamToken(orgA.id, 'usr_1', 'con_b'), undefined);
      assert.equal(await db.store.upstreamTokens.getUpstreamToken(orgB.id, 'usr_1', 'con_a'), undefined);
      assert.deepEqual((await db.store.upstreamTokens.listUpstreamTokensOfUser(orgA.id, 'usr_1')).map((r) => r.connectorId), ['con_a']);
      assert.deepEqual(await db.store.upstreamTokens.listUpstreamTokensOfUser(orgB.id, 'usr_1'), []);
    });

    void it('names the most recently stored user of a connector', async () => {
      await db.store.upstreamTokens.putUpstreamToken(row('usr_1', 'con_b', { updatedAt: T1 }));
      assert.equal((await db.store.upstreamTokens.latestUpstreamToken(orgA.id, 'con_b'))?.userId, 'usr_1');
      await db.store.upstreamTokens.putUpstreamToken(row('usr_2', 'con_b', { updatedAt: T2 }));
      assert.equal((await db.store.upstreamTokens.latestUpstreamToken(orgA.id, 'con_b'))?.userId, 'usr_2');
      assert.equal(await db.store.upstreamTokens.latestUpstreamToken(orgB.id, 'con_b'), undefined);
    });

    void it('deletes one row, says whether there was one, and leaves the others', async () => {
      assert.equal(await db.store.upstreamTokens.deleteUpstreamToken(orgA.id, 'usr_1', 'con_b'), true);
      assert.equal(await db.store.upstreamTokens.deleteUpstreamToken(orgA.id, 'usr_1', 'con_b'), false);
      assert.equal(await db.other.upstreamTokens.getUpstreamToken(orgA.id, 'usr_1', 'con_b'), undefined);
      assert.ok((await db.other.upstreamTokens.getUpstreamToken(orgA.id, 'usr_2', 'con_b')) !== undefined);
    });

    void it('refuses a row for an unknown user, connector or organisation', async () => {
      await assert.rejects(db.store.upstreamTokens.putUpstreamToken(row('usr_nobody', 'con_a')));
      await assert.rejects(db.store.upstreamTokens.putUpstreamToken(row('usr_1', 'con_nothing')));
      await assert.rejects(db.store.upstreamTokens.putUpstreamToken(row('usr_1', 'con_a', { orgId: 'org_nobody' })));
    });

    void it('a connect in progress is taken once, by any replica, and an expired one never', async () => {
      const connect = { stateHash: 'h1', orgId: orgA.id, userId: 'usr_1', connectorId: 'con_a', sealed: 'v2.pending', expiresAt: T2 };
      await db.store.upstreamTokens.putUpstreamConnect(connect);
      await assert.rejects(db.store.upstreamTokens.putUpstreamConnect(connect), 'a state hash is unique');
      assert.deepEqual(await db.other.upstreamTokens.takeUpstreamConnect('h1', T1), connect);
      assert.equal(await db.store.upstreamTokens.takeUpstreamConnect('h1', T1), undefined, 'used once');
      await db.store.upstreamTokens.putUpstreamConnect({ ...connect, stateHash: 'h2', expiresAt: T1 });
      assert.equal(await db.other.upstreamTokens.takeUpstreamConnect('h2', T2), undefined, 'expired');
      await db.store.upstreamTokens.putUpstreamConnect({ ...connect, stateHash: 'h3', expiresAt: T1 });
      await db.store.upstreamTokens.takeUpstreamConnect('nothing', T2);
      const left = await db.fixture.raw("SELECT state_hash FROM upstream_connects");
      assert.deepEqual(left, [], 'expired connects are purged by the next take');
      await assert.rejects(db.store.upstreamTokens.putUpstreamConnect({ ...connect, stateHash: 'h4', userId: 'usr_nobody' }));
    });

    void it("goes with its connector when the connector is removed", async () => {
      assert.equal(await db.store.deleteConnector(orgA.id, 'con_b'), true);
      assert.equal(await db.other.upstreamTokens.getUpstreamToken(orgA.id, 'usr_2', 'con_b'), undefined);
      assert.ok((await db.other.upstreamTokens.getUpstreamToken(orgA.id, 'usr_1', 'con_a')) !== undefined);
    });
  },
  async (store) => {
    for (const u of ['usr_1', 'usr_2']) await store.insertUser({ id: u, email: `${u}@example.com`, createdAt: T0 });
    await store.insertConnector(connector('con_a', orgA.id, 'alpha'));
    await store.insertConnector(connector('con_b', orgA.id, 'beta'));
  },
);
