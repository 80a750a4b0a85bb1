// What the data path decides access on is served from memory and reloaded when the store's access revision moves.
// Each change is made through a second store on the same database (what the CLI or another replica does), and must
// apply to the very next request: on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { apiKey, orgA, postgresFixture, sqliteFixture, T0, type Fixture } from '../../../test/support/store-contract.ts';
import type { Store } from '../../store/types.ts';
import { createAuthenticator } from '../authn/authenticate.ts';
import { generateApiKey, hashApiKey, pepperKey } from '../authn/api-key-format.ts';
import { createNetworkRules } from './network-rules.ts';

const pepper = pepperKey(randomBytes(32));

for (const [name, makeFixture] of [['SQLite', sqliteFixture], ['PostgreSQL', postgresFixture]] as const) {
  void describe(`access served from memory, invalidated by revision (${name})`, () => {
    let fixture: Fixture;
    let gateway: Store;
    let cli: Store;

    before(async () => {
      fixture = makeFixture();
      gateway = fixture.open();
      cli = fixture.open();
      await gateway.migrate();
      await cli.migrate();
      await cli.createOrganisation(orgA);
    });
    after(async () => {
      await Promise.all([gateway.close(), cli.close()]);
      await fixture.cleanup();
    });

    void it('a revoked key is refused on the next request, though the key was cached', async () => {
      const authenticate = createAuthenticator({ store: gateway, pepper });
      const token = generateApiKey();
      await cli.insertApiKey(apiKey('key_rev', orgA.id, T0, { keyHash: hashApiKey(token, pepper) }));
      const first = await authenticate(`Bearer ${token}`, Date.now());
      assert.ok(first.ok);
      const second = await authenticate(`Bearer ${token}`, Date.now());
      assert.ok(second.ok);
      assert.equal(second.principal, first.principal, 'the second request is served from memory');
      await cli.revokeApiKey(orgA.id, 'key_rev', T0);
      assert.deepEqual(await authenticate(`Bearer ${token}`, Date.now()), { ok: false, reason: 'revoked', orgId: orgA.id, keyId: 'key_rev' });
    });

    void it('a key acting for a user loses what its user loses, at once', async () => {
      const authenticate = createAuthenticator({ store: gateway, pepper });
      await cli.insertUser({ id: 'usr_1', email: 'u1@example.com', createdAt: T0 });
      await cli.insertMembership({ orgId: orgA.id, userId: 'usr_1', role: 'admin', createdAt: T0, updatedAt: T0 });
      const token = generateApiKey();
      await cli.insertApiKey(apiKey('key_usr', orgA.id, T0, { keyHash: hashApiKey(token, pepper), userId: 'usr_1', role: 'admin' }));
      const before = await authenticate(`Bearer ${token}`, Date.now());
      assert.equal(before.ok && before.principal.role, 'admin');
      await cli.setMemberRole(orgA.id, 'usr_1', 'viewer', T0);
      const after = await authenticate(`Bearer ${token}`, Date.now());
      assert.equal(after.ok && after.principal.role, 'viewer');
    });

    void it('an expired key is refused although it is cached', async () => {
      const authenticate = createAuthenticator({ store: gateway, pepper });
      const token = generateApiKey();
      const expiresAt = new Date(Date.now() + 60_000).toISOString();
      await cli.insertApiKey(apiKey('key_exp', orgA.id, T0, { keyHash: hashApiKey(token, pepper), expiresAt }));
      assert.ok((await authenticate(`Bearer ${token}`, Date.now())).ok);
      const later = await authenticate(`Bearer ${token}`, Date.now() + 120_000);
      assert.equal(!later.ok && later.reason, 'expired');
    });

    void it('an allowlist set, narrowed or lifted elsewhere applies to the next request', async () => {
      const rules = createNetworkRules(gateway);
      assert.equal(await rules.allowlist(orgA.id, 'mcp'), undefined);
      const list = { orgId: orgA.id, plane: 'mcp' as const, cidrs: ['10.0.0.0/8'], updatedAt: T0 };
      await cli.networkAllowlists.setNetworkAllowlist(list);
      assert.equal((await rules.allowlist(orgA.id, 'mcp'))?.allows('10.1.2.3'), true);
      assert.equal((await rules.allowlist(orgA.id, 'mcp'))?.allows('192.0.2.1'), false);
      assert.equal(await rules.allowlist(orgA.id, 'api'), undefined, 'the other plane stays open');
      await cli.networkAllowlists.setNetworkAllowlist({ ...list, cidrs: ['192.0.2.0/24'] });
      assert.equal((await rules.allowlist(orgA.id, 'mcp'))?.allows('10.1.2.3'), false);
      await cli.networkAllowlists.deleteNetworkAllowlist(orgA.id, 'mcp');
      assert.equal(await rules.allowlist(orgA.id, 'mcp'), undefined);
    });

    void it('a store that cannot answer refuses (fail closed), it does not serve what it had', async () => {
      const broken: Pick<Store, 'networkAllowlists' | 'accessRevision'> = {
        networkAllowlists: gateway.networkAllowlists,
        accessRevision: () => Promise.reject(new Error('database is locked')),
      };
      await assert.rejects(createNetworkRules(broken).allowlist(orgA.id, 'mcp'), /database is locked/);
      const authenticate = createAuthenticator({ store: { ...gateway, accessRevision: broken.accessRevision, findApiKeyByHash: (h) => gateway.findApiKeyByHash(h), getMember: (o, u) => gateway.getMember(o, u) }, pepper });
      await assert.rejects(authenticate(`Bearer ${generateApiKey()}`, Date.now()), /database is locked/);
    });
  });
}
