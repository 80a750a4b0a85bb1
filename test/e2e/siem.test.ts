/**
 * SIEM streaming end to end: a real gateway streams its audit chains to a real rsyslogd over TLS (RFC 5425, the test
 * reads the file rsyslog wrote), to a webhook receiver that checks every HMAC, and to an OTLP/HTTP logs receiver.
 * The sinks go down mid-stream while traffic continues, come back, and every record arrives (duplicates only with the
 * same seq and hash); the gateway restarted in between continues from its cursors; hostile text in records reaches
 * every sink as data.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { ChainVerifier } from '../../src/gateway/audit/chain.ts';
import { SD_ID } from '../../src/gateway/audit/sinks/format.ts';
import { createLogger } from '../../src/log.ts';
import type { SinkPosition } from '../../src/services/audit.ts';
import type { AuditRecord, Store } from '../../src/store/types.ts';
import { makeTestCa, receivedLines, startRsyslog, type Rsyslog, type TestCa } from '../fixtures/rsyslog.ts';
import { connect, freePort, rawPost, runCli, startGateway, waitFor, type Gateway } from './harness.ts';

const SECRET = 'siem-test-secret-' + 'x'.repeat(32);
const HOSTILE_TOOL = 'evil\r\n<13>1 2026-01-01T00:00:00Z forged - - - - {"seq":1,"hash":"0"}]"\\';
const HOSTILE_TEXT = '\u001b[31mred\u001b[0m\r\nInjected: yes\u0085\u009b2J {"decision":"allow"}';

/** What one receiver got: every delivery of every record, by chain and seq. */
class Received {
  readonly deliveries = new Map<string, AuditRecord[]>();
  badSignatures = 0;
  total = 0;

  add(r: AuditRecord): void {
    const key = `${r.orgId}:${String(r.seq)}`;
    const list = this.deliveries.get(key) ?? [];
    list.push(r);
    this.deliveries.set(key, list);
    this.total++;
  }

  has(chain: string, seq: number): boolean {
    return this.deliveries.has(`${chain}:${String(seq)}`);
  }
}

