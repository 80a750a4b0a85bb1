// The permission table against a live gateway: every admin-API route, for every role, is allowed or refused with
// 403 exactly as the table says; without a key every route is 401; and every refusal is in the audit log with the
// actor, the client address and the target.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminRoutes } from '../../src/admin/api.ts';
import { isAction, isAllowed } from '../../src/gateway/access/permissions.ts';
import { api, makeOrg, ROLE_NAMES, type TestOrg } from './admin-client.ts';
import { startGateway, type Gateway } from './harness.ts';

const routes = adminRoutes();
/** Ids that exist nowhere, so an allowed request ends in 400 or 404 and changes nothing. */
const NOWHERE: Record<string, string> = { id: 'key_doesNotExist000', userId: 'usr_doesNotExist000', orgId: 'org_doesNotExist000', hash: 'f'.repeat(64) };

function concretePath(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => NOWHERE[name] ?? 'x');
}

describe('admin API: route x role', () => {
  let gw: Gateway;
  let org: TestOrg;

  before(async () => {
    gw = await startGateway();
    org = await makeOrg(gw, 'matrix');
  });
  after(async () => {
    await gw.close();
  });

  test('every route declares an action that is in the permission table', () => {
    assert.ok(routes.length >= 20);
    for (const r of routes) assert.ok(isAction(r.action), `${r.method} ${r.path}: ${r.action}`);
  });

  for (const route of routes) {
    test(`${route.method} ${route.path} (${route.action}): 403 exactly for the roles the table refuses`, async () => {
      const body = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH' ? {} : undefined;
      for (const role of ROLE_NAMES) {
        const res = await api(gw, org.people[role].key, route.method, concretePath(route.path), body);
        if (route.action === 'audit.export' && role === 'viewer') {
          // The table lets viewers ask; their organisation's grant decides (off by default: README "Audit").
          assert.equal(res.status, 403, `${role}: ${res.text}`);
          assert.match(res.text, /unless an owner grants it to viewers/);
        } else if (isAllowed(role, route.action)) {
          assert.notEqual(res.status, 403, `${role}: ${res.text}`);
          assert.ok([200, 201, 204, 400, 404].includes(res.status), `${role}: ${String(res.status)} ${res.text}`);
        } else {
          assert.equal(res.status, 403, `${role}: ${res.text}`);
          assert.deepEqual(res.body, { error: { code: 'forbidden', message: `Your role (${role}) does not allow ${route.action}` } });
        }
      }
      const anonymous = await api(gw, undefined, route.method, concretePath(route.path), body);
      assert.equal(anonymous.status, 401);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer /);
    });
  }

  test('the organisation still has its members and keys: allowed requests above touched nothing', async () => {
    const members = await api(gw, org.people.owner.key, 'GET', '/members');
    assert.equal((members.body as { members: unknown[] }).members.length, 4);
  });

  test('a refusal is audited with the actor, the client address, the action and the target', async () => {
    const res = await api(gw, org.people.viewer.key, 'DELETE', '/connectors/con_someone');
    assert.equal(res.status, 403);
    const correlationId = res.headers.get('x-correlation-id');
    const records = await gw.app.services.store.listAudit(org.id, 0, 10_000);
    const record = records.find((r) => r.correlationId === correlationId);
    assert.ok(record !== undefined);
    assert.equal(record.action, 'connector.delete');
    assert.equal(record.decision, 'deny');
    assert.equal(record.reason, 'forbidden');
    assert.equal(record.actorKeyId, org.people.viewer.keyId);
    assert.equal(record.actorUser, org.people.viewer.userId);
    assert.equal(record.clientIp, '127.0.0.1');
    assert.equal(record.targetName, 'con_someone');
  });

  test('an allowed read and an allowed change are each audited once', async () => {
    const read = await api(gw, org.people.admin.key, 'GET', '/members');
    const change = await api(gw, org.people.admin.key, 'POST', '/members', { email: 'new@matrix.example', role: 'viewer' });
    assert.equal(change.status, 201);
    const records = await gw.app.services.store.listAudit(org.id, 0, 10_000);
    const of = (r: { headers: Headers }) => records.filter((x) => x.correlationId === r.headers.get('x-correlation-id'));
    assert.deepEqual(of(read).map((r) => [r.action, r.decision, r.clientIp]), [['member.read', 'allow', '127.0.0.1']]);
    assert.deepEqual(of(change).map((r) => [r.action, r.decision, r.actorUser]), [['member.add', 'allow', org.people.admin.userId]]);
  });

  test('an API key never gets the operator-only abilities, whatever its role', async () => {
    const create = await api(gw, org.ownerKey, 'POST', '/organisations', { slug: 'mine', name: 'Mine' });
    assert.equal(create.status, 403);
    const stdio = await api(gw, org.ownerKey, 'POST', '/connectors', { type: 'stdio', name: 'shell', command: '/bin/sh', args: ['-c', 'id'] });
    assert.equal(stdio.status, 403);
    assert.match(stdio.text, /connector\.manage_stdio/);
    const listed = await api(gw, org.ownerKey, 'GET', '/organisations');
    assert.deepEqual((listed.body as { organisations: { id: string }[] }).organisations.map((o) => o.id), [org.id]);
  });
});
