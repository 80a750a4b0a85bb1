// The SCIM tables against the store contract, on both stores: one token per organisation (replaced, found by hash,
// deleted), mappings replaced whole, users unique by userName ignoring case, groups with their members, and every
// read and write scoped by organisation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postgresFixture, sqliteFixture, type Fixture } from '../../test/support/store-contract.ts';
import type { ScimGroupRecord, ScimUserRecord } from './scim-types.ts';
import { DuplicateError, type Store } from './types.ts';

const T0 = '2026-11-21T10:00:00.000Z';
const T1 = '2026-11-21T10:00:01.000Z';

function scimUser(orgId: string, userId: string, userName: string, overrides: Partial<ScimUserRecord> = {}): ScimUserRecord {
  return { orgId, userId, userName, externalId: `ext-${userId}`, active: true, resource: JSON.stringify({ userName }), createdAt: T0, updatedAt: T0, ...overrides };
}

function group(orgId: string, id: string, displayName: string, members: string[]): ScimGroupRecord {
  return { id, orgId, displayName, externalId: null, members, createdAt: T0, updatedAt: T0 };
}

for (const [name, make] of [['SqliteStore', sqliteFixture], ['PostgresStore', postgresFixture]] as const) {
  void describe(`${name}: SCIM`, () => {
    let fixture: Fixture;
    let store: Store;

    before(async () => {
      fixture = make();
      store = fixture.open();
      await store.migrate();
      for (const [id, slug] of [['org_a', 'a'], ['org_b', 'b']]) {
        await store.createOrganisation({ id: id ?? '', slug: slug ?? '', name: slug ?? '', createdAt: T0, deletedAt: null });
      }
      for (const u of ['usr_1', 'usr_2', 'usr_3']) await store.insertUser({ id: u, email: `${u}@example.com`, createdAt: T0 });
    });
    after(async () => {
      await store.close();
      await fixture.cleanup();
    });

    it('keeps one token per organisation: a new one replaces the old, found only by its own hash', async () => {
      await store.scim.putToken({ id: 'sct_1', orgId: 'org_a', tokenHash: 'h1', displayPrefix: 'gths_1…', createdBy: 'ann', createdAt: T0 });
      assert.equal((await store.scim.findTokenByHash('h1'))?.orgId, 'org_a');
      await store.scim.putToken({ id: 'sct_2', orgId: 'org_a', tokenHash: 'h2', displayPrefix: 'gths_2…', createdBy: 'bob', createdAt: T1 });
      assert.equal(await store.scim.findTokenByHash('h1'), undefined);
      assert.deepEqual(await store.scim.getToken('org_a'), { id: 'sct_2', orgId: 'org_a', tokenHash: 'h2', displayPrefix: 'gths_2…', createdBy: 'bob', createdAt: T1 });
      assert.equal(await store.scim.getToken('org_b'), undefined);
      assert.equal(await store.scim.deleteToken('org_b'), false);
      assert.equal(await store.scim.deleteToken('org_a'), true);
      assert.equal(await store.scim.findTokenByHash('h2'), undefined);
    });

    it('replaces the role mappings of one organisation whole', async () => {
      await store.scim.setRoleMappings('org_a', [{ idpGroup: 'Engineering', role: 'member' }, { idpGroup: 'Admins', role: 'admin' }]);
      await store.scim.setRoleMappings('org_b', [{ idpGroup: 'Everyone', role: 'viewer' }]);
      assert.deepEqual(await store.scim.getRoleMappings('org_a'), [{ idpGroup: 'Admins', role: 'admin' }, { idpGroup: 'Engineering', role: 'member' }]);
      await store.scim.setRoleMappings('org_a', [{ idpGroup: 'Owners', role: 'owner' }]);
      assert.deepEqual(await store.scim.getRoleMappings('org_a'), [{ idpGroup: 'Owners', role: 'owner' }]);
      assert.deepEqual(await store.scim.getRoleMappings('org_b'), [{ idpGroup: 'Everyone', role: 'viewer' }]);
    });

    it('provisions users per organisation, unique by userName ignoring case', async () => {
      await store.scim.insertUser(scimUser('org_a', 'usr_1', 'Ann@Example.com'));
      await store.scim.insertUser(scimUser('org_a', 'usr_2', 'bob@example.com', { externalId: null, active: false }));
      await store.scim.insertUser(scimUser('org_b', 'usr_1', 'ann@example.com'));
      await assert.rejects(store.scim.insertUser(scimUser('org_a', 'usr_3', 'ann@example.COM')), DuplicateError);
      await assert.rejects(store.scim.insertUser(scimUser('org_a', 'usr_1', 'other')), DuplicateError);
      assert.deepEqual(await store.scim.getUser('org_a', 'usr_2'), scimUser('org_a', 'usr_2', 'bob@example.com', { externalId: null, active: false }));
      assert.equal(await store.scim.getUser('org_b', 'usr_2'), undefined);
      assert.deepEqual((await store.scim.listUsers('org_a')).map((u) => u.userId), ['usr_1', 'usr_2']);
      assert.equal(await store.scim.updateUser(scimUser('org_a', 'usr_2', 'robert@example.com', { active: true, updatedAt: T1 })), true);
      assert.equal(await store.scim.updateUser(scimUser('org_b', 'usr_2', 'x')), false);
      assert.deepEqual(await store.scim.getUser('org_a', 'usr_2'), scimUser('org_a', 'usr_2', 'robert@example.com', { active: true, updatedAt: T1 }));
    });

    it('keeps groups with their members; a deleted user leaves its groups; nothing crosses organisations', async () => {
      await store.scim.insertGroup(group('org_a', 'grp_1', 'Engineering', ['usr_1', 'usr_2']));
      await store.scim.insertGroup(group('org_a', 'grp_2', 'Empty', []));
      await store.scim.insertGroup(group('org_b', 'grp_3', 'Engineering', ['usr_1']));
      await assert.rejects(store.scim.insertGroup(group('org_a', 'grp_4', 'Engineering', [])), DuplicateError);
      assert.deepEqual(await store.scim.getGroup('org_a', 'grp_1'), group('org_a', 'grp_1', 'Engineering', ['usr_1', 'usr_2']));
      assert.equal(await store.scim.getGroup('org_b', 'grp_1'), undefined);
      assert.deepEqual((await store.scim.listGroups('org_a')).map((g) => [g.id, g.members]), [['grp_1', ['usr_1', 'usr_2']], ['grp_2', []]]);
      assert.deepEqual((await store.scim.groupsOfUser('org_a', 'usr_1')).map((g) => g.id), ['grp_1']);

      assert.equal(await store.scim.updateGroup({ ...group('org_a', 'grp_2', 'Admins', ['usr_2']), externalId: 'x', updatedAt: T1 }), true);
      assert.equal(await store.scim.updateGroup(group('org_b', 'grp_2', 'Stolen', [])), false);
      assert.deepEqual(await store.scim.getGroup('org_a', 'grp_2'), { ...group('org_a', 'grp_2', 'Admins', ['usr_2']), externalId: 'x', updatedAt: T1 });

      assert.equal(await store.scim.deleteUser('org_a', 'usr_2'), true);
      assert.equal(await store.scim.deleteUser('org_a', 'usr_2'), false);
      assert.deepEqual((await store.scim.listGroups('org_a')).map((g) => [g.id, g.members]), [['grp_1', ['usr_1']], ['grp_2', []]]);
      assert.equal(await store.scim.deleteGroup('org_b', 'grp_1'), false);
      assert.equal(await store.scim.deleteGroup('org_a', 'grp_1'), true);
      assert.deepEqual((await store.scim.groupsOfUser('org_b', 'usr_1')).map((g) => g.id), ['grp_3']);
    });

    it('upgrades a version-4 database: people, passwords and browser sessions stay; nothing is provisioned yet', async () => {
      const old = make();
      try {
        await old.exec(`${old.schemaAt(4)}
          INSERT INTO organisations (id, slug, name, created_at) VALUES ('org_a', 'a', 'A', '${T0}');
          INSERT INTO users (id, email, created_at) VALUES ('usr_1', 'usr_1@example.com', '${T0}');
          INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) VALUES ('org_a', 'usr_1', 'member', '${T0}', '${T0}');
          INSERT INTO password_credentials (user_id, password_hash, failed_count, updated_at) VALUES ('usr_1', '$argon2id$old', 0, '${T0}');
          INSERT INTO browser_sessions (id_hash, org_id, user_id, stage, mfa, method, created_at, last_seen_at, expires_at)
          VALUES ('hash_1', 'org_a', 'usr_1', 'full', CAST(0 AS BOOLEAN), 'password', '${T0}', '${T0}', '${T1}');`);
        const upgraded = old.open();
        try {
          await upgraded.migrate();
          const versions = await old.raw('SELECT version FROM schema_migrations ORDER BY version');
          assert.deepEqual(versions.map((r) => Number(r.version)), Array.from({ length: old.migrations }, (_, i) => i + 1));
          assert.equal((await upgraded.signIn.getPassword('usr_1'))?.passwordHash, '$argon2id$old');
          assert.equal((await upgraded.signIn.getSession('hash_1'))?.endedAt, null);
          assert.equal((await upgraded.getMember('org_a', 'usr_1'))?.role, 'member');
          assert.equal(await upgraded.scim.getToken('org_a'), undefined);
          assert.deepEqual(await upgraded.scim.listUsers('org_a'), []);
          await upgraded.scim.insertUser(scimUser('org_a', 'usr_1', 'usr_1@example.com'));
          assert.equal((await upgraded.scim.getUser('org_a', 'usr_1'))?.userName, 'usr_1@example.com');
        } finally {
          await upgraded.close();
        }
      } finally {
        await old.cleanup();
      }
    });
  });
}
