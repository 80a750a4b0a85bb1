import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Principal } from '../principal.ts';
import { decisionKey, policyRequest, type RequestFacts } from './policy-request.ts';

/** The request without its seconds, which the cache leaves out unless a policy reads `now`. */
const withoutNow = (f: RequestFacts): string => {
  const r = policyRequest(f);
  return JSON.stringify({ ...r, context: { ...r.context, now: undefined } });
};

test('the decision key tells apart every two sets of facts whose Cedar requests differ (the cache can never answer for another request)', () => {
  const word = fc.constantFrom('a', 'b', 'fx', 'echo', 'key_1', 'key_2', '');
  const facts = fc.record({
    keyId: word,
    keyName: word,
    role: fc.constantFrom('owner', 'member', 'viewer'),
    userId: fc.option(word, { nil: null }),
    method: fc.constantFrom('tools/call', 'prompts/get', 'resources/read'),
    kind: fc.constantFrom('tool', 'prompt', 'resource'),
    connector: word,
    original: word,
    args: fc.oneof(fc.constant(undefined), fc.constant(null), fc.dictionary(word, fc.oneof(word, fc.integer({ min: 0, max: 2 }), fc.array(word, { maxLength: 2 })), { maxKeys: 2 })),
    clientIp: fc.constantFrom(null, '127.0.0.1', '10.0.0.7'),
    protocolVersion: fc.constantFrom('2025-06-18', '2025-11-25'),
    now: fc.constantFrom(Date.UTC(2026, 0, 5, 14), Date.UTC(2026, 0, 5, 14, 0, 30), Date.UTC(2026, 0, 5, 15), Date.UTC(2026, 0, 6, 14)),
  });
  const toFacts = (x: typeof facts extends fc.Arbitrary<infer T> ? T : never): RequestFacts => ({
    principal: { keyId: x.keyId, keyName: x.keyName, role: x.role, userId: x.userId } as unknown as Principal,
    method: x.method,
    target: (x.kind === 'tool' ? { kind: 'tool', connector: x.connector, original: x.original } : { kind: x.kind, connector: x.connector, original: x.original }) as RequestFacts['target'],
    args: x.args,
    clientIp: x.clientIp,
    protocolVersion: x.protocolVersion,
    now: x.now,
  });
  const fields = ['keyId', 'keyName', 'role', 'userId', 'method', 'kind', 'connector', 'original', 'args', 'clientIp', 'protocolVersion', 'now'] as const;
  fc.assert(
    // A second set of facts that differs from the first in one field (or none): near neighbours, where a key that
    // leaves a fact out would collide.
    fc.property(facts, facts, fc.constantFrom(...fields), (a, other, field) => {
      const b = { ...a, [field]: other[field] };
      const fa = toFacts(a);
      const fb = toFacts(b);
      if (decisionKey(fa, false) === decisionKey(fb, false)) assert.equal(withoutNow(fa), withoutNow(fb));
      if (decisionKey(fa, true) === decisionKey(fb, true)) assert.deepEqual(policyRequest(fa), policyRequest(fb));
    }),
    { seed: 42, numRuns: 5000 },
  );
});
