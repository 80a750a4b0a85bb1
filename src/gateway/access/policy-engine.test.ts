import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Target } from '../call.ts';
import type { Principal } from '../principal.ts';
import { decisionCache } from './policy-cache.ts';
import { compilePolicies, evaluate, loadPolicies } from './policy-engine.ts';
import { policyRequest } from './policy-request.ts';
import { compileScopes } from './scopes.ts';

const principal: Principal = {
  orgId: 'org_1', keyId: 'key_1', keyName: 'ci', role: 'member', userId: 'usr_1', scopes: compileScopes(['*']), scopeList: ['*'],
  expiresAt: null, servers: null, cidrs: null, network: null, actor: { keyId: 'key_1', user: 'usr_1' },
};
const tool = (connector: string, name: string): Target => ({ kind: 'tool', connector, original: name, entry: { connector, original: name, item: {} } });

function ask(slot: string, t: Target, args: unknown, clientIp: string | null = '10.0.0.7', p: Principal = principal) {
  return evaluate(slot, policyRequest({ principal: p, method: 'tools/call', target: t, args, clientIp, protocolVersion: '2025-06-18', now: Date.UTC(2026, 0, 5, 14) }));
}

function load(slot: string, text: string): void {
  const compiled = compilePolicies(text);
  assert.ok(compiled.ok, compiled.ok ? '' : compiled.message);
  loadPolicies(slot, compiled.policies);
}

test('policies are named by their @id annotation, else by position', () => {
  const compiled = compilePolicies('@id("everyone") permit(principal, action, resource);\nforbid(principal, action, resource == Gatehouse::Tool::"fx/fail");');
  assert.ok(compiled.ok);
  assert.deepEqual(Object.keys(compiled.policies), ['everyone', 'policy1']);
});

test('a set that does not parse, does not type-check, repeats an id or uses templates is refused with the reason', () => {
  const cases: [string, RegExp][] = [
    ['permit(principal, action', /^Invalid policy set: .*unexpected end of input/],
    ['permit(principal, action, resource) when { context.nope == 1 };', /attribute `nope` in context .* not found/],
    ['permit(principal, action, resource) when { context.clientIp.isLoopback() };', /optional attribute `clientIp`/],
    ['permit(principal, action, resource) when { context.arguments.getTag("x") == "y" };', /Invalid policy set: /],
    ['permit(principal, action == Gatehouse::Action::"tools/delete", resource);', /Invalid policy set: /],
    ['@id("a") permit(principal, action, resource);\n@id("a") forbid(principal, action, resource);', /Two policies have the id "a"/],
    ['permit(principal == ?principal, action, resource);', /templates are not supported/],
  ];
  for (const [text, reason] of cases) {
    const compiled = compilePolicies(text);
    assert.match(compiled.ok ? 'accepted' : compiled.message, reason, text);
  }
});

test('deny by default, a forbid wins over a permit, and the determining policies are named', () => {
  load('t1', `@id("fx-tools") permit(principal, action == Gatehouse::Action::"tools/call", resource in Gatehouse::Connector::"fx");
@id("no-fail") forbid(principal, action, resource == Gatehouse::Tool::"fx/fail");`);
  assert.deepEqual(ask('t1', tool('fx', 'echo'), {}), { decision: 'allow', determining: ['fx-tools'] });
  assert.deepEqual(ask('t1', tool('fx', 'fail'), {}), { decision: 'deny', determining: ['no-fail'] });
  assert.deepEqual(ask('t1', tool('other', 'echo'), {}), { decision: 'deny', determining: [] });
});

test('context: argument values, client address, time and the principal hierarchy', () => {
  load('t2', `@id("echo-safe") permit(principal in Gatehouse::Role::"member", action, resource == Gatehouse::Tool::"fx/echo")
  when { context.arguments.hasTag("message") && context.arguments.getTag("message") like "safe*" };
@id("office") permit(principal, action, resource == Gatehouse::Tool::"fx/add")
  when { context has clientIp && context.clientIp.isInRange(ip("10.0.0.0/8")) && context.hourUtc >= 9 && context.hourUtc < 17 };
@id("alice") permit(principal in Gatehouse::User::"usr_alice", action, resource) when { context.argumentNames.contains("n") };`);
  assert.equal(ask('t2', tool('fx', 'echo'), { message: 'safe words' }).decision, 'allow');
  assert.equal(ask('t2', tool('fx', 'echo'), { message: 'rm -rf' }).decision, 'deny');
  assert.equal(ask('t2', tool('fx', 'echo'), {}).decision, 'deny');
  assert.equal(ask('t2', tool('fx', 'echo'), { message: 'safe' }, null, { ...principal, role: 'admin' }).decision, 'deny');
  assert.equal(ask('t2', tool('fx', 'add'), { a: 1 }).decision, 'allow');
  assert.equal(ask('t2', tool('fx', 'add'), { a: 1 }, '192.168.1.1').decision, 'deny');
  assert.equal(ask('t2', tool('fx', 'add'), { a: 1 }, null).decision, 'deny');
  assert.equal(ask('t2', tool('fx', 'pid'), { n: 1 }).decision, 'deny');
  assert.equal(ask('t2', tool('fx', 'pid'), { n: 1 }, null, { ...principal, userId: 'usr_alice' }).decision, 'allow');
});

