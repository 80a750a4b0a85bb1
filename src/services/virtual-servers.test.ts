import assert from 'node:assert/strict';
import { createEgress } from '../egress/egress.ts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { GatehouseError } from '../errors.ts';
import { createAuditLog } from '../gateway/audit/audit-log.ts';
import { pepperKey } from '../gateway/authn/api-key-format.ts';
import { SqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { Organisation } from '../store/types.ts';
import { SecretBox } from '../vault/secret-box.ts';
import { testVault } from '../vault/test-vault.ts';
import { operatorActor, type Actor, type ServiceContext } from './context.ts';
import { createKey, revokeKey } from './keys.ts';
import {
  createVirtualServer,
  getVirtualServer,
  listVirtualServers,
  removeVirtualServer,
  updateVirtualServer,
  type NewVirtualServer,
} from './virtual-servers.ts';

const actor = operatorActor('test');
/** An API key's actor in organisation A with `role`, restricted to `servers` (null: unrestricted). */
const keyActor = (role: Actor['role'], servers: readonly string[] | null = null): Actor => ({
  ...operatorActor('key'), via: 'api_key', role, orgId: 'org_a', keyId: `key_${role}`, servers,
});
const orgA: Organisation = { id: 'org_a', slug: 'acme', name: 'Acme', createdAt: '2026-01-01T00:00:00.000Z', deletedAt: null };
const orgB: Organisation = { id: 'org_b', slug: 'globex', name: 'Globex', createdAt: '2026-01-01T00:00:00.000Z', deletedAt: null };

function refusedWith(code: GatehouseError['code'], message: RegExp) {
  return (err: unknown) => err instanceof GatehouseError && err.code === code && message.test(err.message);
}

describe('virtual server service', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-vs-'));
  const store = SqliteStore.openInDataDir(dir);
  const ctx: ServiceContext = {
    store,
    audit: createAuditLog({ store, log: pino({ level: 'silent' }) }),
    pepper: pepperKey(randomBytes(32)),
    box: new SecretBox(randomBytes(32)),
    vault: testVault(store),
    egress: createEgress({ allowPlainHttp: false, allowCidrs: [] }),
  };

  before(async () => {
    await store.migrate();
    await store.createOrganisation(orgA);
    await store.createOrganisation(orgB);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('creates with defaults, deduplicates patterns and audits the change', async () => {
    const server = await createVirtualServer(ctx, actor, { orgId: orgA.id, name: 'docs', tools: ['files/read_*', 'files/read_*', 'github'] });
    assert.match(server.id, /^vs_/);
    assert.deepEqual(
      { ...server, id: '', createdAt: '', updatedAt: '' },
      { id: '', orgId: orgA.id, name: 'docs', description: '', tools: ['files/read_*', 'github'], prompts: [], resources: [], unprefixed: false, createdAt: '', updatedAt: '' },
    );
    const [event] = (await store.listAudit(orgA.id, 0, 100)).filter((r) => r.action === 'virtual_server.create');
    assert.equal(event?.targetName, 'docs');
    assert.equal(event.actorUser, 'test');
    assert.deepEqual(JSON.parse(event.args ?? ''), { id: server.id, description: '', tools: server.tools, prompts: [], resources: [], unprefixed: false });
  });

  test('refuses bad names, bad patterns, unknown fields, an empty selection and a taken name', async () => {
    const cases: [NewVirtualServer, GatehouseError['code'], RegExp][] = [
      [{ orgId: orgA.id, name: 'Bad_Name', tools: ['*'] }, 'bad_request', /Virtual server name must be/],
      [{ orgId: orgA.id, name: 'x', tools: ['GitHub/issues'] }, 'bad_request', /Invalid tools pattern 'GitHub\/issues': 'GitHub' is not a valid connector name/],
      [{ orgId: orgA.id, name: 'x', prompts: ['github/a*b'] }, 'bad_request', /Invalid prompts pattern 'github\/a\*b'/],
      [{ orgId: orgA.id, name: 'x', resources: ['github/readme'] }, 'bad_request', /Invalid resources entry 'github\/readme'/],
      [{ orgId: orgA.id, name: 'x', tools: ['*'], description: 'two\nlines' }, 'bad_request', /control characters/],
      [{ orgId: orgA.id, name: 'x' }, 'bad_request', /must select something/],
      [{ orgId: orgA.id, name: 'x', tools: [], prompts: [], resources: [] }, 'bad_request', /must select something/],
      [{ orgId: orgA.id, name: 'x', tools: ['*'], tool: ['*'] } as NewVirtualServer, 'bad_request', /Unknown field 'tool'/],
      [{ orgId: orgA.id, name: 'x', tools: 'github' } as unknown as NewVirtualServer, 'bad_request', /Invalid virtual server tools/],
      [{ orgId: orgA.id, name: 'docs', tools: ['*'] }, 'conflict', /A virtual server named 'docs' already exists/],
    ];
    for (const [input, code, message] of cases) {
      await assert.rejects(createVirtualServer(ctx, actor, input), refusedWith(code, message), JSON.stringify(input));
    }
    assert.deepEqual((await listVirtualServers(ctx, actor, orgA.id)).map((s) => s.name), ['docs']);
  });

  test('the same name in another organisation is another server, and no organisation reaches into another', async () => {
    await createVirtualServer(ctx, actor, { orgId: orgB.id, name: 'docs', resources: ['*'] });
    assert.deepEqual((await getVirtualServer(ctx, actor, orgB.id, 'docs'))?.resources, ['*']);
    assert.deepEqual((await getVirtualServer(ctx, actor, orgA.id, 'docs'))?.resources, []);
    await createVirtualServer(ctx, actor, { orgId: orgA.id, name: 'only-a', prompts: ['*'] });
    assert.equal(await getVirtualServer(ctx, actor, orgB.id, 'only-a'), undefined);
    await assert.rejects(updateVirtualServer(ctx, actor, orgB.id, 'only-a', { tools: ['*'] }), refusedWith('not_found', /No virtual server 'only-a'/));
    await assert.rejects(removeVirtualServer(ctx, actor, orgB.id, 'only-a'), refusedWith('not_found', /No virtual server 'only-a'/));
    assert.deepEqual((await getVirtualServer(ctx, actor, orgA.id, 'only-a'))?.tools, []);
  });

  test('updates only the fields given, checks the result as a whole, and audits it', async () => {
    const before = await getVirtualServer(ctx, actor, orgA.id, 'only-a');
    const updated = await updateVirtualServer(ctx, actor, orgA.id, 'only-a', { tools: ['github/create_*'], unprefixed: true, description: 'writes' });
    assert.deepEqual({ ...updated, updatedAt: '' }, { ...before, tools: ['github/create_*'], unprefixed: true, description: 'writes', updatedAt: '' });
    await assert.rejects(updateVirtualServer(ctx, actor, orgA.id, 'only-a', {}), refusedWith('bad_request', /Nothing to change/));
    await assert.rejects(
      updateVirtualServer(ctx, actor, orgA.id, 'only-a', { tools: [], prompts: [] }),
      refusedWith('bad_request', /must select something/),
    );
    await assert.rejects(updateVirtualServer(ctx, actor, orgA.id, 'only-a', { name: 'renamed' } as never), refusedWith('bad_request', /Unknown field 'name'/));
    assert.deepEqual(await getVirtualServer(ctx, actor, orgA.id, 'only-a'), updated);
    const events = (await store.listAudit(orgA.id, 0, 100)).filter((r) => r.action === 'virtual_server.update');
    assert.equal(events.length, 1);
    assert.deepEqual((JSON.parse(events[0]?.args ?? '') as { changed: string[] }).changed, ['description', 'tools', 'unprefixed']);
  });

  test('keys may be restricted to existing servers of their own organisation only', async () => {
    const { record } = await createKey(ctx, actor, { orgId: orgA.id, name: 'docs', scopes: ['*'], servers: ['docs', 'only-a', 'docs'] });
    assert.deepEqual(record.servers, ['docs', 'only-a']);
    const open = await createKey(ctx, actor, { orgId: orgA.id, name: 'open', scopes: ['*'] });
    assert.equal(open.record.servers, null);
    await assert.rejects(
      createKey(ctx, actor, { orgId: orgB.id, name: 'x', scopes: ['*'], servers: ['docs', 'only-a'] }),
      refusedWith('not_found', /No virtual server 'only-a' in this organisation/),
    );
    await assert.rejects(createKey(ctx, actor, { orgId: orgA.id, name: 'x', scopes: ['*'], servers: [] }), refusedWith('bad_request', /at least one server/));
  });

  test('removing a server leaves its keys in place and names the active ones', async () => {
    const revoked = await createKey(ctx, actor, { orgId: orgA.id, name: 'old', scopes: ['*'], servers: ['only-a'] });
    await revokeKey(ctx, actor, orgA.id, revoked.record.id);
    const restricted = (await store.listApiKeys(orgA.id)).filter((k) => k.servers?.includes('only-a') === true && k.revokedAt === null);
    const { affectedKeys } = await removeVirtualServer(ctx, actor, orgA.id, 'only-a');
    assert.deepEqual(affectedKeys, restricted.map((k) => k.id));
    assert.equal(affectedKeys.length, 1);
    assert.equal(await getVirtualServer(ctx, actor, orgA.id, 'only-a'), undefined);
    assert.deepEqual((await store.getApiKey(orgA.id, affectedKeys[0]!))?.servers, ['docs', 'only-a']);
    const [event] = (await store.listAudit(orgA.id, 0, 100)).filter((r) => r.action === 'virtual_server.delete');
    assert.deepEqual((JSON.parse(event?.args ?? '') as { affectedKeys: string[] }).affectedKeys, affectedKeys);
    await assert.rejects(removeVirtualServer(ctx, actor, orgA.id, 'only-a'), refusedWith('not_found', /No virtual server 'only-a'/));
  });

  test('goes through the permission table: every role reads, only managers change, another organisation sees nothing', async () => {
    await createVirtualServer(ctx, keyActor('admin'), { orgId: orgA.id, name: 'by-admin', tools: ['*'] });
    for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
      assert.ok((await listVirtualServers(ctx, keyActor(role), orgA.id)).some((v) => v.name === 'by-admin'), role);
      assert.equal((await getVirtualServer(ctx, keyActor(role), orgA.id, 'by-admin'))?.name, 'by-admin', role);
    }
    for (const role of ['member', 'viewer'] as const) {
      const forbidden = refusedWith('forbidden', new RegExp(`Your role \\(${role}\\) does not allow virtual_server\\.`));
      await assert.rejects(createVirtualServer(ctx, keyActor(role), { orgId: orgA.id, name: 'mine', tools: ['*'] }), forbidden);
      await assert.rejects(updateVirtualServer(ctx, keyActor(role), orgA.id, 'by-admin', { tools: ['fx'] }), forbidden);
      await assert.rejects(removeVirtualServer(ctx, keyActor(role), orgA.id, 'by-admin'), forbidden);
    }
    await updateVirtualServer(ctx, keyActor('owner'), orgA.id, 'by-admin', { description: 'owned' });
    // Organisation B's server, asked for by A's owner: answered as a server that does not exist.
    const owner = keyActor('owner');
    assert.equal(await getVirtualServer(ctx, owner, orgB.id, 'docs'), undefined);
    for (const op of [
      () => updateVirtualServer(ctx, owner, orgB.id, 'docs', { tools: ['*'] }),
      () => removeVirtualServer(ctx, owner, orgB.id, 'docs'),
      () => createVirtualServer(ctx, owner, { orgId: orgB.id, name: 'docs', tools: ['*'] }),
    ]) {
      await assert.rejects(op(), refusedWith('not_found', /^No virtual server 'docs'$/));
    }
    await assert.rejects(listVirtualServers(ctx, owner, orgB.id), refusedWith('not_found', /No such virtual server/));
    assert.deepEqual((await getVirtualServer(ctx, actor, orgB.id, 'docs'))?.resources, ['*'], 'untouched');
    assert.equal((await removeVirtualServer(ctx, keyActor('admin'), orgA.id, 'by-admin')).affectedKeys.length, 0);
  });

  test('a key restricted to virtual servers hands out keys restricted to some of them, never wider', async () => {
    const restricted = { ...keyActor('admin', ['docs']), scopes: ['*'] };
    const inherited = await createKey(ctx, restricted, { orgId: orgA.id, name: 'inherits', scopes: ['*'] });
    assert.deepEqual(inherited.record.servers, ['docs'], 'by default, as restricted as its creator');
    const named = await createKey(ctx, restricted, { orgId: orgA.id, name: 'named', scopes: ['*'], servers: ['docs'] });
    assert.deepEqual(named.record.servers, ['docs']);
    await createVirtualServer(ctx, actor, { orgId: orgA.id, name: 'other', tools: ['*'] });
    await assert.rejects(
      createKey(ctx, restricted, { orgId: orgA.id, name: 'wider', scopes: ['*'], servers: ['docs', 'other'] }),
      refusedWith('forbidden', /'other' is beyond the virtual servers your key may use/),
    );
    const unrestricted = await createKey(ctx, keyActor('admin'), { orgId: orgA.id, name: 'open', scopes: ['*'] });
    assert.equal(unrestricted.record.servers, null, 'an unrestricted creator makes unrestricted keys by default');
    const count = (await store.listApiKeys(orgA.id)).length;
    await assert.rejects(
      createKey(ctx, restricted, { orgId: orgA.id, name: 'x', scopes: ['*'], servers: ['other'] }),
      refusedWith('forbidden', /beyond the virtual servers/),
    );
    assert.equal((await store.listApiKeys(orgA.id)).length, count, 'nothing was created');
  });
});
