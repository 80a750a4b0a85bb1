import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OAuthIssuerRecord } from '../../store/types.ts';
import { createResourceMetadata } from './resource-metadata.ts';

function issuer(orgId: string, url: string, servers: string[] | null, scopeMap: Record<string, string[]>): OAuthIssuerRecord {
  return {
    id: `iss_${url}`, orgId, issuer: url, audience: 'x', algorithms: ['ES256'], jwksUri: `${url}/jwks`, scopeMap, requiredScopes: ['mcp'], servers,
    requireAtJwt: false, createdBy: 't', createdAt: '2026-01-01T00:00:00.000Z',
  };
}

const issuers = [
  issuer('org_a', 'https://a.example', null, { 'mcp:read': ['*'] }),
  issuer('org_a', 'https://docs.a.example', ['docs'], { 'docs:read': ['*'] }),
  issuer('org_b', 'https://b.example', null, { 'b:all': ['*'] }),
];

function metadata(base: string) {
  return createResourceMetadata({
    issuers: { listAllOAuthIssuers: () => Promise.resolve(issuers) },
    orgIdOf: (slug) => Promise.resolve(slug === 'acme' ? 'org_a' : undefined),
    base: () => base,
  });
}

test('metadata URLs put the well-known prefix between the host and the resource path (RFC 9728)', () => {
  const m = metadata('https://gw.example/');
  assert.equal(m.resource(null), 'https://gw.example/mcp');
  assert.equal(m.metadataUrl(null), 'https://gw.example/.well-known/oauth-protected-resource/mcp');
  assert.equal(m.metadataUrl('docs'), 'https://gw.example/.well-known/oauth-protected-resource/servers/docs/mcp');
  const prefixed = metadata('https://proxy.example/gatehouse/');
  assert.equal(prefixed.metadataUrl(null), 'https://proxy.example/.well-known/oauth-protected-resource/gatehouse/mcp');
  assert.deepEqual(prefixed.endpointOf('/.well-known/oauth-protected-resource/gatehouse/mcp'), { server: null });
});

test('only the metadata paths of real endpoints are served', () => {
  const m = metadata('http://127.0.0.1:8080/');
  assert.deepEqual(m.endpointOf('/.well-known/oauth-protected-resource'), { server: null });
  assert.deepEqual(m.endpointOf('/.well-known/oauth-protected-resource/mcp'), { server: null });
  assert.deepEqual(m.endpointOf('/.well-known/oauth-protected-resource/servers/docs/mcp'), { server: 'docs' });
  for (const path of ['/.well-known/oauth-protected-resourcex', '/.well-known/oauth-protected-resource/servers/Bad_Name/mcp', '/.well-known/oauth-protected-resource/mcp/x', '/mcp']) {
    assert.equal(m.endpointOf(path), undefined, path);
  }
});

test('the issuers listed are those usable on the endpoint, narrowed to one organisation by a hint', async () => {
  const m = metadata('https://gw.example/');
  const all = await m.document(null, undefined);
  assert.deepEqual(all.authorization_servers, ['https://a.example', 'https://b.example'], 'an issuer restricted to servers is not one for /mcp');
  assert.deepEqual(all.scopes_supported, ['b:all', 'mcp', 'mcp:read']);
  assert.deepEqual(all.bearer_methods_supported, ['header']);
  assert.deepEqual((await m.document('docs', undefined)).authorization_servers, ['https://a.example', 'https://b.example', 'https://docs.a.example']);
  assert.deepEqual((await m.document('docs', 'acme')).authorization_servers, ['https://a.example', 'https://docs.a.example']);
  assert.deepEqual((await m.document(null, 'unknown')).authorization_servers, []);
});
