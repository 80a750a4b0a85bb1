// Idempotency keys on tools/call through the real gateway, a real SDK client and a fixture upstream that counts how
// often it really ran: a retry with the same key and arguments gets the stored answer without reaching the upstream,
// other arguments and a retry while the first still runs are refused, keys are per caller, and they expire.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { IDEMPOTENCY_META_KEY } from '../../src/gateway/traffic/idempotency-key.ts';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import { addAndConnect, connect, startGateway, stdioFixture, waitFor, type Gateway } from './harness.ts';

const DAY_MS = 24 * 3600 * 1000;

void describe('idempotency keys on tools/call', () => {
  let gw: Gateway;
  let client: Client;
  let offset = 0;

  const textOf = (r: unknown): string => {
    const c = (r as CallToolResult).content[0];
    return c?.type === 'text' ? c.text : assert.fail(`no text in ${JSON.stringify(r)}`);
  };
  const withKey = (c: Client, key: string, args: Record<string, unknown>) =>
    c.callTool({ name: 'fx__counted', arguments: args, _meta: { [IDEMPOTENCY_META_KEY]: key } });
  const countOf = async (tag: string) => Number(textOf(await client.callTool({ name: 'fx__count_of', arguments: { tag } })));
  const details = async () =>
    (await gw.app.services.store.listAudit(gw.org.id, 0, 100_000)).flatMap((r) => (r.detail === null ? [] : [JSON.parse(r.detail) as Record<string, unknown>]));
  // Inside a session the refusal is a JSON-RPC error on the request's own answer (HTTP 422 / 409 where a request is
  // answered by HTTP status, as in stateless mode).
  const refusedWith = async (p: Promise<unknown>, rpcCode: number, message: RegExp) => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof McpError, String(e));
      assert.equal(e.code, rpcCode, e.message);
      assert.match(e.message, message);
      return true;
    });
  };
  const MISMATCH = -32030;
  const IN_FLIGHT = -32031;

  before(async () => {
    gw = await startGateway({}, { now: () => Date.now() + offset });
    await addAndConnect(gw, stdioFixture('fx', [{ name: 'FIXTURE_COUNTER_TOOLS', value: '1', secret: false }]));
    client = await connect(gw.url, gw.ownerKey);
  });

  after(async () => {
    await client.close();
    await gw.close();
  });

  test('the same key and arguments run the upstream once; the retry gets the same answer and its record says so', async () => {
    const first = await withKey(client, 'once-1', { tag: 'once' });
    const second = await withKey(client, 'once-1', { tag: 'once' });
    assert.deepEqual(JSON.parse(textOf(first)), { tag: 'once', n: 1 });
    assert.deepEqual(second, first);
    assert.equal(await countOf('once'), 1, 'the upstream ran once');
    const noted = (await details()).map((d) => d.idempotency);
    assert.ok(noted.some((d) => JSON.stringify(d) === '{"stored":true}'), 'the first call stored its answer');
    assert.ok(noted.some((d) => JSON.stringify(d) === '{"replayed":true}'), 'the replay is audited as one');
    const rows = await gw.app.services.store.listAudit(gw.org.id, 0, 100_000);
    assert.ok(!rows.some((r) => (r.detail ?? '').includes('once-1')), 'the key itself is not in the audit detail');
    const db = new DatabaseSync(join(gw.dataDir, 'gatehouse.db'), { readOnly: true });
    try {
      const stored = db.prepare("SELECT state, result FROM idempotency_keys WHERE idem_key = 'once-1'").all();
      assert.equal(stored.length, 1);
      const row = stored[0] ?? assert.fail('no row');
      assert.equal(row.state, 'done');
      assert.match(String(row.result), /^v1\./, 'the answer is stored sealed');
      assert.ok(!String(row.result).includes('once'), 'no tool output in the clear');
    } finally {
      db.close();
    }
  });

  test('without a key every call runs', async () => {
    await client.callTool({ name: 'fx__counted', arguments: { tag: 'plain' } });
    await client.callTool({ name: 'fx__counted', arguments: { tag: 'plain' } });
    assert.equal(await countOf('plain'), 2);
  });

  test('the same key with other arguments or another tool is refused (-32030, HTTP 422) and runs nothing', async () => {
    await withKey(client, 'mismatch-1', { tag: 'mm' });
    await refusedWith(withKey(client, 'mismatch-1', { tag: 'mm', ms: 0 }), MISMATCH, /different request/);
    await refusedWith(
      client.callTool({ name: 'fx__echo', arguments: { text: 'x' }, _meta: { [IDEMPOTENCY_META_KEY]: 'mismatch-1' } }),
      MISMATCH,
      /different request/,
    );
    assert.equal(await countOf('mm'), 1);
    assert.ok((await details()).some((d) => JSON.stringify(d.idempotency) === '{"refused":"mismatch"}'));
  });

  test('a duplicate while the first still runs is refused (-32031, HTTP 409) rather than run twice; afterwards it replays', async () => {
    const running = withKey(client, 'slow-1', { tag: 'slow', ms: 1500 });
    await waitFor(async () => (await countOf('slow')) === 1, 5000, 'the first call to reach the upstream');
    await refusedWith(withKey(client, 'slow-1', { tag: 'slow', ms: 1500 }), IN_FLIGHT, /still running/);
    const first = await running;
    assert.deepEqual(await withKey(client, 'slow-1', { tag: 'slow', ms: 1500 }), first);
    assert.equal(await countOf('slow'), 1);
  });

  test('keys are per caller: another key with the same idempotency key runs on its own', async () => {
    const other = await createKey(gw.app.services, operatorActor('test'), { orgId: gw.org.id, name: 'other-caller', scopes: ['*'] });
    const otherClient = await connect(gw.url, other.key);
    try {
      const mine = await withKey(client, 'shared-1', { tag: 'shared' });
      const theirs = await withKey(otherClient, 'shared-1', { tag: 'shared' });
      assert.deepEqual(JSON.parse(textOf(mine)), { tag: 'shared', n: 1 });
      assert.deepEqual(JSON.parse(textOf(theirs)), { tag: 'shared', n: 2 });
      assert.deepEqual(await withKey(otherClient, 'shared-1', { tag: 'shared' }), theirs, 'and replays its own answer');
      assert.equal(await countOf('shared'), 2);
    } finally {
      await otherClient.close();
    }
  });

  test('the Idempotency-Key header works like _meta; a header and _meta that differ are refused', async () => {
    const headerClient = new Client({ name: 'header-client', version: '1.0.0' });
    await headerClient.connect(
      new StreamableHTTPClientTransport(new URL(gw.url), {
        requestInit: { headers: { Authorization: `Bearer ${gw.ownerKey}`, 'Idempotency-Key': 'header-1' } },
      }),
    );
    try {
      const first = await headerClient.callTool({ name: 'fx__counted', arguments: { tag: 'header' } });
      assert.deepEqual(await headerClient.callTool({ name: 'fx__counted', arguments: { tag: 'header' } }), first);
      assert.equal(await countOf('header'), 1);
      const refused = await headerClient.callTool({ name: 'fx__counted', arguments: { tag: 'header' }, _meta: { [IDEMPOTENCY_META_KEY]: 'other' } }).then(
        () => assert.fail('accepted two different keys'),
        (e: unknown) => e,
      );
      assert.match(String(refused), /different idempotency keys/);
      assert.equal(await countOf('header'), 1);
    } finally {
      await headerClient.close();
    }
  });

  test('a malformed key is refused, not ignored', async () => {
    const refused = await withKey(client, 'has a space', { tag: 'bad' }).then(
      () => assert.fail('accepted a malformed key'),
      (e: unknown) => e,
    );
    assert.match(String(refused), /visible ASCII/);
    assert.equal(await countOf('bad'), 0);
  });

  test('an answer is kept for the retention (24 h by default), then the key is free and expired rows are purged', async () => {
    await withKey(client, 'expire-1', { tag: 'expire' });
    offset = DAY_MS - 60_000;
    await refusedWith(withKey(client, 'expire-1', { tag: 'expire-other' }), MISMATCH, /different request/);
    offset = DAY_MS + 60_000;
    const fresh = await withKey(client, 'expire-1', { tag: 'expire-other' });
    assert.deepEqual(JSON.parse(textOf(fresh)), { tag: 'expire-other', n: 1 });
    offset = 2 * DAY_MS + 120_000;
    assert.ok((await gw.app.services.store.idempotency.purgeExpiredIdempotencyKeys(new Date(Date.now() + offset).toISOString())) >= 1);
    offset = 0;
  });
});
