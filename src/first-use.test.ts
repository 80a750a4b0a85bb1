import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatehouseError } from './errors.ts';
import { builtOnFirstUse } from './first-use.ts';

test('a handler is built once, on its first request, however many arrive together', async () => {
  let builds = 0;
  const handle = builtOnFirstUse('The thing', () => {
    builds++;
    return Promise.resolve((n: number) => Promise.resolve(n * 2));
  });
  assert.equal(builds, 0, 'nothing is built before the first request');
  assert.deepEqual(await Promise.all([handle(1), handle(2), handle(3)]), [2, 4, 6]);
  assert.equal(await handle(4), 8);
  assert.equal(builds, 1);
});

test('a build that fails refuses the request with an internal error and is tried again by the next one', async () => {
  let builds = 0;
  let calls = 0;
  const cause = new Error('Cannot find package scimmy');
  const handle = builtOnFirstUse<undefined, string>('The SCIM endpoint', () => {
    builds++;
    if (builds === 1) return Promise.reject(cause);
    return Promise.resolve(() => {
      calls++;
      return Promise.resolve('ok');
    });
  });
  const refusals = await Promise.allSettled([handle(undefined), handle(undefined)]);
  for (const r of refusals) {
    assert.equal(r.status, 'rejected');
    const err: unknown = r.reason;
    assert.ok(err instanceof GatehouseError);
    assert.equal(err.code, 'internal');
    assert.equal(err.message, 'The SCIM endpoint is unavailable', 'the message names what is missing, not why');
    assert.equal(err.cause, cause, 'the cause is kept for the log');
  }
  assert.equal(calls, 0, 'no request reached a handler that was never built');
  assert.equal(await handle(undefined), 'ok');
  assert.equal(builds, 2);
});
