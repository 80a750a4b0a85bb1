// An organisation's key policy through the admin API and the CLI of a running gateway: the longest lifetime and the
// wildcard rule are enforced on create and on rotate, only owners set them, organisations do not share them, bad
// input is refused without changing anything, and production's default refuses wildcard keys that never expire while
// the first owner key stays the exception.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { runCli, startGateway, type Gateway } from './harness.ts';

const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();
const messageOf = (body: unknown) => (body as { error?: { message?: string } }).error?.message ?? '';

describe('key policy', () => {
  let gw: Gateway;
  let acme: TestOrg;
  let globex: TestOrg;

  before(async () => {
    gw = await startGateway();
    acme = await makeOrg(gw, 'acme');
    globex = await makeOrg(gw, 'globex');
  });
  after(async () => {
    await gw.close();
  });

  test('the default in development allows everything; only an owner sets a policy, and bad input changes nothing', async () => {
    const initial = await api(gw, acme.people.member.key, 'GET', '/key-policy');
    assert.equal(initial.status, 200, initial.text);
    assert.deepEqual(initial.body, { orgId: acme.id, maxLifetimeDays: null, wildcard: 'allowed', updatedAt: null, stored: false });
    assert.equal((await api(gw, acme.people.admin.key, 'PUT', '/key-policy', { wildcard: 'refused' })).status, 403);
    for (const bad of [{ maxLifetimeDays: 0 }, { maxLifetimeDays: 1.5 }, { wildcard: 'sometimes' }, { other: true }]) {
      assert.equal((await api(gw, acme.ownerKey, 'PUT', '/key-policy', bad)).status, 400, JSON.stringify(bad));
    }
    assert.deepEqual((await api(gw, acme.ownerKey, 'GET', '/key-policy')).body, initial.body, 'nothing was stored');
  });

  test('lifetime and wildcard rules are enforced on create and rotate, in that organisation only', async () => {
    const set = await api(gw, acme.ownerKey, 'PUT', '/key-policy', { maxLifetimeDays: 30, wildcard: 'refused' });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual({ ...(set.body as object), updatedAt: undefined }, { orgId: acme.id, maxLifetimeDays: 30, wildcard: 'refused', updatedAt: undefined, stored: true });

    const create = (org: TestOrg, body: Record<string, unknown>) => api(gw, org.ownerKey, 'POST', '/keys', { name: 'k', ...body });
    const wildcard = await create(acme, { scopes: ['*'], expiresAt: inDays(7) });
    assert.equal(wildcard.status, 400);
    assert.match(messageOf(wildcard.body), /refuses the wildcard scope/);
    const forever = await create(acme, { scopes: ['everything'] });
    assert.equal(forever.status, 400);
    assert.match(messageOf(forever.body), /expire within 30 days/);
    const tooLong = await create(acme, { scopes: ['everything'], expiresAt: inDays(60) });
    assert.equal(tooLong.status, 400);
    assert.match(messageOf(tooLong.body), /at most 30 days/);
    assert.equal((await create(acme, { scopes: ['everything', 'github/*'], expiresAt: inDays(10) })).status, 201);

    // Another organisation has its own (default) policy.
    assert.equal((await create(globex, { scopes: ['*'] })).status, 201);

    // A key made before the policy cannot be rotated into a key the policy refuses, and keeps working.
    const rotated = await api(gw, acme.ownerKey, 'POST', `/keys/${acme.people.member.keyId}/rotate`, {});
    assert.equal(rotated.status, 400);
    assert.match(messageOf(rotated.body), /expire within 30 days/);
    assert.equal((await api(gw, acme.people.member.key, 'GET', '/me')).status, 200, 'the old key still works');

    // Lifting the limits lets the same rotation through.
    assert.equal((await api(gw, acme.ownerKey, 'PUT', '/key-policy', { maxLifetimeDays: null, wildcard: 'allowed' })).status, 200);
    assert.equal((await api(gw, acme.ownerKey, 'POST', `/keys/${acme.people.member.keyId}/rotate`, {})).status, 201);
  });

  test('the CLI reads and sets the policy, and keys create obeys it', async () => {
    const set = await runCli(gw, ['keys', 'set-policy', '--org', 'globex', '--wildcard', 'with-expiry', '--max-lifetime', '90d']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /max lifetime: +90 days/);
    assert.match(set.stdout, /wildcard '\*': +with expiry/);
    const shown = await runCli(gw, ['keys', 'policy', '--org', 'globex', '--json']);
    assert.deepEqual(
      (({ maxLifetimeDays, wildcard, stored }) => ({ maxLifetimeDays, wildcard, stored }))(JSON.parse(shown.stdout) as { maxLifetimeDays: number; wildcard: string; stored: boolean }),
      { maxLifetimeDays: 90, wildcard: 'with_expiry', stored: true },
    );
    const refused = await runCli(gw, ['keys', 'create', '--org', 'globex', '--name', 'ci']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /expire within 90 days/);
    const made = await runCli(gw, ['keys', 'create', '--org', 'globex', '--name', 'ci', '--expires', '7d', '--json']);
    assert.equal(made.code, 0, made.stderr);
    assert.equal((JSON.parse(made.stdout) as { scopes: string[] }).scopes[0], '*');
    assert.equal((await runCli(gw, ['keys', 'set-policy', '--org', 'globex', '--max-lifetime', '3w'])).code, 2);
    assert.equal((await runCli(gw, ['keys', 'set-policy', '--org', 'globex', '--wildcard', 'maybe'])).code, 2);
  });
});

