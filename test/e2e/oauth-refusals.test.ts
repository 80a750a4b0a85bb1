// What the gateway must refuse of OAuth access tokens. Each bad token differs from an accepted one in one respect;
// all of them get the same 401 (body and challenge), and only the audit record says why.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, KeyObject, randomUUID } from 'node:crypto';
import { generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { SYSTEM_CHAIN } from '../../src/gateway/audit/audit-log.ts';
import { newId } from '../../src/ids.ts';
import { operatorActor } from '../../src/services/context.ts';
import { addIssuer } from '../../src/services/oauth-issuers.ts';
import { rawPost, runCli, startGateway, stdioFixture, addAndConnect, type Gateway } from './harness.ts';
import { startIdp, type Idp } from './oauth-idp.ts';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'refusals', version: '1' } } };
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('OAuth access tokens that must be refused', () => {
  let gw: Gateway;
  let idp: Idp;
  let other: Idp;
  let otherOrg: string;
  let metadataUrl: string;

  function claims(overrides: JWTPayload = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1000);
    return { iss: idp.issuer, sub: 'agent-a', client_id: 'agent-a', aud: gw.url, scope: 'mcp:all', iat: now, exp: now + 300, jti: randomUUID(), ...overrides };
  }

  function sign(payload: JWTPayload, key: CryptoKey | KeyObject, header: { alg: string; kid?: string; typ?: string } = { alg: 'ES256', kid: 'es-1', typ: 'at+jwt' }): Promise<string> {
    return new SignJWT(payload).setProtectedHeader(header).sign(key);
  }

  async function attempt(token: string): Promise<{ status: number; body: string; challenge: string | null; correlationId: string | null }> {
    const res = await rawPost(gw.url, INIT, { authorization: `Bearer ${token}` });
    return { status: res.status, body: await res.text(), challenge: res.headers.get('www-authenticate'), correlationId: res.headers.get('x-correlation-id') };
  }

  async function reasonOf(chain: string, correlationId: string | null): Promise<string | null | undefined> {
    return (await gw.app.services.store.listAudit(chain, 0, 10_000)).find((r) => r.correlationId === correlationId)?.reason;
  }

  before(async () => {
    gw = await startGateway();
    metadataUrl = `${new URL(gw.url).origin}/.well-known/oauth-protected-resource/mcp`;
    [idp, other] = await Promise.all([startIdp('agent-a'), startIdp('agent-b')]);
    await addAndConnect(gw, stdioFixture('alpha'));
    const added = await runCli(gw, ['oauth', 'issuers', 'add', idp.issuer, '--map', 'mcp:all=*']);
    assert.equal(added.code, 0, added.stderr);
    otherOrg = newId('org');
    await gw.app.services.store.createOrganisation({ id: otherOrg, slug: 'other', name: 'Other', createdAt: new Date().toISOString(), deletedAt: null });
    const actor = operatorActor('test');
    await addIssuer(gw.app.services, actor, { orgId: otherOrg, issuer: other.issuer, audience: gw.url, scopeMap: { 'mcp:all': ['*'] } });
    // An issuer whose key set cannot be fetched: its tokens cannot be verified, so they fail like any other.
    await addIssuer(gw.app.services, actor, { orgId: gw.org.id, issuer: 'http://127.0.0.1:9/gone', audience: gw.url, scopeMap: { mcp: ['*'] }, jwksUri: 'http://127.0.0.1:9/jwks' });
  });
  after(async () => {
    await gw.close();
    await Promise.all([idp.close(), other.close()]);
  });

  test('tokens signed as the IdP signs are accepted: from its token endpoint, crafted, and typ JWT', async () => {
    for (const token of [
      await idp.token('mcp:all', gw.url),
      await sign(claims(), idp.keys.es256),
      await sign(claims(), idp.keys.rs256, { alg: 'RS256', kid: 'rs-1', typ: 'JWT' }),
      await sign(claims({ nbf: Math.floor(Date.now() / 1000) + 10 }), idp.keys.es256),
    ]) {
      const r = await attempt(token);
      assert.equal(r.status, 200, r.body);
    }
  });

  test('every kind of bad token gets the same 401 with resource_metadata, and the audit says which', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = await sign(claims(), idp.keys.es256);
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const stranger = (await generateKeyPair('ES256')).privateKey;
    const hs256 = (() => {
      const h = b64({ alg: 'HS256', kid: 'rs-1', typ: 'at+jwt' });
      const p = b64(claims());
      return `${h}.${p}.${createHmac('sha256', idp.keys.rsaPublicPem).update(`${h}.${p}`).digest('base64url')}`;
    })();
    const cases: [string, string, string][] = [
      ['wrong issuer', await sign(claims({ iss: 'https://idp.evil.example' }), idp.keys.es256), 'unknown_issuer'],
      ['wrong audience', await idp.token('mcp:all', 'https://elsewhere.example/mcp'), 'token_audience'],
      ['no audience of ours', await sign(claims({ aud: ['https://a.example', 'https://b.example'] }), idp.keys.es256), 'token_audience'],
      ['expired', await sign(claims({ iat: now - 900, exp: now - 120 }), idp.keys.es256), 'token_expired'],
      ['no expiry', await sign({ ...claims(), exp: undefined }, idp.keys.es256), 'token_claims'],
      ['nbf in the future', await sign(claims({ nbf: now + 300 }), idp.keys.es256), 'token_not_yet_valid'],
      ['alg none', `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`, 'token_alg'],
      ['HS256 keyed with the public key', hs256, 'token_alg'],
      ['an algorithm not pinned', await sign(claims(), KeyObject.from(idp.keys.rs256), { alg: 'PS256', kid: 'rs-1', typ: 'at+jwt' }), 'token_alg'],
      ['unknown kid', await sign(claims(), stranger, { alg: 'ES256', kid: 'es-9', typ: 'at+jwt' }), 'token_unknown_key'],
      ['a known kid, another key', await sign(claims(), stranger), 'token_signature'],
      ['tampered payload', `${header}.${b64({ ...claims(), sub: 'admin' })}.${signature}`, 'token_signature'],
      ['tampered signature', `${header}.${payload}.${signature.slice(0, -4)}${signature.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`, 'token_signature'],
      ['not an access token typ', await sign(claims(), idp.keys.es256, { alg: 'ES256', kid: 'es-1', typ: 'dpop+jwt' }), 'token_typ'],
      ['no subject', await sign({ ...claims(), sub: undefined }, idp.keys.es256), 'token_claims'],
      ['not a JWT at all', 'eyJhbGciOiJFUzI1NiJ9.bm90LWpzb24.c2ln', 'token_malformed'],
      ['key set unavailable', await sign(claims({ iss: 'http://127.0.0.1:9/gone' }), idp.keys.es256), 'jwks_unavailable'],
    ];
    const bodies = new Set<string>();
    for (const [what, token, reason] of cases) {
      const r = await attempt(token);
      assert.equal(r.status, 401, what);
      assert.equal(r.challenge, `Bearer error="invalid_token", resource_metadata="${metadataUrl}"`, what);
      bodies.add(r.body);
      assert.equal(await reasonOf(reason === 'unknown_issuer' || reason === 'token_malformed' ? SYSTEM_CHAIN : gw.org.id, r.correlationId), reason, what);
    }
    assert.deepEqual([...bodies], ['{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Authentication required"}}']);
  });

  test("a token of one organisation's IdP cannot pass as another organisation's", async () => {
    // Signed by the first IdP's key but naming the other organisation's issuer: the other IdP's keys refuse it.
    const forged = await sign(claims({ iss: other.issuer }), idp.keys.es256);
    const r = await attempt(forged);
    assert.equal(r.status, 401);
    assert.equal(await reasonOf(otherOrg, r.correlationId), 'token_signature');
    // The other organisation's genuine token works for that organisation only.
    const genuine = await other.token('mcp:all', gw.url);
    assert.equal((await attempt(genuine)).status, 200);
    const list = await rawPost(gw.url, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }, { authorization: `Bearer ${genuine}` });
    assert.equal(list.status, 400, 'a session is needed');
    await list.body?.cancel();
  });

  test('a token is not accepted on another resource than the one it was issued for', async () => {
    // Issued for /servers/docs/mcp: not the configured audience (/mcp), not this endpoint's URL.
    const token = await idp.token('mcp:all', new URL('/servers/docs/mcp', gw.url).toString());
    const r = await attempt(token);
    assert.equal(r.status, 401);
    assert.equal(await reasonOf(gw.org.id, r.correlationId), 'token_audience');
  });
});
