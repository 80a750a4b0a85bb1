// Credentials echoed back: an upstream that hands the agent the very credential the gateway gave it (an env secret
// of a stdio connector, a secret header of an HTTP one) in any of the forms it might - plain, base64, hex,
// URL-encoded, split across two content blocks, inside structuredContent, an error result or an embedded resource -
// has it replaced before the agent sees it, and the replacement is in the call's audit record without the value.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { addAndConnect, connect, httpConnector, startFixtureHttpProcess, startGateway, stdioFixture, type Gateway, type UpstreamProcess } from './harness.ts';

const FORMS = ['plain', 'base64', 'hex', 'url', 'split', 'structured', 'error', 'resource'] as const;

describe('credentials an upstream echoes back are scrubbed', () => {
  let gw: Gateway;
  let fx: UpstreamProcess;
  let client: Client;
  const envSecret = `env-${randomBytes(12).toString('hex')}`;
  const headerSecret = `hdr-${randomBytes(12).toString('base64url')}`;

  before(async () => {
    gw = await startGateway();
    fx = await startFixtureHttpProcess({ FIXTURE_ECHO_CREDENTIAL: '1' });
    await addAndConnect(gw, stdioFixture('sx', [{ name: 'FIXTURE_TOKEN', value: envSecret, secret: true }, { name: 'FIXTURE_ECHO_CREDENTIAL', value: '1', secret: false }]));
    await addAndConnect(gw, httpConnector('hx', fx.url, [{ name: 'X-Fixture-Token', value: headerSecret, secret: true }]));
    await addAndConnect(gw, stdioFixture('plainx', [{ name: 'FIXTURE_ECHO_CREDENTIAL', value: '1', secret: false }]));
    client = await connect(gw.url, gw.ownerKey);
  });
  after(async () => {
    await client.close();
    await gw.close();
    await fx.close();
  });

  const encodings = (secret: string): string[] => [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(secret).toString('base64url'),
    Buffer.from(`x-token: ${secret}`).toString('hex'),
    [...Buffer.from(secret)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
    secret.slice(0, Math.floor(secret.length / 2)),
    secret.slice(Math.floor(secret.length / 2)),
  ];

  for (const [connector, secret] of [['sx', () => envSecret], ['hx', () => headerSecret]] as const) {
    test(`${connector}: every form of its credential is replaced, and audited without it`, async () => {
      for (const form of FORMS) {
        const result = (await client.callTool({ name: `${connector}__echo_credential`, arguments: { form } })) as CallToolResult;
        const text = JSON.stringify(result);
        for (const e of encodings(secret())) assert.ok(!text.includes(e), `${form}: the answer still holds ${e === secret() ? 'the credential' : 'a form of it'}: ${text}`);
        assert.match(text, /\[REDACTED:connector-credential\]/, `${form}: the replacement is visible`);
      }
      const records = (await gw.app.services.store.listAudit(gw.org.id, 0, 100_000)).filter((r) => r.targetConnector === connector && r.targetName === 'echo_credential');
      assert.equal(records.length, FORMS.length);
      for (const r of records) {
        const detail = JSON.parse(r.detail ?? '{}') as { scrub?: { replaced: { where: string; encoding?: string }[] } };
        assert.ok((detail.scrub?.replaced.length ?? 0) > 0, `audited: ${r.detail ?? ''}`);
        for (const e of encodings(secret())) assert.ok(!JSON.stringify(r).includes(e), 'the record never holds the value');
      }
      const where = records.flatMap((r) => (JSON.parse(r.detail ?? '{}') as { scrub: { replaced: { where: string; encoding?: string }[] } }).scrub.replaced);
      assert.ok(where.some((w) => w.where === 'content[0].text+content[1].text'), 'split across blocks');
      assert.ok(where.some((w) => w.encoding === 'base64') && where.some((w) => w.encoding === 'hex') && where.some((w) => w.encoding === 'url'));
      assert.ok(where.some((w) => w.where.startsWith('structuredContent')) && where.some((w) => w.where.includes('resource')));
    });
  }

  test("an upstream's elicitation and sampling requests reach the client without its credential", async () => {
    const seen: unknown[] = [];
    const asking = new Client({ name: 'asking-client', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {} } });
    asking.setRequestHandler(ElicitRequestSchema, (req) => {
      seen.push(req.params);
      return { action: 'decline' };
    });
    asking.setRequestHandler(CreateMessageRequestSchema, (req) => {
      seen.push(req.params);
      return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'ok' } };
    });
    await asking.connect(new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { Authorization: `Bearer ${gw.ownerKey}` } } }));
    try {
      for (const [connector, secret] of [['sx', envSecret], ['hx', headerSecret]] as const) {
        seen.length = 0;
        assert.match(JSON.stringify(await asking.callTool({ name: `${connector}__echo_credential`, arguments: { form: 'elicit' } })), /elicited: decline/);
        assert.match(JSON.stringify(await asking.callTool({ name: `${connector}__echo_credential`, arguments: { form: 'sample' } })), /sampled: test-model/);
        assert.equal(seen.length, 2, 'both requests reached the client');
        const text = JSON.stringify(seen);
        for (const e of encodings(secret)) assert.ok(!text.includes(e), `${connector}: the client was sent ${e === secret ? 'the credential' : 'a form of it'}: ${text}`);
        assert.equal(text.match(/\[REDACTED:connector-credential\]/g)?.length, 4, `message, schema description, base64 in the prompt and the system prompt: ${text}`);
        const records = (await gw.app.services.store.listAudit(gw.org.id, 0, 100_000)).filter(
          (r) => r.targetConnector === connector && (r.action === 'mcp.client.elicitation/create' || r.action === 'mcp.client.sampling/createMessage'),
        );
        assert.equal(records.length, 2);
        for (const r of records) {
          assert.match(r.detail ?? '', /"scrub"/, 'the replacement is audited');
          assert.ok(!JSON.stringify(r).includes(secret), 'without the value');
        }
      }
    } finally {
      await asking.close();
    }
  });

  test('a connector without secrets, and answers without its credential, pass untouched', async () => {
    const result = (await client.callTool({ name: 'plainx__echo_credential', arguments: { form: 'plain' } })) as CallToolResult;
    assert.deepEqual(result.content, [{ type: 'text', text: 'your token is ' }]);
    const echo = (await client.callTool({ name: 'sx__echo', arguments: { text: `hello ${envSecret.slice(0, 6)}` } })) as CallToolResult;
    assert.deepEqual(echo.content, [{ type: 'text', text: `hello ${envSecret.slice(0, 6)}` }], 'a fragment shorter than the credential is not it');
    const records = (await gw.app.services.store.listAudit(gw.org.id, 0, 100_000)).filter((r) => r.targetName === 'echo' || r.targetConnector === 'plainx');
    assert.ok(records.every((r) => !(r.detail ?? '').includes('scrub')));
  });
});
