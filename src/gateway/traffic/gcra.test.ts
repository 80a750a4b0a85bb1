import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLimit, parseTier } from '../../limit-spec.ts';
import { gcra } from './gcra.ts';
import { MemoryLimiterStore } from './limiter-store.ts';

const TEN_PER_SECOND = { rate: 10, periodMs: 1000, burst: 3 };

test('a fresh key gets exactly its burst at once, then is refused', () => {
  const store = new MemoryLimiterStore();
  const results = Array.from({ length: 4 }, () => store.take('k', TEN_PER_SECOND, 1, 1000));
  assert.deepEqual(results.map((r) => r.allowed), [true, true, true, false]);
  assert.deepEqual(results.map((r) => r.remaining), [2, 1, 0, 0]);
});

test('a refused request is told when it will be allowed, and is allowed then, not before', () => {
  const store = new MemoryLimiterStore();
  for (let i = 0; i < 3; i++) store.take('k', TEN_PER_SECOND, 1, 0);
  const refused = store.take('k', TEN_PER_SECOND, 1, 0);
  assert.equal(refused.allowed, false);
  assert.equal(refused.retryAfterMs, 100);
  assert.equal(refused.resetMs, 300);
  assert.equal(store.take('k', TEN_PER_SECOND, 1, 99).allowed, false);
  assert.equal(store.take('k', TEN_PER_SECOND, 1, 100).allowed, true);
  assert.equal(store.take('k', TEN_PER_SECOND, 1, 100).allowed, false);
});

test('the bucket refills at the rate and never beyond the burst', () => {
  const store = new MemoryLimiterStore();
  for (let i = 0; i < 3; i++) store.take('k', TEN_PER_SECOND, 1, 0);
  // A long idle time gives back the burst, not more.
  const later = Array.from({ length: 4 }, () => store.take('k', TEN_PER_SECOND, 1, 60_000).allowed);
  assert.deepEqual(later, [true, true, true, false]);
});

test('a refusal does not consume: waiting the retry-after is enough even under a stream of refused tries', () => {
  const store = new MemoryLimiterStore();
  for (let i = 0; i < 3; i++) store.take('k', TEN_PER_SECOND, 1, 0);
  for (let t = 0; t < 100; t += 10) assert.equal(store.take('k', TEN_PER_SECOND, 1, t).allowed, false);
  assert.equal(store.take('k', TEN_PER_SECOND, 1, 100).allowed, true);
});

test('asking without committing takes nothing', () => {
  const store = new MemoryLimiterStore();
  for (let i = 0; i < 10; i++) assert.equal(store.take('k', TEN_PER_SECOND, 1, 0, false).allowed, true);
  assert.equal(store.take('k', TEN_PER_SECOND, 3, 0).allowed, true);
  assert.equal(store.take('k', TEN_PER_SECOND, 1, 0, false).allowed, false);
});

test('a cost above the burst is never allowed; a cost within it takes that many units', () => {
  assert.equal(gcra(undefined, TEN_PER_SECOND, 4, 0).allowed, false);
  const r = gcra(undefined, TEN_PER_SECOND, 2, 0);
  assert.equal(r.allowed, true);
  assert.equal(r.remaining, 1);
});

test('keys are independent, and the memory store stays bounded under a flood of distinct keys', () => {
  const store = new MemoryLimiterStore({ maxKeys: 100 });
  for (let i = 0; i < 3; i++) store.take('a', TEN_PER_SECOND, 1, 0);
  assert.equal(store.take('a', TEN_PER_SECOND, 1, 0).allowed, false);
  assert.equal(store.take('b', TEN_PER_SECOND, 1, 0).allowed, true);
  for (let i = 0; i < 10_000; i++) store.take(`flood-${String(i)}`, TEN_PER_SECOND, 1, 0);
  assert.ok(store.size <= 100);
});

test('a key whose bucket is full again is not held', () => {
  const store = new MemoryLimiterStore();
  store.take('k', TEN_PER_SECOND, 1, 0);
  assert.equal(store.size, 1);
  store.take('other', TEN_PER_SECOND, 1, 0, false);
  store.take('k', TEN_PER_SECOND, 1, 10_000, false);
  assert.equal(store.size, 0);
});

test('limits and tiers parse, and what is not one is refused', () => {
  assert.deepEqual(parseLimit('300/m'), { rate: 300, periodMs: 60_000, burst: 300 });
  assert.deepEqual(parseLimit('10/s,burst=30'), { rate: 10, periodMs: 1000, burst: 30 });
  assert.deepEqual(parseTier('5'), { rate: 5, periodMs: 1000, burst: 5 });
  assert.equal(parseTier('unlimited'), 'unlimited');
  for (const bad of ['0/s', '10/d', '10', 'ten/s', '10/s,burst=0', '-1/s', '10/s,burst=']) assert.equal(parseLimit(bad), undefined, bad);
  assert.equal(parseTier('fast'), undefined);
});
