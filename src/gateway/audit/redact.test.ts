import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditArgs, REDACTED, redactValue } from './redact.ts';

test('secret-looking field names are redacted at any depth', () => {
  const out = redactValue({ user: 'ann', password: 'hunter2', nested: { api_key: 'k', Authorization: 'Bearer x', list: [{ token: 't' }] } });
  assert.deepEqual(out, { user: 'ann', password: REDACTED, nested: { api_key: REDACTED, Authorization: REDACTED, list: [{ token: REDACTED }] } });
});

test('credential-shaped values are redacted whatever the field', () => {
  const key = 'gth_' + 'a'.repeat(49);
  const out = redactValue({ note: `use ${key} please`, other: 'Bearer abcdefghijkl', aws: 'AKIAABCDEFGHIJKLMNOP' }) as Record<string, string>;
  assert.ok(!JSON.stringify(out).includes(key));
  assert.equal(out.other, REDACTED);
  assert.equal(out.aws, REDACTED);
  assert.match(out.note ?? '', /use \[REDACTED\] please/);
});

test('plain arguments pass unchanged and oversized ones are summarised', () => {
  assert.equal(auditArgs({ text: 'hello', n: 3 }), '{"text":"hello","n":3}');
  assert.equal(auditArgs(undefined), null);
  const big = JSON.parse(auditArgs({ blob: 'x'.repeat(20_000) }) ?? '{}') as { truncated?: boolean; bytes?: number; sha256?: string };
  assert.equal(big.truncated, true);
  assert.ok((big.bytes ?? 0) > 20_000);
  assert.match(big.sha256 ?? '', /^[0-9a-f]{64}$/);
});
