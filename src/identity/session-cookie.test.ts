import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  clearCookie,
  csrfTokenFor,
  csrfTokenValid,
  hashSessionToken,
  newSessionToken,
  readCookie,
  sameOriginRequest,
  SESSION_COOKIE,
  setCookie,
} from './session-cookie.ts';

test('the session cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, with no Domain', () => {
  const c = setCookie(SESSION_COOKIE, 'abc', 3600.7);
  const [pair, ...attrs] = c.split('; ');
  assert.equal(pair, '__Host-gatehouse-session=abc');
  assert.deepEqual(attrs.sort(), ['HttpOnly', 'Max-Age=3600', 'Path=/', 'SameSite=Lax', 'Secure']);
  assert.doesNotMatch(c, /Domain/i);
  assert.match(clearCookie(SESSION_COOKIE), /^__Host-gatehouse-session=; Path=\/; Max-Age=0; Secure; HttpOnly; SameSite=Lax$/);
});

test('session tokens are 256-bit, random, and stored only as a hash', () => {
  const a = newSessionToken();
  assert.equal(Buffer.from(a, 'base64url').length, 32);
  assert.notEqual(a, newSessionToken());
  assert.match(hashSessionToken(a), /^[0-9a-f]{64}$/);
  assert.notEqual(hashSessionToken(a), a);
});

test('readCookie finds the one cookie, and believes neither of two with the same name', () => {
  const t = newSessionToken();
  assert.equal(readCookie(`a=b; ${SESSION_COOKIE}=${t}; c=d`, SESSION_COOKIE), t);
  assert.equal(readCookie(`${SESSION_COOKIE}=${t}; ${SESSION_COOKIE}=${newSessionToken()}`, SESSION_COOKIE), undefined);
  assert.equal(readCookie(`${SESSION_COOKIE}=short`, SESSION_COOKIE), undefined);
  assert.equal(readCookie(`${SESSION_COOKIE}=${t}%00`, SESSION_COOKIE), undefined);
  assert.equal(readCookie(undefined, SESSION_COOKIE), undefined);
  assert.equal(readCookie(`x${SESSION_COOKIE}=${t}`, SESSION_COOKIE), undefined);
});

test('the CSRF token is bound to the session and the server key; anything else is refused', () => {
  const key = createSecretKey(randomBytes(32));
  const s = newSessionToken();
  const token = csrfTokenFor(key, s);
  assert.equal(csrfTokenValid(key, s, token), true);
  assert.equal(csrfTokenValid(key, newSessionToken(), token), false, 'another session');
  assert.equal(csrfTokenValid(createSecretKey(randomBytes(32)), s, token), false, 'another server key');
  assert.equal(csrfTokenValid(key, s, undefined), false);
  assert.equal(csrfTokenValid(key, s, ''), false);
  assert.equal(csrfTokenValid(key, s, token.slice(1)), false);
});

test('fetch metadata: same-origin passes; cross-site, foreign and opaque origins are refused', () => {
  const allowed = (o: string | undefined) => o === undefined || o === 'http://127.0.0.1:8080';
  assert.equal(sameOriginRequest({ origin: undefined, secFetchSite: undefined }, allowed), true);
  assert.equal(sameOriginRequest({ origin: 'http://127.0.0.1:8080', secFetchSite: 'same-origin' }, allowed), true);
  assert.equal(sameOriginRequest({ origin: undefined, secFetchSite: 'cross-site' }, allowed), false);
  assert.equal(sameOriginRequest({ origin: undefined, secFetchSite: 'same-site' }, allowed), false);
  assert.equal(sameOriginRequest({ origin: 'https://evil.example', secFetchSite: undefined }, allowed), false);
  assert.equal(sameOriginRequest({ origin: 'null', secFetchSite: undefined }, allowed), false);
});
