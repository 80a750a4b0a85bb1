// API-key rotation through a running gateway (issue 13): a schedule set on create and changed or cleared later,
// shown with its due date and whether it is due; a due key reported by the API and the CLI and audited once per due
// period, whether the gateway's sweep or a listing finds it first; and rotation with an overlap, after which the old
// key is refused exactly as a revoked one, cached or not.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyView } from '../../src/admin/keys.ts';
import { displayPrefix, generateApiKey, hashApiKey } from '../../src/gateway/authn/api-key-format.ts';
import { newId } from '../../src/ids.ts';
import { operatorActor } from '../../src/services/context.ts';
import { createKey } from '../../src/services/keys.ts';
import type { ApiKeyRecord, RotationDays } from '../../src/store/types.ts';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { connect, rawPost, runCli, startGateway, waitFor, type Gateway } from './harness.ts';

const DAY = 86_400_000;
/** The overlap of the rotation tested in real time: long enough for the checks made during it, short to wait out. */
const OVERLAP_S = 5;
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'rotation-e2e', version: '1' } } };
const messageOf = (body: unknown) => (body as { error?: { message?: string } }).error?.message ?? '';

interface AuditRow { action: string; targetName: string | null; actorUser: string | null; decision: string; args: string | null }

describe('API-key rotation', () => {
  let gw: Gateway;
  let org: TestOrg;

  /** A key made `daysAgo` days ago, as the store holds one that old: time is not waited for, it is written. */
  async function oldKey(name: string, daysAgo: number, rotationDays: RotationDays | null): Promise<{ key: string; id: string }> {
    const key = generateApiKey();
    const record: ApiKeyRecord = {
      id: newId('key'), orgId: org.id, userId: null, name, keyHash: hashApiKey(key, gw.app.services.pepper), displayPrefix: displayPrefix(key),
      role: 'member', scopes: ['fx'], servers: null, cidrs: null, createdBy: 'test', createdAt: new Date(Date.now() - daysAgo * DAY).toISOString(),
      expiresAt: null, revokedAt: null, rotationDays, rotationDueReported: null, retiresAt: null, policyExempt: false,
    };
    await gw.app.services.store.insertApiKey(record);
    return { key, id: record.id };
  }

  async function audited(action: string, id: string): Promise<AuditRow[]> {
    const res = await api(gw, org.ownerKey, 'GET', `/audit?action=${action}&limit=1000`);
    assert.equal(res.status, 200, res.text);
    return (res.body as { records: AuditRow[] }).records.filter((r) => r.targetName === id);
  }

  const view = async (id: string) => keyView.strict().parse((await api(gw, org.ownerKey, 'GET', `/keys/${id}`)).body);

  before(async () => {
    // The sweep runs every second here, so the tests see it and a listing race for the same due period.
    gw = await startGateway({ GATEHOUSE_KEY_ROTATION_CHECK_SECONDS: '1' });
    org = await makeOrg(gw, 'rotation');
  });
  after(async () => {
    await gw.close();
  });

  test('a schedule is set on create, changed and cleared later, and shown with its due date; other schedules are refused', async () => {
    const created = await api(gw, org.people.admin.key, 'POST', '/keys', { name: 'ci', scopes: ['fx'], rotationDays: 90 });
    assert.equal(created.status, 201, created.text);
    const record = keyView.strict().parse((created.body as { record: unknown }).record);
    assert.deepEqual([record.rotationDays, record.rotationStatus, record.status], [90, 'scheduled', 'active']);
    assert.equal(record.rotationDueAt, new Date(Date.parse(record.createdAt) + 90 * DAY).toISOString());
    assert.equal((await api(gw, org.people.admin.key, 'POST', '/keys', { name: 'plain', scopes: ['fx'] })).status, 201);
    const plain = (await api(gw, org.ownerKey, 'GET', '/keys')).body as { keys: { name: string; rotationDays: number | null; rotationStatus: string }[] };
    assert.deepEqual(plain.keys.filter((k) => k.name === 'plain').map((k) => [k.rotationDays, k.rotationStatus]), [[null, 'none']], 'default: no schedule');

    for (const bad of [45, 0, '90', 90.5, -30]) {
      const res = await api(gw, org.people.admin.key, 'POST', '/keys', { name: 'bad', scopes: ['fx'], rotationDays: bad });
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
      assert.match(res.text, /rotationDays/);
      const patch = await api(gw, org.people.admin.key, 'PATCH', `/keys/${record.id}`, { rotationDays: bad });
      assert.equal(patch.status, 400, `PATCH ${JSON.stringify(bad)}: ${patch.text}`);
    }
    assert.equal((await api(gw, org.people.admin.key, 'PATCH', `/keys/${record.id}`, {})).status, 400, 'a PATCH that changes nothing');
    assert.equal((await view(record.id)).rotationDays, 90, 'nothing refused was stored');

    const changed = await api(gw, org.people.admin.key, 'PATCH', `/keys/${record.id}`, { rotationDays: 30 });
    assert.equal(changed.status, 200, changed.text);
    const thirty = keyView.strict().parse(changed.body);
    assert.deepEqual([thirty.rotationDays, thirty.rotationDueAt], [30, new Date(Date.parse(record.createdAt) + 30 * DAY).toISOString()]);
    assert.equal((await view(record.id)).rotationDays, 30);
    const both = await api(gw, org.people.admin.key, 'PATCH', `/keys/${record.id}`, { name: 'ci-renamed', rotationDays: 180 });
    assert.deepEqual([(both.body as { name: string }).name, (both.body as { rotationDays: number }).rotationDays], ['ci-renamed', 180]);
    const cleared = keyView.strict().parse((await api(gw, org.people.admin.key, 'PATCH', `/keys/${record.id}`, { rotationDays: null })).body);
    assert.deepEqual([cleared.rotationDays, cleared.rotationDueAt, cleared.rotationStatus], [null, null, 'none']);

    // A member schedules its own keys only; another's key does not exist for it.
    assert.equal((await api(gw, org.people.member.key, 'PATCH', `/keys/${record.id}`, { rotationDays: 30 })).status, 404);
    assert.equal((await api(gw, org.people.member.key, 'PATCH', `/keys/${org.people.member.keyId}`, { rotationDays: 60 })).status, 200);
    assert.equal((await api(gw, org.people.viewer.key, 'PATCH', `/keys/${org.people.viewer.keyId}`, { rotationDays: 60 })).status, 403, 'a viewer changes no key');
    const updates = (await audited('key.update', record.id)).filter((r) => r.decision === 'allow').map((r) => JSON.parse(r.args ?? '{}') as { rotationDays?: number | null });
    assert.deepEqual(updates.filter((a) => 'rotationDays' in a).map((a) => a.rotationDays), [30, 180, null]);
  });

  test('a due key is reported by the API and audited once per due period, by the sweep or a listing, whichever comes first', async () => {
    const fresh = await oldKey('fresh', 10, 30);
    const due = await oldKey('due', 95, 90);
    const overdue = await oldKey('overdue', 200, 90);
    const unscheduled = await oldKey('unscheduled', 400, null);
    // The gateway's sweep finds them without anyone listing keys.
    await waitFor(async () => (await audited('key.rotation_due', overdue.id)).length > 0 && (await audited('key.rotation_due', due.id)).length > 0, 10_000, 'the sweep');
    assert.equal((await view(fresh.id)).rotationStatus, 'scheduled');
    assert.equal((await view(unscheduled.id)).rotationStatus, 'none');
    const dueView = await view(due.id);
    assert.deepEqual([dueView.rotationStatus, dueView.status], ['due', 'active'], 'a due key still works until it is rotated');
    assert.equal((await view(overdue.id)).rotationStatus, 'overdue');
    assert.equal((await api(gw, due.key, 'GET', '/me')).status, 200);

    // Listings (the API's, the CLI's in another process) and more sweeps find the same periods already reported.
    const listed = (await api(gw, org.ownerKey, 'GET', '/keys')).body as { keys: { id: string; rotationStatus: string }[] };
    assert.deepEqual(listed.keys.filter((k) => [due.id, overdue.id].includes(k.id)).map((k) => k.rotationStatus).sort(), ['due', 'overdue']);
    const cli = await runCli(gw, ['keys', 'list', '--org', org.slug]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout.split('\n').find((l) => l.includes(due.id)) ?? '', /active ROTATE!/);
    assert.match(cli.stdout.split('\n').find((l) => l.includes(overdue.id)) ?? '', /ROTATE! \(overdue\)/);
    assert.doesNotMatch(cli.stdout.split('\n').find((l) => l.includes(fresh.id)) ?? 'missing', /ROTATE!/);
    assert.match(cli.stdout, /2 keys are due for rotation/);
    const json = JSON.parse((await runCli(gw, ['keys', 'list', '--org', org.slug, '--json'])).stdout) as { id: string; rotationStatus: string; rotationDueAt: string }[];
    assert.equal(json.find((k) => k.id === due.id)?.rotationStatus, 'due');
    await new Promise((r) => setTimeout(r, 2500));
    const records = await audited('key.rotation_due', due.id);
    assert.equal(records.length, 1, 'one record for its due period');
    const args = JSON.parse(records[0]?.args ?? '{}') as { name: string; rotationDays: number; dueAt: string; period: number; overdueDays: number };
    assert.deepEqual([args.name, args.rotationDays, args.dueAt, args.period, args.overdueDays], ['due', 90, dueView.rotationDueAt, 1, 5]);
    assert.equal(records[0]?.actorUser, 'system:key-rotation');
    const late = await audited('key.rotation_due', overdue.id);
    assert.equal(late.length, 1, 'one record for the period it is in (the second), not one per missed period');
    assert.equal((JSON.parse(late[0]?.args ?? '{}') as { period: number }).period, 2);
    for (const quiet of [fresh.id, unscheduled.id]) assert.equal((await audited('key.rotation_due', quiet)).length, 0);

    // Rotating it: the replacement keeps the schedule, due from its own creation, and is not due.
    const rotated = await api(gw, org.ownerKey, 'POST', `/keys/${due.id}/rotate`, {});
    assert.equal(rotated.status, 201, rotated.text);
    const next = keyView.strict().parse((rotated.body as { record: unknown }).record);
    assert.deepEqual([next.rotationDays, next.rotationStatus], [90, 'scheduled']);
    assert.equal(next.rotationDueAt, new Date(Date.parse(next.createdAt) + 90 * DAY).toISOString());
    assert.equal((rotated.body as { retiresAt: string | null }).retiresAt, null, 'no overlap: the old key has stopped');
    assert.deepEqual([(await view(due.id)).status, (await view(due.id)).rotationStatus], ['revoked', 'none']);
    assert.equal((await api(gw, due.key, 'GET', '/me')).status, 401);
  });

  test('rotation with an overlap: both keys work until retiresAt, then the old one is refused as revoked, cached or not', async () => {
    const { key: oldSecret, record } = await createKey(gw.app.services, operatorActor('test'), { orgId: org.id, name: 'overlapped', role: 'admin', scopes: ['*'], rotationDays: 60 });
    const mcpStatus = async (key: string) => {
      const res = await rawPost(gw.url, INIT, { authorization: `Bearer ${key}` });
      await res.body?.cancel();
      return res.status;
    };
    assert.equal(await mcpStatus(oldSecret), 200);

    for (const bad of [-1, 30 * 86_400 + 1, 1.5, '60', null]) {
      const res = await api(gw, org.ownerKey, 'POST', `/keys/${record.id}/rotate`, { overlapSeconds: bad });
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
      assert.match(res.text, /overlapSeconds/);
    }
    assert.equal((await view(record.id)).status, 'active', 'a refused rotation changes nothing');

    const before = Date.now();
    const rotated = await api(gw, org.ownerKey, 'POST', `/keys/${record.id}/rotate`, { overlapSeconds: OVERLAP_S });
    assert.equal(rotated.status, 201, rotated.text);
    const { key: newSecret, retiresAt } = rotated.body as { key: string; retiresAt: string };
    const next = keyView.strict().parse((rotated.body as { record: unknown }).record);
    assert.ok(Date.parse(retiresAt) >= before + OVERLAP_S * 1000 && Date.parse(retiresAt) <= Date.now() + OVERLAP_S * 1000, retiresAt);
    assert.deepEqual([next.rotationDays, next.retiresAt, next.status], [60, null, 'active'], 'the replacement inherits the schedule');
    const old = await view(record.id);
    assert.deepEqual([old.status, old.retiresAt, old.revokedAt, old.rotationStatus], ['retiring', retiresAt, null, 'none']);

    // Both work during the overlap, on the admin API and on /mcp (the overlap leaves a slow machine time for this).
    assert.equal((await api(gw, oldSecret, 'GET', '/me')).status, 200);
    assert.equal(await mcpStatus(oldSecret), 200);
    assert.equal(await mcpStatus(newSecret), 200);
    const session = await connect(gw.url, oldSecret, 'retiring-client');
    await session.listTools();
    // A retiring key can rotate no more, and what it creates cannot outlive it.
    const again = await api(gw, org.ownerKey, 'POST', `/keys/${record.id}/rotate`, { overlapSeconds: 60 });
    assert.equal(again.status, 409, again.text);
    assert.match(messageOf(again.body), /already being replaced/);
    assert.equal((await api(gw, org.ownerKey, 'POST', `/keys/${record.id}/rotate`, {})).status, 409);
    assert.equal((await api(gw, org.ownerKey, 'PATCH', `/keys/${record.id}`, { rotationDays: 30 })).status, 409);
    const minted = await api(gw, oldSecret, 'POST', '/keys', { name: 'escape', scopes: ['fx'] });
    assert.equal(minted.status, 201, minted.text);
    assert.equal((minted.body as { record: { expiresAt: string } }).record.expiresAt, retiresAt, 'a key made by a retiring key expires with it');
    assert.equal((await api(gw, oldSecret, 'POST', '/keys', { name: 'escape2', scopes: ['fx'], expiresAt: new Date(Date.now() + DAY).toISOString() })).status, 403);

    // Nothing about the keys changes from here: the authenticator's cached entry for the old key stays valid, and
    // the old key must still stop at retiresAt.
    const revision = await gw.app.services.store.accessRevision();
    assert.equal((await api(gw, oldSecret, 'GET', '/me')).status, 200);
    await waitFor(() => Date.now() > Date.parse(retiresAt) + 50, 10_000, 'the end of the overlap');
    assert.equal((await api(gw, oldSecret, 'GET', '/me')).status, 401);
    assert.equal(await mcpStatus(oldSecret), 401);
    await assert.rejects(session.listTools(), /Authentication required/, 'a session opened during the overlap is refused on its next request');
    await session.close().catch(() => undefined);
    assert.equal(await gw.app.services.store.accessRevision(), revision, 'refused without any write to the keys');
    assert.equal(await mcpStatus(newSecret), 200);
    assert.equal((await api(gw, newSecret, 'GET', '/me')).status, 200);
    assert.equal((await view(record.id)).status, 'revoked');
    assert.equal((await api(gw, org.ownerKey, 'POST', `/keys/${record.id}/rotate`, {})).status, 409, 'a retired key cannot be rotated');
    const audit = (await audited('key.rotate', record.id)).filter((r) => r.decision === 'allow');
    assert.equal(audit.length, 1, 'one rotation (the refused ones are audited as refusals)');
    assert.deepEqual(JSON.parse(audit[0]?.args ?? '{}'), { replacement: next.id, overlapSeconds: OVERLAP_S, retiresAt });
  });

  test('the CLI: create with a schedule, schedule and unschedule, rotate with an overlap; bad values are usage errors', async () => {
    const made = await runCli(gw, ['keys', 'create', '--org', org.slug, '--name', 'cli-key', '--scope', 'fx', '--rotate-every', '90d', '--json']);
    assert.equal(made.code, 0, made.stderr);
    const created = JSON.parse(made.stdout) as { id: string; key: string; rotationDays: number; rotationDueAt: string; rotationStatus: string };
    assert.deepEqual([created.rotationDays, created.rotationStatus], [90, 'scheduled']);
    const text = await runCli(gw, ['keys', 'create', '--org', org.slug, '--name', 'cli-key2', '--scope', 'fx', '--rotate-every', '30d']);
    assert.match(text.stdout, /rotate every 30 days \(due 20\d\d-/);
    for (const bad of [['--rotate-every', '45d'], ['--rotate-every', 'monthly']]) {
      const res = await runCli(gw, ['keys', 'create', '--org', org.slug, '--name', 'x', ...bad]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /--rotate-every must be 30d, 60d, 90d or 180d/);
    }
    const scheduled = await runCli(gw, ['keys', 'schedule', created.id, '30d', '--org', org.slug]);
    assert.equal(scheduled.code, 0, scheduled.stderr);
    assert.match(scheduled.stdout, new RegExp(`${created.id} is to be rotated every 30 days: due .* \\(scheduled\\)`));
    assert.equal((await view(created.id)).rotationDays, 30);
    assert.equal((await runCli(gw, ['keys', 'schedule', created.id, '7d', '--org', org.slug])).code, 2);
    assert.equal((await runCli(gw, ['keys', 'schedule', created.id, '--org', org.slug])).code, 2);
    assert.equal((await runCli(gw, ['keys', 'schedule', 'key_nope', '90d', '--org', org.slug])).code, 1);
    const none = await runCli(gw, ['keys', 'schedule', created.id, 'none', '--org', org.slug, '--json']);
    assert.equal((JSON.parse(none.stdout) as { rotationDays: number | null }).rotationDays, null);
    assert.equal((await runCli(gw, ['keys', 'schedule', created.id, '60d', '--org', org.slug])).code, 0);

    for (const bad of ['3w', '1.5h', '-1h']) {
      const res = await runCli(gw, ['keys', 'rotate', created.id, '--overlap', bad, '--org', org.slug]);
      assert.equal(res.code, 2, `${bad}: ${res.stderr}`);
    }
    const tooLong = await runCli(gw, ['keys', 'rotate', created.id, '--overlap', '31d', '--org', org.slug]);
    assert.equal(tooLong.code, 1);
    assert.match(tooLong.stderr, /at most|30 days/);
    assert.equal((await api(gw, created.key, 'GET', '/me')).status, 200, 'refused rotations changed nothing');

    const rotated = await runCli(gw, ['keys', 'rotate', created.id, '--overlap', '1h', '--org', org.slug]);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, new RegExp(`Rotated ${created.id}: it keeps working until 20\\d\\d-.*, then stops`));
    const listed = await runCli(gw, ['keys', 'list', '--org', org.slug]);
    assert.match(listed.stdout.split('\n').find((l) => l.includes(created.id)) ?? '', /retiring until 20\d\d-/);
    assert.equal((await api(gw, created.key, 'GET', '/me')).status, 200, 'the old key works during the overlap');
    const again = await runCli(gw, ['keys', 'rotate', created.id, '--org', org.slug]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already being replaced/);
    const replacement = (await api(gw, org.ownerKey, 'GET', '/keys')).body as { keys: { name: string; rotationDays: number | null; status: string; id: string }[] };
    const fresh = replacement.keys.filter((k) => k.name === 'cli-key' && k.id !== created.id);
    assert.deepEqual(fresh.map((k) => [k.rotationDays, k.status]), [[60, 'active']], 'the replacement keeps the schedule');
  });
});
