import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECURITY_HEADER_LINES, SECURITY_HEADERS, withRouteHeaders } from './respond.ts';

test('a route’s own CSP replaces the common one, whatever the case of its name; the rest stays', () => {
  const base: Record<string, string> = { ...SECURITY_HEADERS, 'x-correlation-id': 'c' };
  const merged = withRouteHeaders(base, { 'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'", 'Content-Type': 'text/html' });
  assert.equal(merged['content-security-policy'], "default-src 'self'; frame-ancestors 'none'");
  assert.equal(merged['content-type'], 'text/html');
  assert.equal(Object.keys(merged).filter((k) => k.toLowerCase() === 'content-security-policy').length, 1);
  assert.equal(merged['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  assert.equal(base['content-security-policy'], "default-src 'none'; frame-ancestors 'none'", 'the common headers are not changed');
  assert.equal(withRouteHeaders(base, undefined), base, 'no copy without headers of its own');
});

test('the raw header lines are the same headers, one CRLF-terminated line each', () => {
  const lines = SECURITY_HEADER_LINES.split('\r\n').filter(Boolean);
  assert.equal(lines.length, Object.keys(SECURITY_HEADERS).length);
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) assert.ok(lines.includes(`${k}: ${v}`), k);
});
