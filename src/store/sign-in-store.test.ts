// The sign-in tables' contract, run on SQLite and on PostgreSQL alike (CI has PostgreSQL: unreachable fails).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postgresFixture, sqliteFixture, type Fixture } from '../../test/support/store-contract.ts';
import type { BrowserSessionRecord, OrgSignInSettings } from './sign-in-types.ts';
import type { Store } from './types.ts';

const T0 = '2026-11-21T10:00:00.000Z';
const T1 = '2026-11-21T10:05:00.000Z';
const T2 = '2026-11-21T10:10:00.000Z';

function session(idHash: string, overrides: Partial<BrowserSessionRecord> = {}): BrowserSessionRecord {
  return {
    idHash, orgId: 'org_a', userId: 'usr_ann', stage: 'full', mfa: false, method: 'password',
    createdAt: T0, lastSeenAt: T0, expiresAt: '2026-11-21T22:00:00.000Z', endedAt: null, ...overrides,
  };
}

for (const [name, make] of [['SQLite', sqliteFixture], ['PostgreSQL', postgresFixture]] as const) {
  void describe(`sign-in store contract: ${name}`, () => {
    let fixture: Fixture;
    let store: Store;
    let other: Store;

    before(async () => {
      fixture = make();
      store = fixture.open();
      await store.migrate();
      other = fixture.open();
      await other.migrate();
      for (const org of ['org_a', 'org_b']) await store.createOrganisation({ id: org, slug: org, name: org, createdAt: T0, deletedAt: null });
      for (const user of ['usr_ann', 'usr_bob']) await store.insertUser({ id: user, email: `${user}@example.com`, createdAt: T0 });
    });
    after(async () => {
      await store.close();
      await other.close();
      await fixture.cleanup();
    });

    void it('stores a password hash, counts failures to a lockout, and a new password clears them', async () => {
      const s = store.signIn;
      assert.equal(await s.getPassword('usr_ann'), undefined);
      assert.equal(await s.recordPasswordFailure('usr_ann', 3, T2), undefined, 'no password, nothing to count');
      await s.setPassword('usr_ann', '$argon2id$one', T0);
      assert.deepEqual(await other.signIn.getPassword('usr_ann'), { userId: 'usr_ann', passwordHash: '$argon2id$one', failedCount: 0, lockedUntil: null, updatedAt: T0 });
      assert.deepEqual(await s.recordPasswordFailure('usr_ann', 3, T2), { failedCount: 1, lockedUntil: null });
      assert.deepEqual(await other.signIn.recordPasswordFailure('usr_ann', 3, T2), { failedCount: 2, lockedUntil: null });
      assert.deepEqual(await s.recordPasswordFailure('usr_ann', 3, T2), { failedCount: 3, lockedUntil: T2 });
      await s.clearPasswordFailures('usr_ann');
      assert.equal((await s.getPassword('usr_ann'))?.failedCount, 0);
      await s.recordPasswordFailure('usr_ann', 1, T2);
      await s.setPassword('usr_ann', '$argon2id$two', T1);
      assert.deepEqual(await s.getPassword('usr_ann'), { userId: 'usr_ann', passwordHash: '$argon2id$two', failedCount: 0, lockedUntil: null, updatedAt: T1 });
      assert.equal(await s.getPassword('usr_bob'), undefined, "another user's");
    });

    void it('keeps a pending TOTP factor replaceable, a confirmed one fixed, and each time step usable once', async () => {
      const s = store.signIn;
      assert.equal(await s.putPendingTotp('usr_ann', 'v1.sealed.one', T0), true);
      assert.equal(await s.useTotpStep('usr_ann', 10), false, 'not confirmed yet');
      assert.equal(await s.putPendingTotp('usr_ann', 'v1.sealed.two', T1), true, 'a pending factor is replaced');
      assert.deepEqual(await other.signIn.getTotp('usr_ann'), { userId: 'usr_ann', secretSealed: 'v1.sealed.two', confirmedAt: null, lastStep: null, createdAt: T1 });
      assert.equal(await s.confirmTotp('usr_ann', 100, T2), true);
      assert.equal(await s.confirmTotp('usr_ann', 101, T2), false, 'confirmed once');
      assert.equal(await s.putPendingTotp('usr_ann', 'v1.sealed.three', T2), false, 'a confirmed factor is not overwritten');
      assert.equal((await s.getTotp('usr_ann'))?.secretSealed, 'v1.sealed.two');
      assert.equal(await s.useTotpStep('usr_ann', 100), false, 'the confirming code cannot be replayed');
      assert.equal(await s.useTotpStep('usr_ann', 99), false, 'nor an older one');
      assert.equal(await s.useTotpStep('usr_ann', 101), true);
      assert.equal(await other.signIn.useTotpStep('usr_ann', 101), false, 'nor the same one from another replica');
      assert.equal(await s.useTotpStep('usr_bob', 500), false, 'no factor');
      await s.deleteTotp('usr_ann');
      assert.equal(await s.getTotp('usr_ann'), undefined);
    });

    void it('replaces recovery codes as a set and spends each once', async () => {
      const s = store.signIn;
      await s.replaceRecoveryCodes('usr_ann', ['h1', 'h2', 'h3'], T0);
      assert.equal(await s.countRecoveryCodes('usr_ann'), 3);
      assert.equal(await s.useRecoveryCode('usr_ann', 'h2', T1), true);
      assert.equal(await other.signIn.useRecoveryCode('usr_ann', 'h2', T1), false, 'spent');
      assert.equal(await s.useRecoveryCode('usr_bob', 'h1', T1), false, "another user's code");
      assert.equal(await s.countRecoveryCodes('usr_ann'), 2);
      await s.replaceRecoveryCodes('usr_ann', ['h4'], T2);
      assert.equal(await s.useRecoveryCode('usr_ann', 'h1', T2), false, 'the old set is gone');
      assert.equal(await s.countRecoveryCodes('usr_ann'), 1);
    });

    void it('stores sessions by hash, touches, rotates atomically and ends them', async () => {
      const s = store.signIn;
      await s.insertSession(session('hash_1', { stage: 'partial' }));
      assert.deepEqual(await other.signIn.getSession('hash_1'), session('hash_1', { stage: 'partial' }));
      await s.touchSession('hash_1', T1);
      await s.touchSession('hash_1', T0);
      assert.equal((await s.getSession('hash_1'))?.lastSeenAt, T1, 'never moved backwards');
      const next = session('hash_2', { mfa: true, createdAt: T1, lastSeenAt: T1 });
      assert.equal(await s.rotateSession('hash_1', next, T1), true);
      assert.equal((await s.getSession('hash_1'))?.endedAt, T1);
      assert.deepEqual(await s.getSession('hash_2'), next);
      assert.equal(await other.signIn.rotateSession('hash_1', session('hash_3'), T2), false, 'an ended session cannot be rotated');
      assert.equal(await s.getSession('hash_3'), undefined, 'and nothing was written');
      await s.insertSession(session('hash_b', { orgId: 'org_b' }));
      await s.insertSession(session('hash_bob', { userId: 'usr_bob' }));
      assert.equal(await s.endUserSessions('usr_ann', 'org_a', T2), 1);
      assert.equal((await s.getSession('hash_b'))?.endedAt, null, 'the same person in another organisation');
      assert.equal(await s.endUserSessions('usr_ann', null, T2), 1);
      assert.equal((await s.getSession('hash_bob'))?.endedAt, null, 'another person');
      assert.equal(await s.endSession('hash_bob', T2), true);
      assert.equal(await s.endSession('hash_bob', T2), false);
    });

    void it('stores an organisation sign-in settings row, with and without OIDC', async () => {
      const s = store.signIn;
      assert.equal(await s.getSettings('org_a'), undefined);
      const plain: OrgSignInSettings = { orgId: 'org_a', sessionIdleMinutes: 30, sessionMaxHours: 12, requireMfa: true, passwordLogin: true, oidc: null, updatedAt: T0 };
      await s.putSettings(plain);
      assert.deepEqual(await other.signIn.getSettings('org_a'), plain);
      const sso: OrgSignInSettings = {
        ...plain, sessionIdleMinutes: 480, requireMfa: false, passwordLogin: false, updatedAt: T1,
        oidc: { issuer: 'https://idp.example', clientId: 'gatehouse', clientSecretSealed: 'v1.a.b.c', allowJit: true },
      };
      await s.putSettings(sso);
      assert.deepEqual(await s.getSettings('org_a'), sso);
      assert.equal(await s.getSettings('org_b'), undefined, "another organisation's");
      await assert.rejects(s.putSettings({ ...plain, orgId: 'org_b', sessionIdleMinutes: 5 }), 'the database refuses an idle timeout out of range');
    });

    void it('hands out an OIDC flow once, and sweeps expired ones', async () => {
      const s = store.signIn;
      const flow = { idHash: 'flow_1', orgId: 'org_a', state: 'st', nonce: 'no', codeVerifierSealed: 'v1.x', createdAt: T0, expiresAt: T1 };
      await s.insertOidcFlow(flow);
      assert.deepEqual(await other.signIn.takeOidcFlow('flow_1'), flow);
      assert.equal(await s.takeOidcFlow('flow_1'), undefined, 'used once');
      await s.insertOidcFlow({ ...flow, idHash: 'flow_old' });
      await s.insertOidcFlow({ ...flow, idHash: 'flow_new', createdAt: T2, expiresAt: '2026-11-21T10:20:00.000Z' });
      assert.equal(await s.takeOidcFlow('flow_old'), undefined, 'swept');
      assert.equal((await s.takeOidcFlow('flow_new'))?.idHash, 'flow_new');
    });

    void it('upgrades a version-3 database: its people keep their memberships and have no password, factor or session yet', async () => {
      const old = make();
      try {
        await old.exec(`${old.schemaAt(3)}
          INSERT INTO organisations (id, slug, name, created_at) VALUES ('org_a', 'org-a', 'A', '${T0}');
          INSERT INTO users (id, email, created_at) VALUES ('usr_ann', 'ann@example.com', '${T0}');
          INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) VALUES ('org_a', 'usr_ann', 'admin', '${T0}', '${T0}');`);
        const upgraded = old.open();
        try {
          await upgraded.migrate();
          const versions = await old.raw('SELECT version FROM schema_migrations ORDER BY version');
          assert.deepEqual(versions.map((r) => Number(r.version)), Array.from({ length: old.migrations }, (_, i) => i + 1));
          assert.equal((await upgraded.getMember('org_a', 'usr_ann'))?.role, 'admin');
          assert.equal(await upgraded.signIn.getPassword('usr_ann'), undefined);
          assert.equal(await upgraded.signIn.getTotp('usr_ann'), undefined);
          assert.equal(await upgraded.signIn.getSettings('org_a'), undefined, 'the defaults apply');
          await upgraded.signIn.setPassword('usr_ann', '$argon2id$one', T1);
          assert.equal((await upgraded.signIn.getPassword('usr_ann'))?.passwordHash, '$argon2id$one');
        } finally {
          await upgraded.close();
        }
      } finally {
        await old.cleanup();
      }
    });
  });
}
