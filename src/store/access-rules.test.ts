// The store contract for access rules (OAuth issuers, network allowlists, key CIDRs), on SQLite and PostgreSQL alike.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { apiKey, orgA, orgB, T0, T1, T2, forEachDialect } from '../../test/support/store-contract.ts';
import { DuplicateError, type OAuthIssuerRecord } from './types.ts';

function issuer(id: string, orgId: string, url: string, overrides: Partial<OAuthIssuerRecord> = {}): OAuthIssuerRecord {
  return {
    id, orgId, issuer: url, audience: 'https://gw.example/mcp', algorithms: ['RS256', 'ES256'], jwksUri: `${url}/jwks`,
    scopeMap: { 'mcp:tools': ['github', 'files/read_*'], 'mcp:all': ['*'] }, requiredScopes: ['mcp'], servers: null, requireAtJwt: false,
    createdBy: 'cli:alice', createdAt: T0, ...overrides,
  };
}

forEachDialect('access rules', (db) => {
  void it('keeps the networks a key is restricted to: null (anywhere) and a list stay apart', async () => {
    const open = apiKey('key_net_1', orgA.id, T0);
    const bound = apiKey('key_net_2', orgA.id, T1, { cidrs: ['10.0.0.0/8', '::1/128'] });
    await db.store.insertApiKey(open);
    await db.store.insertApiKey(bound);
    assert.deepEqual(await db.other.getApiKey(orgA.id, open.id), open);
    assert.deepEqual(await db.other.findApiKeyByHash(bound.keyHash), bound);
    const rows = await db.fixture.raw('SELECT id FROM api_keys WHERE cidrs IS NULL ORDER BY id');
    assert.deepEqual(rows.map((r) => r.id), ['key_net_1'], 'unrestricted is SQL NULL, not the JSON text null');
  });

  void it('stores OAuth issuers, one organisation per issuer, found by exact issuer across organisations', async () => {
    const a = issuer('iss_1', orgA.id, 'https://idp.acme.example');
    const a2 = issuer('iss_2', orgA.id, 'https://login.acme.example/tenant', { servers: ['docs'], requireAtJwt: true, requiredScopes: [] });
    const b = issuer('iss_3', orgB.id, 'https://idp.globex.example', { scopeMap: {}, algorithms: ['EdDSA'] });
    await db.store.oauthIssuers.insertOAuthIssuer(a);
    await db.store.oauthIssuers.insertOAuthIssuer(a2);
    await db.other.oauthIssuers.insertOAuthIssuer(b);
    await assert.rejects(db.store.oauthIssuers.insertOAuthIssuer({ ...a, id: 'iss_4', orgId: orgB.id }), DuplicateError, 'same issuer, db.other organisation');
    await assert.rejects(db.store.oauthIssuers.insertOAuthIssuer({ ...a, id: 'iss_4' }), DuplicateError, 'same issuer, same organisation');
    await assert.rejects(db.store.oauthIssuers.insertOAuthIssuer({ ...b, issuer: 'https://x.example' }), DuplicateError, 'same id');

    assert.deepEqual(await db.other.oauthIssuers.findOAuthIssuer(a.issuer), a);
    assert.deepEqual(await db.store.oauthIssuers.findOAuthIssuer(a2.issuer), a2);
    assert.deepEqual(await db.store.oauthIssuers.findOAuthIssuer(b.issuer), b);
    assert.equal(await db.store.oauthIssuers.findOAuthIssuer('https://idp.acme.example/'), undefined, 'compared exactly');
    assert.equal(await db.store.oauthIssuers.findOAuthIssuer('HTTPS://idp.acme.example'), undefined, 'compared exactly');
    assert.deepEqual(await db.store.oauthIssuers.listOAuthIssuers(orgA.id), [a, a2]);
    assert.deepEqual(await db.store.oauthIssuers.listOAuthIssuers(orgB.id), [b]);
    assert.deepEqual(await db.store.oauthIssuers.listOAuthIssuers('org_none'), []);
    assert.deepEqual(await db.store.oauthIssuers.listAllOAuthIssuers(), [a, b, a2]);

    assert.equal(await db.store.oauthIssuers.deleteOAuthIssuer(orgB.id, a.id), false, "another organisation's issuer");
    assert.equal(await db.store.oauthIssuers.deleteOAuthIssuer(orgA.id, a.id), true);
    assert.equal(await db.other.oauthIssuers.deleteOAuthIssuer(orgA.id, a.id), false);
    assert.equal(await db.store.oauthIssuers.findOAuthIssuer(a.issuer), undefined);
    await db.other.oauthIssuers.insertOAuthIssuer({ ...a, id: 'iss_5', orgId: orgB.id });
    assert.equal((await db.store.oauthIssuers.findOAuthIssuer(a.issuer))?.orgId, orgB.id, 'a removed issuer may be configured elsewhere');
  });

  void it('stores one network allowlist per organisation and plane, replaced whole and deleted once', async () => {
    assert.equal(await db.store.networkAllowlists.getNetworkAllowlist(orgA.id, 'mcp'), undefined);
    const mcp = { orgId: orgA.id, plane: 'mcp' as const, cidrs: ['10.0.0.0/8', '2001:db8::/32'], updatedAt: T0 };
    await db.store.networkAllowlists.setNetworkAllowlist(mcp);
    assert.deepEqual(await db.other.networkAllowlists.getNetworkAllowlist(orgA.id, 'mcp'), mcp);
    assert.equal(await db.store.networkAllowlists.getNetworkAllowlist(orgA.id, 'api'), undefined, 'the planes are apart');
    assert.equal(await db.store.networkAllowlists.getNetworkAllowlist(orgB.id, 'mcp'), undefined, 'the organisations are apart');

    const replaced = { ...mcp, cidrs: ['192.0.2.0/24'], updatedAt: T2 };
    await db.other.networkAllowlists.setNetworkAllowlist(replaced);
    assert.deepEqual(await db.store.networkAllowlists.getNetworkAllowlist(orgA.id, 'mcp'), replaced);
    const api = { orgId: orgA.id, plane: 'api' as const, cidrs: [], updatedAt: T1 };
    await db.store.networkAllowlists.setNetworkAllowlist(api);
    assert.deepEqual(await db.store.networkAllowlists.getNetworkAllowlist(orgA.id, 'api'), api, 'an empty list is kept as such');

    assert.equal(await db.store.networkAllowlists.deleteNetworkAllowlist(orgB.id, 'mcp'), false, "another organisation's list");
    assert.equal(await db.store.networkAllowlists.deleteNetworkAllowlist(orgA.id, 'mcp'), true);
    assert.equal(await db.store.networkAllowlists.deleteNetworkAllowlist(orgA.id, 'mcp'), false);
    assert.equal(await db.store.networkAllowlists.getNetworkAllowlist(orgA.id, 'mcp'), undefined);
    assert.deepEqual(await db.store.networkAllowlists.getNetworkAllowlist(orgA.id, 'api'), api);
  });
});
