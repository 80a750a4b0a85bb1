// Connectors, audit and organisations through the admin API, the served OpenAPI document, request hygiene, and
// the CLI commands that share the same services.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminRoutes } from '../../src/admin/api.ts';
import { auditRecordView } from '../../src/admin/audit.ts';
import { connectorView } from '../../src/admin/connectors.ts';
import { buildOpenApi } from '../../src/admin/openapi.ts';
import { VERSION } from '../../src/app.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { freePort, runCli, startGateway, type Gateway } from './harness.ts';

const SECRET = 'upstream-secret-7f3a9c1e5b';
const OTHER_SECRET = 'api-key-secret-2d8e4b6a0c';

describe('admin API: connectors, audit, organisations', () => {
  let gw: Gateway;
  let org: TestOrg;
  let deadUrl: string;

  before(async () => {
    gw = await startGateway();
    org = await makeOrg(gw, 'res');
    deadUrl = `http://127.0.0.1:${String(await freePort())}/mcp`;
  });
  after(async () => {
    await gw.close();
  });

  test('connector secrets are write-only: never in an answer, a list, the audit log or the logs', async () => {
    const created = await api(gw, org.people.admin.key, 'POST', '/connectors', {
      type: 'http',
      name: 'crm',
      url: deadUrl,
      headers: [
        { name: 'Authorization', value: `Bearer ${SECRET}`, secret: true },
        { name: 'X-Api-Key', value: OTHER_SECRET },
        { name: 'X-Tenant', value: 'res' },
      ],
    });
    assert.equal(created.status, 201, created.text);
    const view = connectorView.parse(created.body);
    assert.deepEqual(view.headers, [
      { name: 'Authorization', secret: true },
      { name: 'X-Api-Key', secret: true },
      { name: 'X-Tenant', secret: false, value: 'res' },
    ]);
    const patched = await api(gw, org.people.admin.key, 'PATCH', `/connectors/${view.id}`, { headers: [{ name: 'Authorization', value: `Bearer ${SECRET}-2`, secret: true }] });
    assert.equal(patched.status, 200, patched.text);
    const answers = [
      created.text,
      patched.text,
      (await api(gw, org.people.viewer.key, 'GET', `/connectors/${view.id}`)).text,
      (await api(gw, org.people.member.key, 'GET', '/connectors')).text,
      (await api(gw, org.ownerKey, 'GET', '/audit?limit=1000')).text,
      (await api(gw, org.ownerKey, 'GET', '/audit/export')).text,
      gw.logs.join('\n'),
    ];
    for (const text of answers) {
      assert.ok(!text.includes(SECRET) && !text.includes(OTHER_SECRET), text.slice(0, 200));
    }
    const renamed = await api(gw, org.people.admin.key, 'PATCH', `/connectors/${view.id}`, { name: 'crm2', url: deadUrl });
    assert.equal((renamed.body as { name: string }).name, 'crm2');
    assert.equal((await api(gw, org.people.admin.key, 'PATCH', `/connectors/${view.id}`, { command: '/bin/sh' })).status, 403, 'no stdio fields');
    assert.equal((await api(gw, org.people.admin.key, 'POST', '/connectors', { type: 'http', name: 'Bad_Name', url: deadUrl })).status, 400);
    assert.equal((await api(gw, org.people.admin.key, 'POST', '/connectors', { type: 'http', name: 'crm2', url: deadUrl })).status, 409);
    assert.equal((await api(gw, org.people.admin.key, 'POST', '/connectors', { type: 'ftp', name: 'x', url: deadUrl })).status, 400);
    assert.equal((await api(gw, org.people.admin.key, 'DELETE', `/connectors/${view.id}`)).status, 204);
    assert.equal((await api(gw, org.people.admin.key, 'GET', `/connectors/${view.id}`)).status, 404);
  });

  test('audit: list with filters and paging, one record by hash, NDJSON export, verification', async () => {
    const page1 = await api(gw, org.people.viewer.key, 'GET', '/audit?limit=2');
    const p1 = page1.body as { records: unknown[]; nextAfter: number };
    assert.equal(p1.records.length, 2);
    const records = p1.records.map((r) => auditRecordView.parse(r));
    const page2 = (await api(gw, org.people.viewer.key, 'GET', `/audit?limit=2&after=${String(p1.nextAfter)}`)).body as { records: { seq: number }[] };
    assert.equal(page2.records[0]?.seq, (records[1]?.seq ?? 0) + 1);

    const keys = (await api(gw, org.ownerKey, 'GET', '/audit?action=key.*&limit=1000')).body as { records: { action: string }[] };
    assert.ok(keys.records.length >= 4 && keys.records.every((r) => r.action.startsWith('key.')));
    const denied = (await api(gw, org.ownerKey, 'GET', '/audit?decision=deny&limit=1000')).body as { records: { decision: string }[] };
    assert.ok(denied.records.every((r) => r.decision === 'deny'));
    const viewerOnly = (await api(gw, org.ownerKey, 'GET', `/audit?actorKeyId=${org.people.viewer.keyId}`)).body as { records: { actorKeyId: string }[] };
    assert.ok(viewerOnly.records.length > 0 && viewerOnly.records.every((r) => r.actorKeyId === org.people.viewer.keyId));
    const future = (await api(gw, org.ownerKey, 'GET', `/audit?since=${new Date(Date.now() + 60_000).toISOString()}`)).body as { records: unknown[] };
    assert.deepEqual(future.records, []);

    const first = records[0]!;
    const one = await api(gw, org.ownerKey, 'GET', `/audit/${first.hash}`);
    assert.deepEqual(one.body, first);

    const exported = await api(gw, org.people.admin.key, 'GET', '/audit/export');
    assert.equal(exported.status, 200);
    assert.equal(exported.headers.get('content-type'), 'application/x-ndjson');
    // Checkpoint lines travel among the records (README "Audit"); the records are the whole chain.
    const lines = exported.text.trimEnd().split('\n').filter((l) => !l.startsWith('{"type":')).map((l) => auditRecordView.parse(JSON.parse(l)));
    assert.deepEqual(lines.map((r) => r.seq), lines.map((_, i) => i + 1), 'the whole chain, in order');

    const verify = (await api(gw, org.people.viewer.key, 'GET', '/audit/verify')).body as { chain: string; ok: boolean; verified: number };
    assert.equal(verify.chain, org.id);
    assert.equal(verify.ok, true);
    assert.ok(verify.verified >= lines.length);

    for (const bad of ['/audit?limit=0', '/audit?limit=abc', '/audit?since=yesterday', '/audit?org=other', '/audit?decision=maybe']) {
      assert.equal((await api(gw, org.ownerKey, 'GET', bad)).status, 400, bad);
    }
    assert.equal((await api(gw, org.people.member.key, 'GET', '/audit/export')).status, 403);
  });

  test('the served OpenAPI document is the one generated from the routes', async () => {
    const res = await api(gw, org.people.viewer.key, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, JSON.parse(JSON.stringify(buildOpenApi(adminRoutes(), VERSION))));
    assert.equal((await api(gw, undefined, 'GET', '/openapi.json')).status, 401);
  });

  test('request hygiene: malformed JSON 400, wrong media type 415, unknown path 404, wrong method 405', async () => {
    assert.equal((await api(gw, org.ownerKey, 'POST', '/members', '{"email": ')).status, 400);
    const res = await fetch(gw.url.replace(/\/mcp$/, '/api/v1/members'), {
      method: 'POST',
      headers: { authorization: `Bearer ${org.ownerKey}`, 'content-type': 'text/plain' },
      body: 'email=x',
    });
    assert.equal(res.status, 415);
    assert.equal((await api(gw, org.ownerKey, 'GET', '/nothing/here')).status, 404);
    const put = await api(gw, org.ownerKey, 'PUT', '/keys');
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, POST');
    const foreign = await fetch(gw.url.replace(/\/mcp$/, '/api/v1/me'), { headers: { authorization: `Bearer ${org.ownerKey}`, origin: 'https://evil.example' } });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  });

  test('an owner renames and deletes its organisation: its keys stop working, its audit chain stays', async () => {
    const doomed = await makeOrg(gw, 'doomed');
    assert.equal((await api(gw, doomed.people.admin.key, 'PATCH', `/organisations/${doomed.id}`, { name: 'New' })).status, 403);
    const renamed = await api(gw, doomed.people.owner.key, 'PATCH', `/organisations/${doomed.id}`, { name: 'Doomed Ltd' });
    assert.equal((renamed.body as { name: string }).name, 'Doomed Ltd');
    assert.equal((await api(gw, doomed.people.owner.key, 'DELETE', `/organisations/${doomed.id}`)).status, 204);
    for (const key of [doomed.ownerKey, doomed.people.owner.key, doomed.people.viewer.key]) {
      assert.equal((await api(gw, key, 'GET', '/me')).status, 401);
    }
    const chain = await gw.app.services.store.listAudit(doomed.id, 0, 10_000);
    const deletion = chain.find((r) => r.action === 'org.delete');
    assert.equal(deletion?.actorUser, doomed.people.owner.userId);
    assert.ok(chain.slice(chain.indexOf(deletion) + 1).every((r) => r.action === 'auth.failed'), 'after it, only refused keys');
    assert.equal((await api(gw, org.ownerKey, 'GET', '/me')).status, 200, 'other organisations carry on');
  });

  test('the CLI creates organisations and members and rotates keys through the same services', async () => {
    const created = await runCli(gw, ['orgs', 'create', 'cli-org', '--name', 'CLI Org', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const { id, ownerKey } = JSON.parse(created.stdout) as { id: string; ownerKey: string };
    const me = (await api(gw, ownerKey, 'GET', '/me')).body as { orgId: string; role: string };
    assert.deepEqual([me.orgId, me.role], [id, 'owner']);
    const added = await runCli(gw, ['members', 'add', 'eve@cli.example', '--role', 'admin', '--org', 'cli-org']);
    assert.equal(added.code, 0, added.stderr);
    const members = (await api(gw, ownerKey, 'GET', '/members')).body as { members: { email: string; role: string }[] };
    assert.deepEqual(members.members.map((m) => [m.email, m.role]), [['eve@cli.example', 'admin']]);
    const key = await runCli(gw, ['keys', 'create', '--name', 'eve', '--role', 'admin', '--user', 'eve@cli.example', '--org', 'cli-org', '--json']);
    const { key: eveKey, id: eveKeyId } = JSON.parse(key.stdout) as { key: string; id: string };
    assert.equal(((await api(gw, eveKey, 'GET', '/me')).body as { userId: string | null }).userId !== null, true);
    const rotated = await runCli(gw, ['keys', 'rotate', eveKeyId, '--org', 'cli-org', '--json']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal((await api(gw, eveKey, 'GET', '/me')).status, 401);
    assert.equal((await api(gw, (JSON.parse(rotated.stdout) as { key: string }).key, 'GET', '/me')).status, 200);
    const usage = await runCli(gw, ['orgs', 'explode']);
    assert.equal(usage.code, 2);
  });
});