/** A webhook and an OTLP/HTTP logs receiver on one loopback port; `stop()` closes it as a receiver that went down. */
class HttpReceiver {
  readonly webhook = new Received();
  readonly otlp = new Received();
  readonly otlpHeaders: string[] = [];
  #server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      void this.#handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    // Every byte on the wire is printable ASCII: no control character, no raw non-ASCII text.
    assert.match(body, /^[\x20-\x7e]*$/);
    if (req.url === '/hook') {
      const timestamp = String(req.headers['x-gatehouse-timestamp'] ?? '');
      const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(`${timestamp}.${body}`).digest('hex')}`);
      const given = Buffer.from(String(req.headers['x-gatehouse-signature'] ?? ''));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        this.webhook.badSignatures++;
        res.writeHead(401).end();
        return;
      }
      const parsed = JSON.parse(body) as { chain: string; records: AuditRecord[] };
      const first = parsed.records[0];
      const last = parsed.records.at(-1);
      assert.equal(req.headers['x-gatehouse-chain'], parsed.chain);
      assert.equal(req.headers['x-gatehouse-seq'], `${String(first?.seq)}-${String(last?.seq)}`);
      assert.equal(req.headers['x-gatehouse-hash'], last?.hash);
      for (const r of parsed.records) this.webhook.add(r);
      res.writeHead(204).end();
      return;
    }
    if (req.url === '/v1/logs') {
      this.otlpHeaders.push(req.headers.authorization ?? '');
      const parsed = JSON.parse(body) as {
        resourceLogs: { scopeLogs: { logRecords: { body: { stringValue: string }; attributes: { key: string; value: Record<string, string> }[] }[] }[] }[];
      };
      for (const rl of parsed.resourceLogs) {
        for (const sl of rl.scopeLogs) {
          for (const lr of sl.logRecords) {
            const r = JSON.parse(lr.body.stringValue) as AuditRecord;
            const seq = lr.attributes.find((a) => a.key === 'gatehouse.audit.seq')?.value.intValue;
            assert.equal(seq, String(r.seq));
            assert.equal(lr.attributes.find((a) => a.key === 'gatehouse.audit.hash')?.value.stringValue, r.hash);
            this.otlp.add(r);
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    res.writeHead(404).end();
  }
}

/** The records rsyslog wrote: MSG is the record's JSON; the structured data repeats its seq, chain and hash. */
function syslogReceived(r: Pick<Rsyslog, 'outFile'>): Received {
  const out = new Received();
  for (const line of receivedLines(r)) {
    const m = /^\[(\S+) (.*)\] (\{.*\})$/.exec(line);
    assert.ok(m, `an unexpected line from rsyslog: ${line.slice(0, 200)}`);
    assert.equal(m[1], SD_ID);
    const record = JSON.parse(m[3] ?? '') as AuditRecord;
    assert.match(m[2] ?? '', new RegExp(`^seq="${String(record.seq)}" chain="${record.orgId}" hash="${record.hash}" prevHash="${record.prevHash}"`));
    out.add(record);
  }
  return out;
}

async function storedChains(store: Store): Promise<Map<string, AuditRecord[]>> {
  const out = new Map<string, AuditRecord[]>();
  for (const chain of await store.listAuditChains()) out.set(chain, await store.listAudit(chain, 0, 100_000));
  return out;
}

/** Every stored record reached the receiver, every copy equal to the stored record, and nothing else arrived. */
function assertComplete(name: string, got: Received, stored: Map<string, AuditRecord[]>): void {
  let expected = 0;
  for (const [chain, records] of stored) {
    const verifier = new ChainVerifier();
    for (const r of records) {
      expected++;
      const copies = got.deliveries.get(`${chain}:${String(r.seq)}`);
      assert.ok(copies !== undefined, `${name}: record ${chain}:${String(r.seq)} never arrived`);
      for (const c of copies) assert.deepEqual(c, r, `${name}: a copy of ${chain}:${String(r.seq)} differs from the stored record`);
      verifier.push(copies[0] as AuditRecord);
    }
    // What the receiver holds verifies as a chain on its own: the same hash rule, from its own copies.
    assert.equal(verifier.result().ok, true, `${name}: ${chain} does not verify: ${verifier.result().firstBreak?.reason ?? ''}`);
  }
  assert.equal(got.deliveries.size, expected, `${name}: records arrived that the store does not hold`);
}

async function caughtUp(store: Store, receivers: Received[]): Promise<boolean> {
  for (const [chain, records] of await storedChains(store)) {
    for (const r of records) if (receivers.some((got) => !got.has(chain, r.seq))) return false;
  }
  return true;
}

describe('SIEM streaming', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-siem-'));
  let ca: TestCa;
  let rsyslog: Rsyslog;
  const http = new HttpReceiver();
  let gw: Gateway;
  let restarted: App | undefined;
  let env: Record<string, string>;

  /** Requests of every kind: allowed, refused, unauthenticated, and hostile text in what a record keeps. */
  async function traffic(url: string, key: string, n: number): Promise<void> {
    const client = await connect(url, key);
    for (let i = 0; i < n; i++) {
      await client.listTools();
      await assert.rejects(client.callTool({ name: HOSTILE_TOOL, arguments: { text: HOSTILE_TEXT } }));
      const refused = await rawPost(url, { jsonrpc: '2.0', id: i, method: 'tools/list' }, { authorization: 'Bearer gth_not_a_key' });
      assert.equal(refused.status, 401);
      await refused.body?.cancel();
    }
    await client.close();
  }

  before(async () => {
    ca = makeTestCa(dir);
    rsyslog = await startRsyslog(dir, ca, await freePort());
    await http.start();
    env = {
      GATEHOUSE_SIEM_SYSLOG_URL: `tls://127.0.0.1:${String(rsyslog.port)}`,
      GATEHOUSE_SIEM_SYSLOG_CA_FILE: ca.caFile,
      GATEHOUSE_SIEM_WEBHOOK_URL: `http://127.0.0.1:${String(http.port)}/hook`,
      GATEHOUSE_SIEM_WEBHOOK_SECRET: SECRET,
      GATEHOUSE_SIEM_OTLP_URL: `http://127.0.0.1:${String(http.port)}`,
      GATEHOUSE_SIEM_OTLP_HEADERS: 'Authorization=Bearer%20otlp-token',
      GATEHOUSE_SIEM_POLL_MS: '200',
      GATEHOUSE_SIEM_RETRY_MAX_MS: '500',
      GATEHOUSE_SIEM_BATCH_SIZE: '7',
    };
    gw = await startGateway(env);
  });

  after(async () => {
    await restarted?.close();
    await gw.close();
    await rsyslog.stop();
    await http.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every record reaches rsyslog over TLS, the signed webhook and OTLP, exactly as stored', async () => {
    await traffic(gw.url, gw.ownerKey, 5);
    const store = gw.app.services.store;
    await waitFor(() => caughtUp(store, [syslogReceived(rsyslog), http.webhook, http.otlp]), 20_000, 'every sink to catch up');
    const stored = await storedChains(store);
    assert.ok((stored.get('_system')?.length ?? 0) >= 5, 'the refused requests are in the system chain');
    assertComplete('syslog', syslogReceived(rsyslog), stored);
    assertComplete('webhook', http.webhook, stored);
    assertComplete('otlp', http.otlp, stored);
    assert.equal(http.webhook.badSignatures, 0);
    assert.ok(http.otlpHeaders.every((h) => h === 'Bearer otlp-token'));
    // The hostile text arrived, as data: the records that carry it equal the stored ones (above), and no line rsyslog
    // wrote holds a raw control character or a forged frame.
    const hostile = [...stored.values()].flat().filter((r) => r.args?.includes('Injected') === true || r.targetName?.includes('forged') === true);
    assert.ok(hostile.length >= 5, 'the hostile requests were recorded');
    // eslint-disable-next-line no-control-regex
    for (const line of receivedLines(rsyslog)) assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f]/);
    // In structured data, RFC 5424's escapes for '"', '\' and ']', and control characters replaced: the forged
    // header and JSON stay inside one quoted value.
    const forgedTarget = 'target="evil\uFFFD\uFFFD<13>1 2026-01-01T00:00:00Z forged - - - - {\\"seq\\":1,\\"hash\\":\\"0\\"}\\]\\"\\\\"';
    assert.ok(receivedLines(rsyslog).some((l) => l.includes(forgedTarget)), 'the hostile tool name is escaped in structured data');
    assert.equal(receivedLines(rsyslog).length, syslogReceived(rsyslog).total);
    assert.equal(gw.logs.some((l) => l.includes(SECRET) || l.includes('otlp-token')), false, 'no secret is logged');
    // A syslog batch counts as accepted once its connection has stayed up for the settle time: the lag falls to 0 then.
    await waitFor(() => (gw.app.siem?.status() ?? []).every((s) => s.lag === 0), 5000, 'every lag to fall to 0');
    const status = gw.app.siem?.status() ?? [];
    assert.deepEqual(status.map((s) => [s.sink, s.state, s.lag]), [['syslog', 'delivering', 0], ['webhook', 'delivering', 0], ['otlp', 'delivering', 0]]);
  });

  test('sinks that go down mid-stream catch up when they return: nothing lost, repeats only with the same seq', async () => {
    await rsyslog.stop();
    await http.stop();
    // Traffic goes on, and every request still succeeds and is recorded while no sink takes anything.
    await traffic(gw.url, gw.ownerKey, 4);
    await waitFor(() => (gw.app.siem?.status() ?? []).every((s) => s.state === 'retrying' && s.lag > 0), 10_000, 'every sink to be retrying with a lag');
    const position = JSON.parse((await runCli(gw, ['audit', 'sinks', '--json'])).stdout) as SinkPosition[];
    assert.deepEqual(position.map((p) => p.sink), ['syslog', 'webhook', 'otlp']);
    assert.ok(position.every((p) => p.configured && p.lag > 0), 'the CLI shows the lag');

    rsyslog = await startRsyslog(dir, ca, rsyslog.port);
    await http.start(http.port);
    await traffic(gw.url, gw.ownerKey, 2);
    const store = gw.app.services.store;
    await waitFor(() => caughtUp(store, [syslogReceived(rsyslog), http.webhook, http.otlp]), 30_000, 'every sink to catch up');
    const stored = await storedChains(store);
    assertComplete('syslog', syslogReceived(rsyslog), stored);
    assertComplete('webhook', http.webhook, stored);
    assertComplete('otlp', http.otlp, stored);
    assert.ok(gw.logs.some((l) => l.includes('SIEM delivery failed; retrying')));
  });

  test('a restarted gateway continues from its cursors, and records written while it was down follow', async () => {
    const store = gw.app.services.store;
    const webhookIdle = () => gw.app.siem?.status().find((s) => s.sink === 'webhook')?.lag === 0;
    await waitFor(async () => webhookIdle() && (await caughtUp(store, [http.webhook])), 10_000, 'the webhook to be caught up');
    await gw.close();
    const before = http.webhook.total;
    const beforeKeys = http.webhook.deliveries.size;
    // Written while no server runs: the CLI's own records of what it changed.
    const created = await runCli(gw, ['orgs', 'create', 'siem-second', '--name', 'Second']);
    assert.equal(created.code, 0, created.stderr);
    const config = loadConfig({ ...gw.env, GATEHOUSE_PORT: '0' });
    restarted = await createApp(config, createLogger({ ...config, logLevel: 'warn' }));
    const url = await restarted.listen();
    await traffic(url, gw.ownerKey, 2);
    const restartedStore = restarted.services.store;
    await waitFor(() => caughtUp(restartedStore, [syslogReceived(rsyslog), http.webhook, http.otlp]), 20_000, 'every sink to catch up after the restart');
    const stored = await storedChains(restartedStore);
    assertComplete('webhook', http.webhook, stored);
    assertComplete('otlp', http.otlp, stored);
    assertComplete('syslog', syslogReceived(rsyslog), stored);
    // The webhook acknowledges each batch, so after the restart it got only what came after its cursor: not the
    // chains again from their first record.
    const afterRestart = http.webhook.total - before;
    const total = [...stored.values()].reduce((n, rs) => n + rs.length, 0);
    assert.ok(total > beforeKeys);
    assert.equal(afterRestart, total - beforeKeys);
    const cli = JSON.parse((await runCli(gw, ['audit', 'sinks', '--json'])).stdout) as SinkPosition[];
    assert.deepEqual(cli.map((p) => [p.sink, p.lag]), [['syslog', 0], ['webhook', 0], ['otlp', 0]]);
  });
});
