import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatehouseError } from '../../errors.ts';
import { canonicalJson, fingerprintOf, IDEMPOTENCY_META_KEY, idempotencyKeyOf } from './idempotency-key.ts';

void describe('idempotencyKeyOf', () => {
  void it('takes the header, the _meta key, or both when they agree', () => {
    assert.equal(idempotencyKeyOf(undefined, undefined), undefined);
    assert.equal(idempotencyKeyOf(undefined, { progressToken: 1 }), undefined);
    assert.equal(idempotencyKeyOf('abc-1', undefined), 'abc-1');
    assert.equal(idempotencyKeyOf(undefined, { [IDEMPOTENCY_META_KEY]: 'abc-2' }), 'abc-2');
    assert.equal(idempotencyKeyOf('abc-3', { [IDEMPOTENCY_META_KEY]: 'abc-3' }), 'abc-3');
  });

  void it('refuses two different keys, and keys that are empty, too long, not text or not visible ASCII', () => {
    const refused = (header: string | undefined, meta: unknown) => {
      assert.throws(() => idempotencyKeyOf(header, meta), (e: unknown) => e instanceof GatehouseError && e.code === 'invalid_params');
    };
    refused('a', { [IDEMPOTENCY_META_KEY]: 'b' });
    refused('', undefined);
    refused('x'.repeat(256), undefined);
    refused('has space', undefined);
    refused('ünïcode', undefined);
    refused(undefined, { [IDEMPOTENCY_META_KEY]: 42 });
    refused(undefined, { [IDEMPOTENCY_META_KEY]: '' });
    assert.equal(idempotencyKeyOf('x'.repeat(255), undefined)?.length, 255);
  });
});

void describe('fingerprintOf', () => {
  void it('ignores member order but nothing else', () => {
    assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: null }] }), '{"a":[1,{"c":null,"d":2}],"b":1}');
    assert.equal(fingerprintOf({ a: 1, b: 2 }), fingerprintOf({ b: 2, a: 1 }));
    assert.notEqual(fingerprintOf({ a: 1 }), fingerprintOf({ a: '1' }));
    assert.notEqual(fingerprintOf({ a: [1, 2] }), fingerprintOf({ a: [2, 1] }));
    assert.notEqual(fingerprintOf({ a: 1 }), fingerprintOf({ a: 1, b: null }));
    assert.match(fingerprintOf(null), /^[0-9a-f]{64}$/);
  });
});
