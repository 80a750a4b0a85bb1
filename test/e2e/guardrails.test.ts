// Guardrails through the real gateway: the official SDK client against the guard fixture upstream (stdio), settings
// per organisation, connector and tool through the admin API and the CLI, and the audit records that carry the
// findings (rule, where, action) and never the values. Every refusal is checked against the upstream's own count of
// how often it really ran.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { AuditRecord } from '../../src/store/types.ts';
import { LEAK } from '../fixtures/guard-values.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { addAndConnect, connect, NODE, ROOT, runCli, startGateway, type Gateway } from './harness.ts';

const GUARD = join(ROOT, 'test/fixtures/guard-server.ts');
const C = 'gd';

async function rejection(p: Promise<unknown>): Promise<McpError> {
  const e: unknown = await p.then(
    () => assert.fail('expected the call to be refused'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof McpError, `expected an McpError, got ${String(e)}`);
  return e;
}

const texts = (r: CallToolResult): string[] => r.content.map((b) => (b.type === 'text' ? b.text : `<${b.type}>`));

interface GuardDetail {
  findings: { stage: string; rule: string; where: string; action: string; encoding?: string }[];
}

describe('guardrails', () => {
  let gw: Gateway;
  let org: TestOrg;
  let other: TestOrg;
  let client: Client;
  let otherClient: Client;

  const call = (name: string, args: Record<string, unknown>, c = client) => c.callTool({ name: `${C}__${name}`, arguments: args }) as Promise<CallToolResult>;
  const runs = async (tool: string, c = client): Promise<number> => Number(texts(await call('count_of', { tool }, c))[0]);
  const put = async (path: string, body: unknown, key = org.ownerKey): Promise<void> => {
    const r = await api(gw, key, 'PUT', path, body);
    assert.equal(r.status, 200, r.text);
  };
  async function records(orgId = org.id): Promise<AuditRecord[]> {
    return gw.app.services.store.listAudit(orgId, 0, 100_000);
  }
  async function lastRecord(name: string): Promise<AuditRecord & { guard: GuardDetail | undefined }> {
    const r = (await records()).filter((x) => x.action === 'mcp.tools/call' && x.targetName === name).at(-1);
    assert.ok(r !== undefined, `no record for ${name}`);
    const detail = r.detail === null ? undefined : (JSON.parse(r.detail) as { guard?: GuardDetail }).guard;
    return { ...r, guard: detail };
  }

  before(async () => {
    gw = await startGateway();
    org = await makeOrg(gw, 'guardco');
    other = await makeOrg(gw, 'otherco');
    for (const o of [org, other]) await addAndConnect(gw, { name: C, type: 'stdio', command: NODE, args: [GUARD], env: [] }, o.id);
    client = await connect(gw.url, org.people.member.key);
    otherClient = await connect(gw.url, other.people.member.key);
  });
  after(async () => {
    await client.close();
    await otherClient.close();
    await gw.close();
  });

  test('arguments that fail the tool inputSchema are refused with the validator messages, and the upstream never runs', async () => {
    const e = await rejection(call('strict', { email: 'not an email', count: 0 }));
    assert.equal(e.code, -32040);
    assert.match(e.message, /\/email must match format "email"/);
    assert.match(e.message, /\/count must be >= 1/);
    assert.equal((await rejection(call('strict', { email: 'a@example.com', count: 1, extra: true }))).code, -32040);
    assert.equal(await runs('strict'), 0);
    assert.deepEqual(texts(await call('strict', { email: 'a@example.com', count: 2 })), ['strict ran']);
    assert.equal(await runs('strict'), 1);
    // draft-07, chosen by its $schema.
    assert.match((await rejection(call('legacy', { n: 11 }))).message, /\/n must be <= 10/);
    assert.deepEqual(texts(await call('legacy', { n: 5 })), ['legacy ran']);
    assert.equal(await runs('legacy'), 1);
    const r = await lastRecord('legacy');
    assert.equal(r.decision, 'allow');
    const refused = (await records()).filter((x) => x.targetName === 'strict' && x.decision === 'deny');
    assert.equal(refused.length, 2);
    assert.equal(refused[0]?.reason, 'arguments_invalid:schema.input');
  });

  test('a guardrail that fails (an input schema that cannot be compiled) refuses the call, names itself, and the upstream never runs', async () => {
    const e = await rejection(call('broken', { a: 1 }));
    assert.equal(e.code, -32044);
    assert.match(e.message, /Guardrail schema\.input failed/);
    assert.equal(await runs('broken'), 0);
    const r = await lastRecord('broken');
    assert.equal(r.decision, 'error');
    assert.equal(r.reason, 'guardrail_error:schema.input');
  });

  test('structuredContent is checked against the outputSchema', async () => {
    assert.deepEqual((await call('typed', { valid: true })).structuredContent, { sum: 3 });
    const e = await rejection(call('typed', { valid: false }));
    assert.equal(e.code, -32042);
    assert.match(e.message, /\/sum must be number/);
  });

  test('PII and secrets in results are redacted - split across blocks, encoded, hidden, in structuredContent, errors, resources and prompts - and audited without their values', async () => {
    await put('/guardrails', { document: { pii: { action: 'redact', direction: 'post' }, secrets: { action: 'redact', direction: 'post' } } });
    const r = await call('leak', { variant: 'split' });
    assert.deepEqual(texts(r), ['card [REDACTED:pii.card]', ' thanks', 'key [REDACTED:secret.aws_access_key] mail [REDACTED:pii.email]']);
    assert.deepEqual(r.structuredContent, { owner: { email: '[REDACTED:pii.email]' }, ok: true });
    const failed = await call('leak', { variant: 'error' });
    assert.equal(failed.isError, true);
    assert.deepEqual(texts(failed), ['failed for key [REDACTED:secret.aws_access_key]']);

    const { resources } = await client.listResources();
    const uri = (u: string): string => resources.find((x) => x.uri.endsWith(u))?.uri ?? assert.fail(`no ${u}`);
    const text = (await client.readResource({ uri: uri('guard://text') }));
    assert.deepEqual(text.contents.map((c) => ('text' in c ? c.text : null)), ['aws [REDACTED:secret.aws_access_key]']);
    const blob = (await client.readResource({ uri: uri('guard://blob') }));
    const b = blob.contents[0];
    assert.ok(b !== undefined && 'blob' in b);
    assert.equal(Buffer.from(b.blob, 'base64').toString(), 'contact [REDACTED:pii.email]');
    const prompt = (await client.getPrompt({ name: `${C}__leaky` }));
    assert.deepEqual(prompt.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')), ['my ssn is [REDACTED:pii.ssn]', '']);

    const record = await lastRecord('leak');
    const split = (await records()).filter((x) => x.targetName === 'leak').at(-2);
    assert.ok(split?.detail != null);
    const findings = (JSON.parse(split.detail) as { guard: GuardDetail }).guard.findings;
    assert.deepEqual(
      findings.map((f) => [f.rule, f.where, f.action, f.encoding ?? '']),
      [
        ['pii.card', 'content[0].text+content[1].text', 'redact', ''],
        ['secret.aws_access_key', 'content[2].text', 'redact', ''],
        ['pii.email', 'content[2].text', 'redact', 'base64'],
        ['pii.email', 'structuredContent.owner.email', 'redact', ''],
      ],
    );
    assert.deepEqual(record.guard?.findings.map((f) => f.where), ['content[0].text']);
    const everything = JSON.stringify(await records());
    for (const value of [LEAK.awsKey, LEAK.email, LEAK.card, LEAK.card.replace(/ /g, ''), LEAK.ssn]) assert.ok(!everything.includes(value), 'a value reached the audit log');
  });

  test('block mode, per tool, refuses the result; other tools keep the organisation policy', async () => {
    await put(`/guardrails/tools/${C}/leak`, { policy: { secrets: { action: 'block', direction: 'post' } } });
    const e = await rejection(call('leak', { variant: 'split' }));
    assert.equal(e.code, -32041);
    assert.match(e.message, /secret\.aws_access_key/);
    assert.ok(!e.message.includes(LEAK.awsKey));
    assert.deepEqual(texts(await call('leak', { variant: 'clean' })), ['nothing to see']);
    const r = await lastRecord('leak');
    assert.equal(r.decision, 'allow');
    const blocked = (await records()).filter((x) => x.targetName === 'leak').at(-2);
    assert.equal(blocked?.reason, 'guardrail_denied:secret.aws_access_key');
    await put(`/guardrails/tools/${C}/leak`, { policy: null });
  });

  test('PII in arguments, blocked before the upstream (direction pre), is kept out of the audit record too', async () => {
    await put(`/guardrails/tools/${C}/query`, { policy: { pii: { action: 'block', direction: 'pre' } } });
    const e = await rejection(call('query', { sql: 'select 1', note: `mail ${LEAK.email}` }));
    assert.equal(e.code, -32041);
    assert.match(e.message, /pii\.email found in the arguments \(arguments\.note\)/);
    assert.equal(await runs('query'), 0);
    const r = await lastRecord('query');
    assert.equal(r.args, JSON.stringify({ sql: 'select 1', note: 'mail [REDACTED:pii.email]' }));
    assert.deepEqual(r.guard?.findings, [{ stage: 'pre', rule: 'pii.email', where: 'arguments.note', action: 'block' }]);
    await put(`/guardrails/tools/${C}/query`, { policy: null });
  });

  test('a deny rule refuses matching arguments, through invisible characters; another organisation is not affected', async () => {
    const bad = await api(gw, org.ownerKey, 'PUT', '/guardrails/deny-rules/bad', { rule: { tool: `${C}/*`, pattern: '(unclosed' } });
    assert.equal(bad.status, 400);
    // A pattern that can backtrack exponentially would let one argument stall the gateway for everyone: refused.
    for (const pattern of ['(a+)+$', '^(\\w+\\s?)*$', '(?:x*)*y', '(a)\\1']) {
      const slow = await api(gw, org.ownerKey, 'PUT', '/guardrails/deny-rules/slow', { rule: { tool: `${C}/*`, pattern } });
      assert.equal(slow.status, 400, pattern);
      assert.match(slow.text, /exponential time/, pattern);
    }
    await put('/guardrails/deny-rules/no-drop', { rule: { tool: `${C}/query`, path: '$.sql', pattern: 'drop\\s+table', ignoreCase: true } });
    const before = await runs('query');
    const e = await rejection(call('query', { sql: 'DROP  TABLE users' }));
    assert.equal(e.code, -32041);
    assert.match(e.message, /deny rule no-drop \(arguments\.sql\)/);
    assert.equal((await rejection(call('query', { sql: 'dr\u200Bop table users' }))).code, -32041);
    assert.deepEqual(texts(await call('query', { sql: 'select 1' })), ['query ran']);
    assert.equal(await runs('query'), before + 1);
    assert.deepEqual(texts(await call('query', { sql: 'DROP TABLE users' }, otherClient)), ['query ran']);
    assert.equal((await lastRecord('query')).decision, 'allow');
  });

  test('the output cap truncates (and says so) or refuses, per tool', async () => {
    await put(`/guardrails/tools/${C}/big`, { policy: { outputCap: { bytes: 2048, action: 'truncate' } } });
    const r = await call('big', { bytes: 10_000 });
    assert.ok(JSON.stringify(r).length <= 2048 + 200);
    assert.match(texts(r).at(-1) ?? '', /result truncated: \d+ bytes of JSON, over the cap of 2048/);
    assert.ok((texts(r)[0] ?? '').length > 1000);
    const truncated = r._meta?.['gatehouse/truncated'] as { originalBytes: number; capBytes: number };
    assert.equal(truncated.capBytes, 2048);
    assert.ok(truncated.originalBytes > 10_000);
    assert.deepEqual(texts(await call('big', { bytes: 100 })), ['x'.repeat(100)]);
    await put(`/guardrails/tools/${C}/big`, { policy: { outputCap: { bytes: 2048, action: 'refuse' } } });
    assert.equal((await rejection(call('big', { bytes: 10_000 }))).code, -32043);
    assert.deepEqual((await lastRecord('big')).guard?.findings, [{ stage: 'post', rule: 'output.cap', where: 'result', action: 'refuse' }]);
  });

  test('a connector override turns a check off for that connector only, a tool override back on for one tool', async () => {
    await put(`/guardrails/connectors/${C}`, { policy: { inputSchema: false } });
    await put(`/guardrails/tools/${C}/legacy`, { policy: { inputSchema: true } });
    const before = await runs('strict');
    assert.deepEqual(texts(await call('strict', { email: 'nope', count: 0 })), ['strict ran']);
    assert.equal(await runs('strict'), before + 1);
    assert.equal((await rejection(call('legacy', { n: 11 }))).code, -32040);
    assert.equal((await rejection(call('strict', { email: 'nope', count: 0 }, otherClient))).code, -32040);
    await put(`/guardrails/connectors/${C}`, { policy: null });
    assert.equal((await rejection(call('strict', { email: 'nope', count: 0 }))).code, -32040);
  });

  test('viewers read the settings, only managers change them; the CLI changes them too', async () => {
    const read = await api(gw, org.people.viewer.key, 'GET', '/guardrails');
    assert.equal(read.status, 200);
    assert.equal((read.body as { document: { denyRules: { id: string }[] } }).document.denyRules[0]?.id, 'no-drop');
    assert.equal((await api(gw, org.people.viewer.key, 'PUT', '/guardrails/deny-rules/x', { rule: null })).status, 403);
    assert.equal((await api(gw, org.people.member.key, 'PUT', '/guardrails', { document: {} })).status, 403);
    const cli = await runCli(gw, ['guardrails', 'deny-rule', 'no-rm', '--tool', `${C}/*`, '--path', '$..note', '--pattern', 'rm -rf', '--org', org.slug]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal((await rejection(call('query', { sql: 'select 1', note: 'then rm -rf /' }))).code, -32041);
    const shown = await runCli(gw, ['guardrails', 'show', '--org', org.slug]);
    assert.deepEqual((JSON.parse(shown.stdout) as { document: { denyRules: { id: string }[] } }).document.denyRules.map((d) => d.id), ['no-drop', 'no-rm']);
    const changes = (await records()).filter((x) => x.action.startsWith('guardrails.'));
    assert.ok(changes.length >= 8);
  });
});
