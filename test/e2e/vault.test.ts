/**
 * The vault end to end with its PKCS#11 provider on a SoftHSM2 token of the test's own: a connector's secret header
 * reaches the upstream through the gateway, keeps working while `vault rotate-kek` and `vault rotate-dek` run (real
 * CLI processes) beside calls in flight, and each opening of it is audited without its value. A token that stops
 * answering (its PIN changed under the gateway) fails the call with credential_unavailable, and nothing is sent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type * as Pkcs11Module from 'pkcs11js';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createSoftHsm, type SoftHsm } from '../support/softhsm.ts';
import { addAndConnect, connect, FIXTURE, freePort, httpConnector, NODE, runCli, startGateway, stop, waitFor, type Gateway } from './harness.ts';

const hsm: SoftHsm = createSoftHsm(['gatehouse-e2e']);
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function startFixtureOn(port: number): Promise<ChildProcess> {
  const child = spawn(NODE, [FIXTURE, '--http', '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (/^LISTENING /m.test(text)) resolve(child);
    });
    child.on('exit', (code) => {
      reject(new Error(`fixture exited with ${code ?? 'signal'}`));
    });
  });
}

async function tokenDigest(client: Client): Promise<string | undefined> {
  const r = (await client.callTool({ name: 'hx__credential_check', arguments: {} })) as CallToolResult;
  const first = r.content[0];
  assert.ok(first?.type === 'text');
  return (JSON.parse(first.text) as Record<string, { sha256?: string }>).header_x_fixture_token?.sha256;
}

/** Whether the token holds a secret key with CKA_ID `id` (a KEK version: `v1`, `v2`), looked at from this process. */
function tokenHolds(id: string): boolean {
  const m = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11Module;
  const p = new m.PKCS11();
  p.load(hsm.library);
  try {
    p.C_Initialize();
  } catch (err) {
    if (!(err instanceof m.Pkcs11Error && err.code === m.CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw err;
  }
  const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === hsm.tokenLabel);
  assert.ok(slot !== undefined);
  const session = p.C_OpenSession(slot, m.CKF_SERIAL_SESSION);
  try {
    p.C_Login(session, m.CKU_USER, hsm.pin);
    p.C_FindObjectsInit(session, [{ type: m.CKA_CLASS, value: m.CKO_SECRET_KEY }, { type: m.CKA_ID, value: Buffer.from(id) }]);
    const found = p.C_FindObjects(session) ?? undefined;
    p.C_FindObjectsFinal(session);
    p.C_Logout(session);
    return found !== undefined;
  } finally {
    p.C_CloseSession(session);
  }
}

/** Changes the token's user PIN from this process (the gateway runs in it too, on the same library instance). */
function changePin(oldPin: string, newPin: string): void {
  const m = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11Module;
  const p = new m.PKCS11();
  p.load(hsm.library);
  try {
    p.C_Initialize();
  } catch (err) {
    if (!(err instanceof m.Pkcs11Error && err.code === m.CKR_CRYPTOKI_ALREADY_INITIALIZED)) throw err;
  }
  const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === hsm.tokenLabel);
  assert.ok(slot !== undefined);
  const session = p.C_OpenSession(slot, m.CKF_SERIAL_SESSION | m.CKF_RW_SESSION);
  try {
    p.C_Login(session, m.CKU_USER, oldPin);
    p.C_SetPIN(session, oldPin, newPin);
    p.C_Logout(session);
  } finally {
    p.C_CloseSession(session);
  }
}

