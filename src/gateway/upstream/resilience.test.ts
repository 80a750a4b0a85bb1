import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatehouseError, type ErrorCode } from '../../errors.ts';
import { notSent } from './errors.ts';
import { ConnectorGuard } from './resilience.ts';

const SETTINGS = { timeoutMs: 1000, maxCallMs: 5000, maxConcurrent: 2, breakerFailures: 2, breakerOpenMs: 1000 };
const fail = (code: ErrorCode) => new GatehouseError(code, code);

function refusal(guard: ConnectorGuard, now: number): ErrorCode | undefined {
  try {
    guard.admit(now)();
    return undefined;
  } catch (err) {
    return (err as GatehouseError).code;
  }
}

test('the cap refuses the call past it and frees its place when a call settles', () => {
  const guard = new ConnectorGuard('c', SETTINGS);
  const a = guard.admit();
  guard.admit();
  assert.equal(refusal(guard, Date.now()), 'upstream_overloaded');
  a();
  a(); // settling twice frees one place only
  assert.equal(guard.health().inFlight, 1);
  assert.equal(refusal(guard, Date.now()), undefined);
});

test('only upstream failures in a row open the circuit; a refusal or a cancellation proves nothing', () => {
  const guard = new ConnectorGuard('c', SETTINGS);
  guard.admit()(fail('upstream_timeout'));
  guard.admit()(fail('invalid_params'));
  guard.admit()(fail('request_cancelled'));
  assert.equal(guard.health().breaker, 'closed');
  guard.admit()();
  guard.admit()(fail('upstream_error'));
  assert.equal(guard.health().consecutiveFailures, 1, 'a success in between starts the count again');
  guard.admit()(fail('upstream_unavailable'));
  const h = guard.health();
  assert.equal(h.breaker, 'open');
  assert.equal(h.lastError?.code, 'upstream_unavailable');
  assert.equal(h.recentFailures, 3);
});

test('open refuses until openMs, then admits exactly one probe; its outcome closes or reopens the circuit', () => {
  const guard = new ConnectorGuard('c', SETTINGS);
  guard.admit()(fail('upstream_timeout'));
  guard.admit()(fail('upstream_timeout'));
  const opened = Date.now();
  assert.equal(refusal(guard, opened + 10), 'circuit_open');
  assert.equal(guard.health(opened + 1100).breaker, 'half-open');
  const probe = guard.admit(opened + 1100);
  assert.equal(refusal(guard, opened + 1100), 'circuit_open', 'one probe at a time');
  probe(fail('upstream_timeout'));
  assert.equal(guard.health().breaker, 'open');
  const later = Date.now() + 1100;
  guard.admit(later)();
  assert.equal(guard.health().breaker, 'closed');
  assert.equal(guard.health().consecutiveFailures, 0);
});

test('a probe that ended for a reason of its own lets the next call probe', () => {
  const guard = new ConnectorGuard('c', SETTINGS);
  guard.admit()(fail('upstream_timeout'));
  guard.admit()(fail('upstream_timeout'));
  const later = Date.now() + 1100;
  guard.admit(later)(fail('request_cancelled'));
  assert.equal(refusal(guard, later), undefined);
  assert.equal(guard.health().breaker, 'closed');
});

test('calls refused because the connection is down never reached the upstream and do not open the circuit', () => {
  const guard = new ConnectorGuard('c', SETTINGS);
  for (let i = 0; i < 5; i++) guard.admit()(notSent(fail('upstream_unavailable')));
  assert.equal(guard.health().breaker, 'closed');
  assert.equal(guard.health().consecutiveFailures, 0);
});
