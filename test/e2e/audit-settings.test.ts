// Audit settings through the admin API and the CLI: the viewers' bulk-export grant, retention, pruning on demand,
// and verifying an uploaded export with a public key. Retention's removal itself is tested on both dialects in
// src/gateway/audit/retention.test.ts (it needs records older than a day).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { api, makeOrg, type TestOrg } from './admin-client.ts';
import { runCli, startGateway, type Gateway } from './harness.ts';

interface Settings {
  retentionDays: number | null;
  viewerExport: boolean;
}

describe('audit settings, export grant and uploaded verification', () => {
  let gw: Gateway;
  let org: TestOrg;

  before(async () => {
    gw = await startGateway();
    org = await makeOrg(gw, 'aset');
  });
  after(async () => {
    await gw.close();
  });

  test('viewers export in bulk only while an owner grants it; members never; admins cannot change the grant', async () => {
    const viewer = org.people.viewer.key;
    const refused = await api(gw, viewer, 'GET', '/audit/export');
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.text, /grant/);
    assert.deepEqual(((await api(gw, viewer, 'GET', '/audit/settings')).body as Settings).viewerExport, false, 'viewers may read the settings');

    assert.equal((await api(gw, org.people.admin.key, 'PATCH', '/audit/settings', { viewerExport: true })).status, 403);
    assert.equal((await api(gw, viewer, 'PATCH', '/audit/settings', { viewerExport: true })).status, 403);
    const granted = await api(gw, org.ownerKey, 'PATCH', '/audit/settings', { viewerExport: true });
    assert.equal(granted.status, 200, granted.text);
    assert.equal((granted.body as Settings).viewerExport, true);

    const exported = await api(gw, viewer, 'GET', '/audit/export');
    assert.equal(exported.status, 200);
    assert.ok(exported.text.includes('"action":"audit.settings.update"'), 'the grant is itself audited');
    assert.equal((await api(gw, org.people.member.key, 'GET', '/audit/export')).status, 403, 'the grant is for viewers, never members');

    assert.equal((await api(gw, org.ownerKey, 'PATCH', '/audit/settings', { viewerExport: false })).status, 200);
    assert.equal((await api(gw, viewer, 'GET', '/audit/export')).status, 403, 'revoked at once');
  });

  test('settings refuse bad values with a clear 400 and change nothing', async () => {
    for (const body of [{ retentionDays: 0 }, { retentionDays: 3651 }, { retentionDays: 1.5 }, { retentionDays: '90d' }, { viewerExport: 'yes' }, { keep: true }]) {
      const res = await api(gw, org.ownerKey, 'PATCH', '/audit/settings', body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.deepEqual((await api(gw, org.ownerKey, 'GET', '/audit/settings')).body, {
      ...((await api(gw, org.ownerKey, 'GET', '/audit/settings')).body as object),
      retentionDays: null,
      viewerExport: false,
    });
  });

  test('prune: owners only; with retention off it removes nothing and says why', async () => {
    assert.equal((await api(gw, org.people.admin.key, 'POST', '/audit/prune', {})).status, 403);
    const r = await api(gw, org.ownerKey, 'POST', '/audit/prune', { dryRun: true });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, { orgId: org.id, dryRun: true, removed: 0, firstSeq: null, lastSeq: null, note: 'retention is off' });
    assert.equal((await api(gw, org.ownerKey, 'PATCH', '/audit/settings', { retentionDays: 365 })).status, 200);
    const young = (await api(gw, org.ownerKey, 'POST', '/audit/prune', {})).body as { removed: number; note: string };
    assert.equal(young.removed, 0, 'every record is younger than a year');
    assert.match(young.note, /checkpoint/);
    assert.equal((await api(gw, org.ownerKey, 'PATCH', '/audit/settings', { retentionDays: null })).status, 200);
  });

  test('an uploaded export verifies with the deployment key or a given one, and a changed line is named', async () => {
    const text = (await api(gw, org.ownerKey, 'GET', '/audit/export')).text;
    const ok = await api(gw, org.people.viewer.key, 'POST', '/audit/verify', { export: text });
    assert.equal(ok.status, 200, ok.text);
    const report = ok.body as { ok: boolean; records: number; checkpoints: number; keyId: string | null };
    assert.equal(report.ok, true, ok.text);
    assert.ok(report.records > 0 && report.checkpoints > 0);
    assert.equal(typeof report.keyId, 'string');

    const publicKey = ((await api(gw, org.ownerKey, 'GET', '/audit/public-key')).body as { publicKey: string }).publicKey;
    const given = (await api(gw, org.ownerKey, 'POST', '/audit/verify', { export: text, publicKey })).body as { ok: boolean; keyId: string | null };
    assert.deepEqual([given.ok, given.keyId], [true, null]);

    const lines = text.trimEnd().split('\n');
    const at = lines.findIndex((l) => l.includes('"action":"audit.settings.update"'));
    assert.ok(at >= 0);
    const changed = JSON.parse(lines[at]!) as { decision: string };
    lines[at] = JSON.stringify({ ...changed, decision: changed.decision === 'allow' ? 'deny' : 'allow' });
    const tampered = (await api(gw, org.ownerKey, 'POST', '/audit/verify', { export: lines.join('\n') })).body as { ok: boolean; firstBreak?: { line: number; reason: string } };
    assert.equal(tampered.ok, false);
    assert.equal(tampered.firstBreak?.line, at + 1, 'the changed line is named');

    const stranger = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const foreign = (await api(gw, org.ownerKey, 'POST', '/audit/verify', { export: text, publicKey: stranger })).body as { ok: boolean };
    assert.equal(foreign.ok, false, "another key's signature does not verify these checkpoints");
    assert.equal((await api(gw, org.ownerKey, 'POST', '/audit/verify', { export: text, publicKey: 'not a key' })).status, 400);
    assert.equal((await api(gw, org.people.member.key, 'POST', '/audit/verify', { export: text })).status, 403);
    const audited = (await api(gw, org.ownerKey, 'GET', '/audit?action=audit.verify_export&limit=100')).body as { records: unknown[] };
    assert.equal(audited.records.length, 4, 'every verification is audited');
  });

  test('the CLI shows and changes the same settings, refuses bad input, and prunes on demand', async () => {
    const set = await runCli(gw, ['audit', 'retention', '400d', '--org', org.slug]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /retention\s+400 days/);
    const grant = await runCli(gw, ['audit', 'export-grant', 'viewer', 'on', '--org', org.slug]);
    assert.equal(grant.code, 0, grant.stderr);
    const shown = await runCli(gw, ['audit', 'settings', '--org', org.slug, '--json']);
    assert.deepEqual(JSON.parse(shown.stdout), { ...(JSON.parse(shown.stdout) as object), retentionDays: 400, viewerExport: true });
    assert.equal((await api(gw, org.people.viewer.key, 'GET', '/audit/export')).status, 200, 'the CLI grant is the API grant');
    for (const bad of [['retention', '0d'], ['retention', 'forever'], ['retention'], ['export-grant', 'member', 'on'], ['export-grant', 'viewer', 'maybe'], ['verify', 'extra']]) {
      const r = await runCli(gw, ['audit', ...bad, '--org', org.slug]);
      assert.notEqual(r.code, 0, bad.join(' '));
      assert.ok(r.stderr.length > 0, bad.join(' '));
    }
    const pruned = await runCli(gw, ['audit', 'prune', '--dry-run', '--org', org.slug]);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /Nothing to remove/);
    const off = await runCli(gw, ['audit', 'export-grant', 'viewer', 'off', '--org', org.slug]);
    assert.equal(off.code, 0, off.stderr);
    assert.equal((await api(gw, org.people.viewer.key, 'GET', '/audit/export')).status, 403);
  });
});