describe('key policy in production', () => {
  let gw: Gateway;

  before(async () => {
    gw = await startGateway({ GATEHOUSE_ENV: 'production', GATEHOUSE_LOG_LEVEL: 'info', GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') });
  });
  after(async () => {
    await gw.close();
  });

  test('refuses wildcard keys without an expiry by default, the first owner key excepted', async () => {
    const me = await api(gw, gw.ownerKey, 'GET', '/me');
    assert.equal(me.status, 200, 'the first owner key was made and works');
    const policy = await api(gw, gw.ownerKey, 'GET', '/key-policy');
    assert.deepEqual(policy.body, { orgId: gw.org.id, maxLifetimeDays: null, wildcard: 'with_expiry', updatedAt: null, stored: false });
    const forever = await api(gw, gw.ownerKey, 'POST', '/keys', { name: 'agent', scopes: ['*'] });
    assert.equal(forever.status, 400);
    assert.match(messageOf(forever.body), /only on a key that expires/);
    assert.equal((await api(gw, gw.ownerKey, 'POST', '/keys', { name: 'agent', scopes: ['*'], expiresAt: inDays(30) })).status, 201);
    assert.equal((await api(gw, gw.ownerKey, 'POST', '/keys', { name: 'scoped', scopes: ['everything'] })).status, 201);
    // A new organisation's first owner key is the exception there too.
    const org = await runCli(gw, ['orgs', 'create', 'initech', '--name', 'Initech']);
    assert.equal(org.code, 0, org.stderr);
  });

  test('the first owner key can be rotated, and its replacement keeps the exemption; no key it makes gets it', async () => {
    const first = (await api(gw, gw.ownerKey, 'GET', '/me')).body as { keyId: string };
    const shown = (await api(gw, gw.ownerKey, 'GET', `/keys/${first.keyId}`)).body as { policyExempt: boolean; scopes: string[]; expiresAt: string | null };
    assert.deepEqual([shown.policyExempt, shown.scopes, shown.expiresAt], [true, ['*'], null]);

    const rotated = await api(gw, gw.ownerKey, 'POST', `/keys/${first.keyId}/rotate`, {});
    assert.equal(rotated.status, 201, rotated.text);
    const { key: ownerKey, record } = rotated.body as { key: string; record: { id: string; role: string; scopes: string[]; expiresAt: string | null; policyExempt: boolean } };
    assert.deepEqual([record.role, record.scopes, record.expiresAt, record.policyExempt], ['owner', ['*'], null, true]);
    assert.equal((await api(gw, gw.ownerKey, 'GET', '/me')).status, 401, 'the old first owner key stops');
    assert.equal((await api(gw, ownerKey, 'GET', '/me')).status, 200);

    // The exemption is the key's, not its holder's: a second wildcard key without an expiry is still refused.
    const second = await api(gw, ownerKey, 'POST', '/keys', { name: 'second-owner', role: 'owner', scopes: ['*'] });
    assert.equal(second.status, 400, second.text);
    assert.match(messageOf(second.body), /only on a key that expires/);
    const expiring = await api(gw, ownerKey, 'POST', '/keys', { name: 'second-owner', role: 'owner', scopes: ['*'], expiresAt: inDays(10) });
    assert.equal(expiring.status, 201, expiring.text);
    assert.equal((expiring.body as { record: { policyExempt: boolean } }).record.policyExempt, false);

    // Under a stricter stored policy too (the first owner key is exempt from the key policy, as at bootstrap), and
    // with an overlap; a key without the exemption is still held to it.
    assert.equal((await api(gw, ownerKey, 'PUT', '/key-policy', { maxLifetimeDays: 30, wildcard: 'refused' })).status, 200);
    const expiringId = (expiring.body as { record: { id: string } }).record.id;
    const held = await api(gw, ownerKey, 'POST', `/keys/${expiringId}/rotate`, {});
    assert.equal(held.status, 400, held.text);
    assert.match(messageOf(held.body), /refuses the wildcard scope/);
    const again = await api(gw, ownerKey, 'POST', `/keys/${record.id}/rotate`, { overlapSeconds: 60 });
    assert.equal(again.status, 201, again.text);
    const { key: third, record: thirdRecord } = again.body as { key: string; record: { policyExempt: boolean } };
    assert.equal(thirdRecord.policyExempt, true);
    assert.equal((await api(gw, third, 'GET', '/me')).status, 200);
    assert.equal((await api(gw, ownerKey, 'GET', '/me')).status, 200, 'the replaced key works during its overlap');
    assert.equal((await api(gw, third, 'PUT', '/key-policy', { maxLifetimeDays: null, wildcard: 'with_expiry' })).status, 200);
  });
});
