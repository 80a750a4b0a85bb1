import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatehouseError } from '../../errors.ts';
import { newAuditFacts, type Call } from '../call.ts';
import { compileDenyRule, parsePath } from './deny-rules.ts';
import { truncateResult, jsonBytes } from './output-cap.ts';
import { DEFAULT_POLICY, effectivePolicy, emptyDocument, parseDocument } from './policy.ts';
import { compileGuardrails } from './settings.ts';
import { createGuardStages, runGuardrails, type GuardContext, type Guardrail } from './stages.ts';

function fakeCall(): Call {
  return { audit: newAuditFacts('mcp.tools/call') } as unknown as Call;
}

function ctx(call = fakeCall()): GuardContext {
  return { call, method: 'tools/call', connector: 'c', name: 't', policy: DEFAULT_POLICY, rules: compileGuardrails(emptyDocument()) };
}

async function refusal(run: () => unknown): Promise<GatehouseError> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof GatehouseError, String(err));
    return err;
  }
  return assert.fail('expected a refusal');
}

test('a guardrail that throws refuses the call with guardrail_error naming it; its own refusals pass through', async () => {
  const throwing: Guardrail = {
    id: 'custom.throws',
    run: () => {
      throw new TypeError('boom');
    },
  };
  const e = await refusal(() => runGuardrails([throwing], ctx(), 1000));
  assert.equal(e.code, 'guardrail_error');
  assert.equal(e.data?.reason, 'custom.throws');
  assert.ok(!e.message.includes('boom'), 'the cause is for the log, not the client');
  const own: Guardrail = {
    id: 'own',
    run: () => {
      throw new GatehouseError('guardrail_denied', 'no');
    },
  };
  assert.equal((await refusal(() => runGuardrails([own], ctx(), 1000))).code, 'guardrail_denied');
  const rejecting: Guardrail = { id: 'custom.rejects', run: () => Promise.reject(new Error('async boom')) };
  assert.equal((await refusal(() => runGuardrails([rejecting], ctx(), 1000))).data?.reason, 'custom.rejects');
});

test('a guardrail that runs out of time refuses, whether it never settles or is synchronous and slow', async () => {
  const never: Guardrail = { id: 'custom.never', run: () => new Promise<void>(() => undefined) };
  const e = await refusal(() => runGuardrails([never], ctx(), 20));
  assert.equal(e.code, 'guardrail_error');
  assert.match(e.message, /custom\.never ran out of time/);
  const slow: Guardrail = {
    id: 'custom.slow',
    run: () => {
      const until = performance.now() + 15;
      while (performance.now() < until) {
        // busy: a synchronous check cannot be interrupted, only refused afterwards
      }
    },
  };
  assert.match((await refusal(() => runGuardrails([slow], ctx(), 5))).message, /custom\.slow ran out of time/);
  let after = 0;
  const ok: Guardrail = { id: 'ok', run: () => Promise.resolve() };
  const next: Guardrail = {
    id: 'next',
    run: () => {
      after++;
    },
  };
  await runGuardrails([ok, next], ctx(), 1000);
  assert.equal(after, 1, 'the guardrails after an asynchronous one still run');
});

test('a stored document that no longer parses refuses every guarded call of its organisation', async () => {
  const stages = createGuardStages({
    timeoutMs: 1000,
    settings: { of: () => ({ denyRules: [], policy: () => DEFAULT_POLICY, broken: new Error('bad document') }) },
  });
  const call = {
    ...fakeCall(),
    direction: 'client',
    request: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} },
    spec: { target: 'tool', answer: 'upstream', guarded: true },
    principal: { orgId: 'o' },
    target: { kind: 'tool', connector: 'c', original: 't', entry: { connector: 'c', original: 't', item: { inputSchema: { type: 'object' } } } },
  } as unknown as Call;
  const e = await refusal(() => stages.pre(call));
  assert.equal(e.code, 'guardrail_error');
  assert.equal(e.data?.reason, 'settings');
  // A server-to-client request has no tool target: the stages let it pass.
  assert.equal(stages.pre({ ...call, direction: 'server' }), undefined);
});