describe('vault with a PKCS#11 token (SoftHSM2)', () => {
  let gw: Gateway;
  let port: number;
  let upstream: ChildProcess | undefined;
  let client: Client;
  let listener: Server | undefined;
  const secret = `tok-${randomBytes(24).toString('base64url')}`;

  before(async () => {
    gw = await startGateway({ ...hsm.env, GATEHOUSE_VAULT_KEY_CACHE_SECONDS: '1' });
    port = await freePort();
    upstream = await startFixtureOn(port);
    await addAndConnect(gw, httpConnector('hx', `http://127.0.0.1:${port}/mcp`, [{ name: 'X-Fixture-Token', value: secret, secret: true }]));
    client = await connect(gw.url, gw.ownerKey);
  });
  after(async () => {
    await client.close().catch(() => undefined);
    await gw.close();
    if (upstream !== undefined) await stop(upstream);
    await new Promise<void>((resolve) => {
      if (listener === undefined) resolve();
      else listener.close(() => { resolve(); });
    });
    hsm.cleanup();
  });

  test('the secret reaches the upstream; its opening is audited by name, never by value', async () => {
    assert.equal(await tokenDigest(client), sha256(secret));
    const stored = await gw.app.services.store.getConnectorByName(gw.org.id, 'hx');
    const sealed = stored?.transport.type === 'http' ? stored.transport.headers[0] : undefined;
    assert.ok(sealed?.secret === true && /^v2\.1\./.test(sealed.ciphertext));
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    const opened = records.find((r) => r.action === 'vault.credential_open' && r.targetConnector === 'hx' && r.decision === 'allow');
    assert.ok(opened !== undefined);
    assert.equal(opened.actorUser, 'system:connection');
    assert.match(opened.detail ?? '', /X-Fixture-Token/);
    for (const r of records) assert.ok(!JSON.stringify(r).includes(secret));
    assert.ok(!gw.logs.some((l) => l.includes(secret)));
  });

  test('rotate-kek and rotate-dek run beside calls in flight; every call keeps its credential', async () => {
    const calling = { stop: false };
    const failures: unknown[] = [];
    let calls = 0;
    const caller = (async () => {
      while (!calling.stop) {
        try {
          assert.equal(await tokenDigest(client), sha256(secret));
          calls++;
        } catch (err) {
          failures.push(err);
        }
      }
    })();
    const kek = await runCli(gw, ['vault', 'rotate-kek']);
    assert.equal(kek.code, 0, kek.stderr);
    assert.match(kek.stdout, /re-wrapped under KEK v2/);
    const dek = await runCli(gw, ['vault', 'rotate-dek', '--org', 'default']);
    assert.equal(dek.code, 0, dek.stderr);
    assert.match(dek.stdout, /sealed under data key v2 \(1 resealed/);
    await new Promise((r) => setTimeout(r, 1500)); // the data key cache ages out: the token is asked again
    calling.stop = true;
    await caller;
    assert.deepEqual(failures, []);
    assert.ok(calls > 0);
    const status = await runCli(gw, ['vault', 'status']);
    assert.match(status.stdout, /KEK version\s+2/);
    assert.match(status.stdout, /default\s+v2\s+active\s+v2\s+1/);
    assert.ok(!status.stdout.includes(secret) && !kek.stdout.includes(secret) && !dek.stdout.includes(secret));
    // A reconnect opens the resealed record (adopted without reconnecting) under the new data key, from the token.
    if (upstream !== undefined) await stop(upstream);
    upstream = await startFixtureOn(port);
    await waitFor(async () => (await tokenDigest(client).catch(() => undefined)) === sha256(secret), 15_000, 'the call after the reconnect');
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    assert.ok(records.some((r) => r.action === 'vault.rotate_kek'));
    assert.ok(records.some((r) => r.action === 'vault.rotate_dek'));
    assert.ok(records.filter((r) => r.action === 'vault.credential_open' && r.decision === 'allow').some((r) => /"dataKey":2/.test(r.detail ?? '')));
  });

  test('destroy-kek removes the old KEK from the token once nothing is wrapped under it; calls keep their credential', async () => {
    assert.deepEqual([tokenHolds('v1'), tokenHolds('v2')], [true, true]);
    const usage = await runCli(gw, ['vault', 'destroy-kek']);
    assert.equal(usage.code, 2, usage.stderr);
    assert.equal((await runCli(gw, ['vault', 'destroy-kek', '--version', 'one'])).code, 2);
    const current = await runCli(gw, ['vault', 'destroy-kek', '--version', '2']);
    assert.equal(current.code, 1);
    assert.match(current.stderr, /KEK version 2 is the current version/);
    const missing = await runCli(gw, ['vault', 'destroy-kek', '--version', '3']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no key-encryption key version 3/);
    const destroyed = await runCli(gw, ['vault', 'destroy-kek', '--version', '1']);
    assert.equal(destroyed.code, 0, destroyed.stderr);
    assert.match(destroyed.stdout, /KEK v1 destroyed: the vault never uses it again/);
    assert.deepEqual([tokenHolds('v1'), tokenHolds('v2')], [false, true], 'the token object of v1 is gone, v2 stays');
    const again = await runCli(gw, ['vault', 'destroy-kek', '--version', '1', '--json']);
    assert.deepEqual(JSON.parse(again.stdout), { version: 1, already: true });
    assert.match((await runCli(gw, ['vault', 'status'])).stdout, /^destroyed\s+v1$/m);
    assert.deepEqual((JSON.parse((await runCli(gw, ['vault', 'status', '--json'])).stdout) as { destroyedKeks: number[] }).destroyedKeks, [1]);
    await new Promise((r) => setTimeout(r, 1500)); // the data key cache ages out: the token (KEK v2) is asked again
    assert.equal(await tokenDigest(client), sha256(secret));
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    const audited = records.filter((r) => r.action === 'vault.destroy_kek' && r.decision === 'allow');
    assert.equal(audited.length, 2);
    assert.equal(audited[0]?.targetName, 'kek/v1');
  });

  test('a token that no longer answers (PIN changed) fails the call with credential_unavailable; nothing is sent', async () => {
    changePin(hsm.pin, `${hsm.pin}-changed`);
    await new Promise((r) => setTimeout(r, 1500));
    if (upstream !== undefined) await stop(upstream);
    upstream = undefined;
    const refused = (err: Error & { code?: number }) => err.code === -32060 && /credential 'X-Fixture-Token' of connector 'hx' cannot be opened/.test(err.message) && !err.message.includes(secret);
    // The open connection learns that its upstream went away from the next call, and reconnects: for that it must
    // open the credential again, from the token, which now refuses.
    await waitFor(
      async () => {
        await client.callTool({ name: 'hx__credential_check', arguments: {} }).catch(() => undefined);
        return gw.logs.some((l) => l.includes('a credential cannot be opened'));
      },
      20_000,
      'the reconnect refused for its credential',
    );
    // Whatever listens where the upstream was, from now on, counts what reaches it, and what reaches it without the credential.
    let received = 0;
    let withoutCredential = 0;
    listener = createServer((req, res) => {
      received++;
      if (req.headers['x-fixture-token'] !== secret) withoutCredential++;
      res.statusCode = 500;
      res.end();
    });
    await new Promise<void>((resolve) => listener?.listen(port, '127.0.0.1', () => { resolve(); }));
    await assert.rejects(client.callTool({ name: 'hx__credential_check', arguments: {} }), refused);
    // The connection keeps retrying (backoff) and is refused before connecting each time.
    await new Promise((r) => setTimeout(r, 1500));
    await assert.rejects(client.callTool({ name: 'hx__credential_check', arguments: {} }), refused);
    assert.equal(received, 0, 'a call whose credential cannot be opened is not sent');
    assert.equal(withoutCredential, 0);
    const records = await gw.app.services.store.listAudit(gw.org.id, 0, 10_000);
    assert.ok(records.some((r) => r.action === 'vault.credential_open' && r.decision === 'error' && r.reason === 'credential_unavailable'));
    assert.ok(records.some((r) => r.action === 'mcp.tools/call' && r.reason === 'credential_unavailable'));
    assert.ok(!gw.logs.some((l) => l.includes(hsm.pin)));
  });
});
