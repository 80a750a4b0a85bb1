import { test } from 'node:test';
import { createEgress } from '../egress/egress.ts';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { GatehouseError } from '../errors.ts';
import { createAuditLog } from '../gateway/audit/audit-log.ts';
import { pepperKey } from '../gateway/authn/api-key-format.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import { SecretBox } from '../vault/secret-box.ts';
import { testVault } from '../vault/test-vault.ts';
import { operatorActor, type ServiceContext } from './context.ts';
import { addIssuer, type NewIssuer } from './oauth-issuers.ts';

/** A fetch that answers discovery with the given documents by URL, and 404 otherwise. */
function discovery(docs: Record<string, unknown>): typeof fetch {
  return (input) => {
    const doc = docs[String(input instanceof Request ? input.url : input)];
    return Promise.resolve(doc === undefined ? new Response('no', { status: 404 }) : Response.json(doc));
  };
}

const refused = (pattern: RegExp) => (e: unknown) => e instanceof GatehouseError && e.code === 'bad_request' && pattern.test(e.message);

test('issuer configuration: discovery, and what it refuses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-issuers-'));
  const store = SqliteStore.openInDataDir(dir);
  try {
    await store.migrate();
    await store.createOrganisation({ id: 'org_a', slug: 'a', name: 'A', createdAt: new Date().toISOString(), deletedAt: null });
    const ctx: ServiceContext = { store, audit: createAuditLog({ store, log: pino({ level: 'silent' }) }), pepper: pepperKey(randomBytes(32)), box: new SecretBox(randomBytes(32)),
    vault: testVault(store),
    // Host names resolve to a documentation-free public address; the tests' own fetch answers, nothing connects.
    egress: createEgress({ allowPlainHttp: false, allowCidrs: [] }, () => Promise.resolve(['93.184.215.14'])) };
    const base: NewIssuer = { orgId: 'org_a', issuer: 'https://idp.example/tenant', audience: 'https://gw.example/mcp', scopeMap: { mcp: ['*'] } };
    const actor = operatorActor('test');

    // RFC 8414 inserts the well-known path before the issuer's path; OIDC appends it. OIDC is tried first.
    const rfc8414 = discovery({ 'https://idp.example/.well-known/oauth-authorization-server/tenant': { issuer: base.issuer, jwks_uri: 'https://idp.example/keys' } });
    const added = await addIssuer(ctx, actor, base, { fetch: rfc8414 });
    assert.equal(added.jwksUri, 'https://idp.example/keys');
    assert.deepEqual(added.algorithms, ['RS256', 'ES256', 'EdDSA']);

    const mixUp = discovery({ 'https://other.example/.well-known/openid-configuration': { issuer: 'https://evil.example', jwks_uri: 'https://evil.example/keys' } });
    await assert.rejects(addIssuer(ctx, actor, { ...base, issuer: 'https://other.example' }, { fetch: mixUp }), refused(/names another issuer/));
    await assert.rejects(addIssuer(ctx, actor, { ...base, issuer: 'https://none.example' }, { fetch: discovery({}) }), refused(/Cannot discover/));
    const given = { ...base, jwksUri: 'https://x.example/jwks' };
    const cases: [Partial<NewIssuer>, RegExp][] = [
      [{ algorithms: ['none'] }, /'none' is not accepted/],
      [{ algorithms: ['HS256'] }, /'HS256' is not accepted/],
      [{ algorithms: [] }, /at least one algorithm/],
      [{ issuer: 'http://idp.example' }, /must be https/],
      [{ jwksUri: 'http://x.example/jwks' }, /JWKS URI must be https/],
      [{ issuer: 'https://u:p@idp.example' }, /must not carry credentials/],
      [{ issuer: 'https://idp.example/?a=1' }, /query or fragment/],
      [{ scopeMap: {} }, /Map at least one token scope/],
      [{ scopeMap: { 'a"b': ['*'] } }, /not a token scope value/],
      [{ scopeMap: { mcp: ['Bad/x'] } }, /Invalid scope/],
      [{ requiredScopes: ['a b'] }, /not a token scope value/],
      [{ servers: ['nope'] }, /No virtual server 'nope'/],
    ];
    for (const [i, [change, pattern]] of cases.entries()) {
      await assert.rejects(
        addIssuer(ctx, actor, { ...given, issuer: `https://idp${String(i)}.example`, ...change }),
        (e: unknown) => e instanceof GatehouseError && pattern.test(e.message),
        JSON.stringify(change),
      );
    }
    await assert.rejects(addIssuer(ctx, actor, { ...given, issuer: base.issuer }), (e: unknown) => e instanceof GatehouseError && e.code === 'conflict');
    assert.equal((await store.oauthIssuers.listOAuthIssuers('org_a')).length, 1);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
