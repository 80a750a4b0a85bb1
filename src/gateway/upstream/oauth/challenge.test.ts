import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBearerChallenge, unionScopes } from './challenge.ts';
import { canonicalResource, resourceCovers } from './discovery.ts';

test('a Bearer challenge gives its resource_metadata, scope and error, quoted or not', () => {
  assert.deepEqual(parseBearerChallenge('Bearer resource_metadata="https://a.example/.well-known/oauth-protected-resource/mcp", scope="a b", error="insufficient_scope"'), {
    resourceMetadata: 'https://a.example/.well-known/oauth-protected-resource/mcp',
    scope: 'a b',
    error: 'insufficient_scope',
  });
  assert.deepEqual(parseBearerChallenge('bearer error=invalid_token'), { error: 'invalid_token' });
  assert.deepEqual(parseBearerChallenge('Bearer'), {});
  assert.deepEqual(parseBearerChallenge('Bearer scope="a \\"b\\""'), { scope: 'a "b"' });
});

test('only the Bearer challenge is read: another scheme\'s parameters are not taken for its own', () => {
  assert.equal(parseBearerChallenge('Basic realm="x"'), undefined);
  assert.deepEqual(parseBearerChallenge('Basic realm="x", Bearer scope="s"'), { scope: 's' });
  assert.deepEqual(parseBearerChallenge('Bearer scope="s", Basic realm="x", error="fake"'), { scope: 's' });
  assert.equal(parseBearerChallenge(undefined), undefined);
  assert.equal(parseBearerChallenge(`Bearer scope="${'a'.repeat(10_000)}"`), undefined, 'an oversized header is ignored');
});

test('the first value of a repeated parameter wins', () => {
  assert.deepEqual(parseBearerChallenge('Bearer scope="first", scope="second"'), { scope: 'first' });
});

test('scopes are joined once each, in order', () => {
  assert.equal(unionScopes('a b', undefined, 'b c'), 'a b c');
  assert.equal(unionScopes(undefined, ''), undefined);
});

test('a resource covers the server only with the same origin and a path prefix (segment-wise)', () => {
  const server = new URL('https://mcp.example.com/tenant/mcp');
  assert.equal(resourceCovers('https://mcp.example.com/tenant/mcp', server), true);
  assert.equal(resourceCovers('https://mcp.example.com/', server), true);
  assert.equal(resourceCovers('https://mcp.example.com/tenant', server), true);
  assert.equal(resourceCovers('https://mcp.example.com/ten', server), false);
  assert.equal(resourceCovers('https://mcp.example.com/other/mcp', server), false);
  assert.equal(resourceCovers('https://evil.example.com/tenant/mcp', server), false);
  assert.equal(resourceCovers('http://mcp.example.com/tenant/mcp', server), false);
  assert.equal(resourceCovers('not a url', server), false);
});

test('the canonical resource has no fragment, and no trailing slash on an empty path', () => {
  assert.equal(canonicalResource(new URL('https://a.example/')), 'https://a.example');
  assert.equal(canonicalResource(new URL('https://a.example/mcp#x')), 'https://a.example/mcp');
});