test('non-string arguments are seen as their JSON text', () => {
  load('t3', '@id("small") permit(principal, action, resource) when { context.arguments.hasTag("a") && context.arguments.getTag("a") == "2" };');
  assert.equal(ask('t3', tool('fx', 'add'), { a: 2 }).decision, 'allow');
  assert.equal(ask('t3', tool('fx', 'add'), { a: '2' }).decision, 'allow');
  assert.equal(ask('t3', tool('fx', 'add'), { a: [2] }).decision, 'deny');
});

test('a policy that fails to evaluate refuses rather than being skipped (a skipped forbid would open what it closes)', () => {
  // Validated sets cannot do this through the schema; a set loaded without validation shows the engine's behaviour.
  loadPolicies('t4', { everyone: 'permit(principal, action, resource);', broken: 'forbid(principal, action, resource) when { context.arguments.getTag("missing") == "x" };' });
  const answer = ask('t4', tool('fx', 'echo'), {});
  assert.deepEqual(answer.decision === 'error' ? answer.errored : answer.decision, ['broken']);
});

test('a new version replaces the old one in its slot', () => {
  load('t5', '@id("v1") permit(principal, action, resource);');
  assert.equal(ask('t5', tool('fx', 'echo'), {}).decision, 'allow');
  load('t5', '@id("v2") forbid(principal, action, resource);');
  assert.deepEqual(ask('t5', tool('fx', 'echo'), {}), { decision: 'deny', determining: ['v2'] });
});

test('cost of one evaluation on a typical set (reported, not asserted)', () => {
  load('bench', `@id("tools") permit(principal in Gatehouse::Role::"member", action == Gatehouse::Action::"tools/call", resource in Gatehouse::Connector::"fx");
@id("office") forbid(principal, action, resource) unless { context has clientIp && context.clientIp.isInRange(ip("10.0.0.0/8")) };
@id("no-fail") forbid(principal, action, resource == Gatehouse::Tool::"fx/fail");
@id("echo") forbid(principal, action, resource == Gatehouse::Tool::"fx/echo") when { context.arguments.hasTag("message") && context.arguments.getTag("message") like "*secret*" };
@id("hours") forbid(principal in Gatehouse::Role::"viewer", action, resource) unless { context.hourUtc >= 8 && context.hourUtc < 18 };`);
  const n = 3000;
  const t = tool('fx', 'echo');
  for (let i = 0; i < 200; i++) ask('bench', t, { message: 'hello' });
  const start = performance.now();
  for (let i = 0; i < n; i++) ask('bench', t, { message: `hello ${String(i)}` });
  const us = ((performance.now() - start) / n) * 1000;
  assert.equal(ask('bench', t, { message: 'hello' }).decision, 'allow');
  console.log(`# cedar: ${us.toFixed(1)} µs per call (request built + statefulIsAuthorized, 5 policies)`);
});

test('the decision cache answers what the engine would: arguments, principal and (when a policy reads it) the time are part of the key', () => {
  const text = `@id("all") permit(principal, action, resource);
@id("no-secrets") forbid(principal, action, resource) when { context.arguments.hasTag("message") && context.arguments.getTag("message") like "*secret*" };
@id("viewers") forbid(principal in Gatehouse::Role::"viewer", action, resource);`;
  const compiled = compilePolicies(text);
  assert.ok(compiled.ok);
  loadPolicies('cache', compiled.policies);
  let evaluations = 0;
  const cached = decisionCache(compiled.policies, (r) => {
    evaluations++;
    return evaluate('cache', r);
  });
  const req = (message: string, p: Principal = principal, now = Date.UTC(2026, 0, 5, 14)) =>
    ({ principal: p, method: 'tools/call', target: tool('fx', 'echo'), args: { message }, clientIp: '10.0.0.7', protocolVersion: '2025-06-18', now });
  assert.equal(cached(req('hello')).decision, 'allow');
  assert.equal(cached(req('hello', principal, Date.UTC(2026, 0, 5, 14, 0, 30))).decision, 'allow');
  assert.equal(evaluations, 1, 'the same request a few seconds later is a hit: no policy reads now');
  assert.equal(cached(req('a secret')).decision, 'deny', 'other arguments are evaluated');
  assert.equal(cached(req('hello', { ...principal, role: 'viewer' })).decision, 'deny', 'another principal is evaluated');
  assert.equal(evaluations, 3);

  const timed = `@id("all") permit(principal, action, resource);
@id("until") forbid(principal, action, resource) when { context.now >= 1767621700 };`;
  const t = compilePolicies(timed);
  assert.ok(t.ok);
  loadPolicies('cache-now', t.policies);
  const byTime = decisionCache(t.policies, (r) => evaluate('cache-now', r));
  assert.equal(byTime(req('x', principal, 1767621600_000)).decision, 'allow');
  assert.equal(byTime(req('x', principal, 1767621800_000)).decision, 'deny', 'a set that reads now keys on it');
});
