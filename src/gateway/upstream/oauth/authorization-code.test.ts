import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { GatehouseError } from '../../../errors.ts';
import { authorizationUrl, pickMethod, pkcePair, type AuthorizationRequest } from './authorization-code.ts';
import type { AuthServer } from './discovery.ts';

const server: AuthServer = {
  issuer: 'https://as.example', tokenEndpoint: 'https://as.example/token', authorizationEndpoint: 'https://as.example/authorize?tenant=t1',
  authMethods: ['client_secret_basic', 'none'], codeChallengeMethods: ['S256'], clientIdMetadataDocuments: false,
};
const request = (over: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({
  server, client: { clientId: 'gatehouse', secret: undefined, method: 'none' }, redirectUri: 'https://gw.example/auth/upstream/callback',
  state: 'st', challenge: 'ch', resource: 'https://mcp.example/mcp', scope: 'a b', ...over,
});
const refused = (fn: () => unknown, message: RegExp) => {
  assert.throws(fn, (err: unknown) => err instanceof GatehouseError && err.code === 'upstream_auth_failed' && message.test(err.message));
};

test('PKCE: a 43-character verifier and its S256 challenge, new each time', () => {
  const a = pkcePair();
  assert.match(a.verifier, /^[\w-]{43}$/);
  assert.equal(a.challenge, createHash('sha256').update(a.verifier).digest('base64url'));
  assert.notEqual(pkcePair().verifier, a.verifier);
});

test('the authorization URL keeps the endpoint\'s own query and carries S256, the resource and the scope', () => {
  const url = new URL(authorizationUrl(request()));
  assert.equal(url.origin + url.pathname, 'https://as.example/authorize');
  assert.equal(url.searchParams.get('tenant'), 't1');
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.equal(url.searchParams.get('resource'), 'https://mcp.example/mcp');
  assert.equal(url.searchParams.get('scope'), 'a b');
  assert.equal(url.searchParams.get('prompt'), null, 'no consent prompt without offline_access');
  assert.equal(new URL(authorizationUrl(request({ scope: 'a offline_access' }))).searchParams.get('prompt'), 'consent');
  assert.equal(new URL(authorizationUrl(request({ scope: undefined }))).searchParams.has('scope'), false);
});

test('refused: no S256 at a server that lists its methods, no endpoint, or an endpoint that is not an http(s) page', () => {
  refused(() => authorizationUrl(request({ server: { ...server, codeChallengeMethods: ['plain'] } })), /PKCE S256/);
  refused(() => authorizationUrl(request({ server: { ...server, authorizationEndpoint: undefined } })), /no authorization endpoint/);
  for (const endpoint of ['javascript:alert(1)', 'data:text/html,x', 'https://user:pw@as.example/authorize', 'not a url']) {
    refused(() => authorizationUrl(request({ server: { ...server, authorizationEndpoint: endpoint } })), /authorization endpoint is not/);
  }
  // A 2025-03-26 server that names no methods is still asked for S256 (never plain).
  assert.equal(new URL(authorizationUrl(request({ server: { ...server, codeChallengeMethods: [] } }))).searchParams.get('code_challenge_method'), 'S256');
});

test('the client authentication method: basic first with a secret, none without, refused when the server has neither', () => {
  assert.equal(pickMethod(server, true), 'client_secret_basic');
  assert.equal(pickMethod({ ...server, authMethods: ['client_secret_post'] }, true), 'client_secret_post');
  assert.equal(pickMethod(server, false), 'none');
  refused(() => pickMethod({ ...server, authMethods: ['client_secret_basic'] }, false), /no public client/);
  refused(() => pickMethod({ ...server, authMethods: ['private_key_jwt'] }, true), /none of the gateway/);
});
