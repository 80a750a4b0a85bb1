// Human approval of tool calls through a running gateway: a tool the organisation marked as needing approval is
// held until a person says yes - the person behind the session through MCP elicitation when its client declared it,
// otherwise an administrator through the admin API, after which the client retries the same call. An approval is
// bound to the key, the tool and the exact arguments, and approves one call.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, McpError, type CallToolResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import type { AuditRecord } from '../../src/store/types.ts';
import { api } from './admin-client.ts';
import { addAndConnect, connect, runCli, startGateway, stdioFixture, type Gateway } from './harness.ts';

const APPROVAL_REQUIRED = -32034;
const APPROVAL_DENIED = -32035;

describe('human approval of tool calls', () => {
  let gw: Gateway;
  const clients: Client[] = [];

  before(async () => {
    gw = await startGateway();
    await addAndConnect(gw, stdioFixture('fx'));
    const set = await api(gw, gw.ownerKey, 'PUT', '/traffic/approvals', { pattern: 'fx/add', required: true });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual((set.body as { approvals: string[] }).approvals, ['fx/add']);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await gw.close();
  });

  async function key(name: string, role: 'member' | 'viewer' = 'member'): Promise<string> {
    return (await createKey(gw.app.services, operatorActor('approval-e2e'), { orgId: gw.org.id, name, role, scopes: ['*'] })).key;
  }

  async function plain(k: string): Promise<Client> {
    const c = await connect(gw.url, k, 'no-elicitation');
    clients.push(c);
    return c;
  }

  async function eliciting(k: string, answer: () => ElicitResult | Promise<ElicitResult>, seen: string[] = []): Promise<Client> {
    const c = new Client({ name: 'eliciting', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    c.setRequestHandler(ElicitRequestSchema, async (r) => {
      seen.push(r.params.message);
      return answer();
    });
    await c.connect(new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { Authorization: `Bearer ${k}` } } }));
    clients.push(c);
    return c;
  }

  async function refusal(p: Promise<unknown>): Promise<McpError> {
    const r = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(r instanceof McpError, `expected a refusal, got ${JSON.stringify(r)}`);
    return r;
  }

  function sum(r: unknown): string {
    const first = (r as CallToolResult).content[0];
    assert.ok(first?.type === 'text');
    return first.text;
  }

  async function records(): Promise<AuditRecord[]> {
    return gw.app.services.store.listAudit(gw.org.id, 0, 100_000);
  }

  test('a client that cannot be asked is refused with the approval route; an admin approves; the same retry runs once', async () => {
    const agentKey = await key('agent');
    const agent = await plain(agentKey);
    assert.equal(sum(await agent.callTool({ name: 'fx__echo', arguments: { text: 'unmarked' } })), 'unmarked', 'other tools are not held');

    const held = await refusal(agent.callTool({ name: 'fx__add', arguments: { a: 2, b: 3 } }));
    assert.equal(held.code, APPROVAL_REQUIRED);
    const id = (held.data as { approvalId: string }).approvalId;
    assert.match(id, /^apr_/);
    assert.ok(held.message.includes(`POST /api/v1/approvals/${id}/approve`), held.message);
    const again = await refusal(agent.callTool({ name: 'fx__add', arguments: { a: 2, b: 3 } }));
    assert.equal((again.data as { approvalId: string }).approvalId, id, 'a retry before the decision waits on the same request');

    const listed = await api(gw, gw.ownerKey, 'GET', '/approvals');
    assert.equal(listed.status, 200);
    const pending = (listed.body as { approvals: { id: string; tool: string; arguments: string; state: string }[] }).approvals;
    assert.deepEqual(pending.map((a) => [a.id, a.tool, a.state]), [[id, 'add', 'pending']]);
    assert.equal(pending[0]?.arguments, '{"a":2,"b":3}', 'the reviewer sees what would run');

    const viewer = await key('viewer', 'viewer');
    assert.equal((await api(gw, viewer, 'GET', '/approvals')).status, 200, 'a viewer may look');
    assert.equal((await api(gw, viewer, 'POST', `/approvals/${id}/approve`, {})).status, 403, 'but not decide');
    assert.equal((await refusal(agent.callTool({ name: 'fx__add', arguments: { a: 2, b: 3 } }))).code, APPROVAL_REQUIRED, 'nothing was approved');

    const approved = await api(gw, gw.ownerKey, 'POST', `/approvals/${id}/approve`, {});
    assert.equal(approved.status, 200, approved.text);
    assert.equal((approved.body as { state: string }).state, 'approved');
    assert.equal((await api(gw, gw.ownerKey, 'POST', `/approvals/${id}/deny`, {})).status, 404, 'a decision stands');

    const other = await plain(await key('other-agent'));
    assert.equal((await refusal(other.callTool({ name: 'fx__add', arguments: { a: 2, b: 3 } }))).code, APPROVAL_REQUIRED, "another key's identical call is not approved");
    assert.equal((await refusal(agent.callTool({ name: 'fx__add', arguments: { a: 2, b: 4 } }))).code, APPROVAL_REQUIRED, 'other arguments are not approved');

    assert.equal(sum(await agent.callTool({ name: 'fx__add', arguments: { b: 3, a: 2 } })), '5', 'the approved call runs (member order does not matter)');
    const used = await refusal(agent.callTool({ name: 'fx__add', arguments: { a: 2, b: 3 } }));
    assert.equal(used.code, APPROVAL_REQUIRED, 'once');
    assert.notEqual((used.data as { approvalId: string }).approvalId, id);

    const all = await records();
    const allowed = all.find((r) => r.action === 'mcp.tools/call' && r.targetName === 'add' && r.decision === 'allow');
    const detail = JSON.parse(allowed?.detail ?? '{}') as { approval?: { id: string; via: string; outcome: string; by: string } };
    assert.deepEqual({ ...detail.approval, by: undefined }, { id, via: 'admin', outcome: 'approved', by: undefined });
    assert.match(detail.approval?.by ?? '', /^key:key_/, 'who approved it');
    const refused = all.filter((r) => r.action === 'mcp.tools/call' && r.targetName === 'add' && r.decision === 'deny');
    assert.ok(refused.every((r) => r.reason === 'approval_required'));
    assert.ok(all.some((r) => r.action === 'approval.approve' && r.targetName === 'add'), 'the decision is audited');
  });

  test('a denied call stays refused, and the denial is audited', async () => {
    const agent = await plain(await key('denied-agent'));
    const held = await refusal(agent.callTool({ name: 'fx__add', arguments: { a: 7, b: 7 } }));
    const id = (held.data as { approvalId: string }).approvalId;
    const r = await runCli(gw, ['approvals', 'deny', id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /denied/);
    const after = await refusal(agent.callTool({ name: 'fx__add', arguments: { a: 7, b: 7 } }));
    assert.equal(after.code, APPROVAL_REQUIRED);
    assert.notEqual((after.data as { approvalId: string }).approvalId, id, 'a new request, for someone to decide afresh');
    assert.ok((await records()).some((x) => x.action === 'approval.deny' && x.targetName === 'add'));
  });

  test('a client with elicitation asks the person behind it: yes runs the call, no refuses it', async () => {
    const k = await key('person');
    const seen: string[] = [];
    let yes = true;
    const c = await eliciting(k, () => ({ action: 'accept', content: { approve: yes } }), seen);
    assert.equal(sum(await c.callTool({ name: 'fx__add', arguments: { a: 1, b: 1 } })), '2');
    assert.match(seen[0] ?? '', /fx\/add/);
    assert.match(seen[0] ?? '', /"a":1/);
    yes = false;
    assert.equal((await refusal(c.callTool({ name: 'fx__add', arguments: { a: 1, b: 1 } }))).code, APPROVAL_DENIED, 'each call is asked for again');
    const declining = await eliciting(k, () => ({ action: 'decline' }));
    assert.equal((await refusal(declining.callTool({ name: 'fx__add', arguments: { a: 1, b: 2 } }))).code, APPROVAL_DENIED);
    const outcomes = (await records())
      .filter((r) => r.action === 'mcp.tools/call' && r.targetName === 'add' && (JSON.parse(r.detail ?? '{}') as { approval?: { via?: string } }).approval?.via === 'elicitation')
      .map((r) => [r.decision, (JSON.parse(r.detail ?? '{}') as { approval: { outcome: string } }).approval.outcome]);
    assert.deepEqual(outcomes.slice(-3), [['allow', 'approved'], ['deny', 'denied'], ['deny', 'decline']]);
  });
});