test('policies: defaults, then organisation, connector and tool, each field inherited unless named', () => {
  const doc = parseDocument({
    pii: { action: 'redact' },
    connectors: { c: { inputSchema: false, secrets: { action: 'block', direction: 'pre' } } },
    tools: { 'c/t': { inputSchema: true } },
  });
  assert.deepEqual(effectivePolicy(doc, 'other', 'x'), { ...DEFAULT_POLICY, pii: { action: 'redact', direction: 'both' } });
  assert.equal(effectivePolicy(doc, 'c', 'u').inputSchema, false);
  assert.deepEqual(effectivePolicy(doc, 'c', 't'), { ...DEFAULT_POLICY, inputSchema: true, pii: { action: 'redact', direction: 'both' }, secrets: { action: 'block', direction: 'pre' } });
  assert.throws(() => parseDocument({ pii: { action: 'maybe' } }));
  assert.throws(() => parseDocument({ unknown: true }));
});

test('deny rules: JSON paths, globs, invisible characters and URL-encoding', () => {
  assert.deepEqual(parsePath('$.a[0].b'), [{ kind: 'name', name: 'a' }, { kind: 'index', index: 0 }, { kind: 'name', name: 'b' }]);
  assert.equal(parsePath('a.b'), undefined);
  assert.equal(parsePath('$.a[x]'), undefined);
  const rule = compileDenyRule({ id: 'r', tool: 'db/*', path: '$..sql', pattern: 'drop table', ignoreCase: true });
  assert.ok(rule.applies('db/query') && !rule.applies('web/query'));
  assert.deepEqual(rule.match({ batch: [{ sql: 'select 1' }, { sql: 'DROP\u200B TABLE x'.replace('\u200B ', ' \u200B') }] }), ['arguments.batch[1].sql']);
  assert.deepEqual(rule.match({ sql: 'drop%20table%20x' }), ['arguments.sql']);
  assert.deepEqual(rule.match({ sql: 'select drop_table_count' }), []);
  const any = compileDenyRule({ id: 'w', tool: '*', path: '$.list[*]', pattern: '^rm ', ignoreCase: false });
  assert.deepEqual(any.match({ list: ['ls', 'rm -rf /'] }), ['arguments.list[1]']);
  assert.throws(() => compileDenyRule({ id: 'bad', tool: '*', path: '$', pattern: '(', ignoreCase: false }));
  for (const slow of ['(a+)+$', '(.*a){12}', '(?:a*)*b', '(x)\\1', '(?<w>x)\\k<w>']) {
    assert.throws(() => compileDenyRule({ id: 'slow', tool: '*', path: '$', pattern: slow, ignoreCase: false }), /exponential time/, slow);
  }
  for (const fine of ['drop\\s+table', '^rm -rf', '\\p{L}+@\\p{L}+', '(foo|bar)+baz', '[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}']) {
    assert.doesNotThrow(() => compileDenyRule({ id: 'ok', tool: '*', path: '$', pattern: fine, ignoreCase: false }), fine);
  }
});

test('the output cap cuts a result to fit and says so, without half characters', () => {
  const result = { content: [{ type: 'text', text: 'a'.repeat(5000) }, { type: 'text', text: 'b'.repeat(5000) }], structuredContent: { big: 'c'.repeat(5000) } };
  const size = jsonBytes(result);
  const cut = truncateResult('tools/call', result, 4096, size);
  assert.ok(jsonBytes(cut) <= 4096, String(jsonBytes(cut)));
  assert.equal(cut.structuredContent, undefined);
  const blocks = cut.content as { text: string }[];
  assert.match(blocks.at(-1)?.text ?? '', /truncated/);
  assert.deepEqual(cut._meta, { 'gatehouse/truncated': { originalBytes: size, capBytes: 4096 } });
  const res = truncateResult('resources/read', { contents: [{ uri: 'a://b', text: 'é'.repeat(4000) }] }, 2048, 9000);
  assert.ok(jsonBytes(res) <= 2048);
  assert.ok(!((res.contents as { text: string }[])[0]?.text ?? '').includes('\uFFFD'), 'no half character');
});
