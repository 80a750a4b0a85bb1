import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatehouseError } from '../../errors.ts';
import { Quotas } from './quotas.ts';

const limits = { perKey: { session: 2, stream: 1, upstream: 3, process: 0 }, perOrg: { session: 3, stream: 5, upstream: 5, process: 5 } };

function refusal(fn: () => unknown): GatehouseError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GatehouseError);
    return err;
  }
  assert.fail('expected a refusal');
}

test('a key holds at most its ceiling, and the organisation at most its own over all its keys', () => {
  const q = new Quotas(limits);
  q.acquire('session', 'o', 'a');
  q.acquire('session', 'o', 'a');
  assert.equal(refusal(() => q.acquire('session', 'o', 'a')).data?.scope, 'key');
  q.acquire('session', 'o', 'b');
  const byOrg = refusal(() => q.acquire('session', 'o', 'c'));
  assert.equal(byOrg.code, 'too_many_sessions');
  assert.equal(byOrg.data?.scope, 'organisation');
  q.acquire('session', 'other', 'a');
  assert.equal(q.held('session', 'o'), 3);
  assert.equal(q.held('session', 'other', 'a'), 1);
});

test('a refusal holds nothing; a release gives back once however often it is called', () => {
  const q = new Quotas(limits);
  const release = q.acquire('stream', 'o', 'a');
  assert.equal(refusal(() => q.acquire('stream', 'o', 'a')).code, 'quota_exceeded');
  assert.equal(q.held('stream', 'o', 'a'), 1);
  assert.equal(q.held('stream', 'o'), 1);
  release();
  release();
  assert.equal(q.held('stream', 'o', 'a'), 0);
  assert.equal(q.held('stream', 'o'), 0);
  q.acquire('stream', 'o', 'a');
  assert.equal(q.held('stream', 'o'), 1);
});

test('a ceiling of 0 refuses the kind outright', () => {
  const q = new Quotas(limits);
  assert.equal(refusal(() => q.acquire('process', 'o', 'a')).data?.quota, 'process');
  assert.doesNotThrow(() => q.check('upstream', 'o', 'a'));
});

test("an organisation's own ceilings hold where lower than the gateway's, never above them", () => {
  const own = new Map([['o', { perKey: { session: 1, upstream: 50 }, perOrg: { stream: 2 } }]]);
  const q = new Quotas(limits, (orgId) => own.get(orgId));
  q.acquire('session', 'o', 'a');
  assert.equal(refusal(() => q.acquire('session', 'o', 'a')).data?.scope, 'key', 'its own ceiling of 1 holds');
  q.acquire('upstream', 'o', 'a');
  q.acquire('upstream', 'o', 'a');
  q.acquire('upstream', 'o', 'a');
  assert.equal(refusal(() => q.acquire('upstream', 'o', 'a')).data?.scope, 'key', "50 of its own does not lift the gateway's 3");
  q.acquire('stream', 'o', 'x');
  q.acquire('stream', 'o', 'y');
  assert.equal(refusal(() => q.acquire('stream', 'o', 'z')).data?.scope, 'organisation');
  q.acquire('session', 'other', 'a');
  q.acquire('session', 'other', 'a');
  assert.deepEqual(q.ceilings('session', 'other'), { perKey: 2, perOrg: 3 }, 'another organisation keeps the gateway ceilings');
});
