import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyElicitationDefaults } from './elicitation-defaults.ts';

const params = {
  message: 'm',
  requestedSchema: {
    type: 'object',
    properties: {
      name: { type: 'string', default: 'John' },
      age: { type: 'integer', default: 30 },
      ok: { type: 'boolean', default: false },
      tags: { type: 'array', default: ['x'] },
      plain: { type: 'string' },
    },
  },
};

test('an accepted answer gets the primitive defaults of the fields it left out', () => {
  assert.deepEqual(applyElicitationDefaults(params, { action: 'accept', content: { age: 41 } }), { action: 'accept', content: { age: 41, name: 'John', ok: false } });
  assert.deepEqual(applyElicitationDefaults(params, { action: 'accept' }), { action: 'accept', content: { name: 'John', age: 30, ok: false } });
});

test('what the client answered is never changed, and declines and cancels get nothing', () => {
  const full = { action: 'accept', content: { name: 'Ann', age: 1, ok: true } };
  assert.equal(applyElicitationDefaults(params, full), full);
  const declined = { action: 'decline' };
  assert.equal(applyElicitationDefaults(params, declined), declined);
  assert.equal(applyElicitationDefaults({ mode: 'url', url: 'https://example.com' }, { action: 'accept' }).content, undefined);
});
