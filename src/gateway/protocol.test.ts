import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyMessage, exceedsDepth, negotiateVersion } from './protocol.ts';

test('requests, notifications and responses are told apart', () => {
  assert.equal(classifyMessage({ jsonrpc: '2.0', id: 1, method: 'ping' }).kind, 'request');
  assert.equal(classifyMessage({ jsonrpc: '2.0', method: 'notifications/initialized' }).kind, 'notification');
  assert.equal(classifyMessage({ jsonrpc: '2.0', id: 'a', result: {} }).kind, 'response');
});

test('batches and malformed messages are refused with the right code', () => {
  assert.throws(() => classifyMessage([{ jsonrpc: '2.0', id: 1, method: 'ping' }]), { code: 'batch_unsupported' });
  for (const bad of [null, 1, 'x', {}, { jsonrpc: '1.0', id: 1, method: 'x' }, { jsonrpc: '2.0', id: {}, method: 'x' }, { jsonrpc: '2.0', id: 1.5, method: 'x' }, { jsonrpc: '2.0', id: 1, method: 'x', params: [1] }, { jsonrpc: '2.0', id: 1, method: '' }]) {
    assert.throws(() => classifyMessage(bad), { code: 'invalid_request' }, JSON.stringify(bad));
  }
});

test('depth is measured outside strings only', () => {
  assert.equal(exceedsDepth('[[[]]]', 3), false);
  assert.equal(exceedsDepth('[[[[]]]]', 3), true);
  assert.equal(exceedsDepth(JSON.stringify({ s: '[[[[[[[[[[' }), 2), false);
  assert.equal(exceedsDepth(JSON.stringify({ s: 'a\\"[[[[' }), 2), false);
});

test('version negotiation echoes a supported version and offers the latest otherwise', () => {
  assert.equal(negotiateVersion('2025-06-18'), '2025-06-18');
  assert.equal(negotiateVersion('2025-03-26'), '2025-03-26');
  assert.equal(negotiateVersion('1999-01-01'), '2025-11-25');
  assert.equal(negotiateVersion(undefined), '2025-11-25');
});
