import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sealerFor } from '../../gateway/audit/chain.ts';
import { auditEvent } from '../../gateway/audit/event.ts';
import { verifyChain } from '../../gateway/audit/verify.ts';
import pino from 'pino';
import { createAuditLog } from '../../gateway/audit/audit-log.ts';
import { createCheckpointer } from '../../gateway/audit/checkpoints.ts';
import { loadAuditSigner } from '../../gateway/audit/signing.ts';
import { auditSigningKeyVault } from '../../vault/audit-signing-key.ts';
import { SecretBox } from '../../vault/secret-box.ts';
import { PostgresStore } from './postgres-store.ts';
import { initRolesSql } from './roles.ts';

const ADMIN_URL = process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const suffix = randomBytes(4).toString('hex');
const migrator = `gh_migrator_${suffix}`;
const app = `gh_app_${suffix}`;
const schema = `gh_roles_${suffix}`;

function urlAs(role: string): string {
  const u = new URL(ADMIN_URL);
  u.username = role;
  u.password = '';
  return u.toString();
}

async function asRole<T>(role: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: urlAs(role), options: `-c search_path=${schema}` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

void describe('PostgreSQL with a migrator and an application role', () => {
  let appStore: PostgresStore;

  before(async () => {
    await asRole(new URL(ADMIN_URL).username, async (c) => {
      for (const sql of initRolesSql({ migrator, app, schema, database: new URL(ADMIN_URL).pathname.slice(1) })) await c.query(sql);
    });
    const m = new PostgresStore(urlAs(migrator), { schema, poolSize: 1, applicationRole: app });
    try {
      await m.migrate();
    } finally {
      await m.close();
    }
    appStore = new PostgresStore(urlAs(app), { schema, poolSize: 2 });
    for (const id of ['org_a', 'org_b']) {
      await appStore.createOrganisation({ id, slug: id, name: id, createdAt: '2026-12-01T00:00:00.000Z', deletedAt: null });
      await appStore.insertConnector({ id: `con_${id}`, orgId: id, name: 'files', transport: { type: 'http', url: 'https://files.example/mcp', headers: [] }, createdAt: '2026-12-01T00:00:00.000Z', updatedAt: '2026-12-01T00:00:00.000Z' });
      for (let i = 0; i < 3; i++) await appStore.appendAudit(id, sealerFor(auditEvent({ orgId: id, action: 'connector.create', decision: 'allow', target: `n${i}` })));
    }
  });

  after(async () => {
    await appStore.close();
    await asRole(new URL(ADMIN_URL).username, async (c) => {
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      for (const role of [app, migrator]) {
        await c.query(`DROP OWNED BY ${role}`);
        await c.query(`DROP ROLE IF EXISTS ${role}`);
      }
    });
  });

  void it('lets the application role work and append audit records through audit_append(), and the chain verifies', async () => {
    const report = await verifyChain(appStore, 'org_a');
    assert.equal(report.ok, true);
    assert.equal(report.verified, 3);
    assert.equal((await appStore.listConnectors('org_b')).length, 1);
  });

  const refused = [
    "UPDATE audit_events SET reason = 'edited'",
    'DELETE FROM audit_events',
    'TRUNCATE audit_events',
    'ALTER TABLE audit_events DISABLE TRIGGER ALL',
    'ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only',
    'DROP TRIGGER audit_events_append_only ON audit_events',
    'ALTER TABLE audit_events DISABLE ROW LEVEL SECURITY',
    'ALTER TABLE audit_events ADD COLUMN note TEXT',
    'DROP TABLE audit_events',
    `INSERT INTO audit_events (org_id, seq, ts, action, decision, prev_hash, hash) VALUES ('org_a', 99, now(), 'forged', 'allow', 'x', 'y')`,
    "UPDATE audit_checkpoints SET hash = 'x'",
    'DELETE FROM audit_signing_keys',
    "DELETE FROM schema_migrations",
    'CREATE TABLE shadow (x INT)',
    'CREATE OR REPLACE FUNCTION audit_append() RETURNS INT LANGUAGE sql AS $$ SELECT 1 $$',
    'ALTER FUNCTION audit_append(TEXT, TIMESTAMPTZ, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, DOUBLE PRECISION, TEXT, TEXT, TEXT, TEXT, TEXT) SECURITY INVOKER',
    'DROP POLICY tenant_wall ON connectors',
    // Retention removes records only through audit_prune(); the setting that lets its DELETE past the trigger gives
    // the application role no DELETE of its own, and the tombstones are the function's to write.
    "BEGIN; SELECT set_config('gatehouse.audit_prune', 'on', true); DELETE FROM audit_events WHERE org_id = 'org_a'; COMMIT",
    `INSERT INTO audit_tombstones (org_id, first_seq, last_seq, head_hash, count, ts, actor, key_id, signature) VALUES ('org_a', 1, 1, 'x', 1, now(), 'x', 'x', 'x')`,
    'DELETE FROM audit_tombstones',
    'CREATE OR REPLACE FUNCTION audit_prune() RETURNS INT LANGUAGE sql AS $$ SELECT 1 $$',
  ];
  for (const sql of refused) {
    void it(`refuses the application role: ${sql.slice(0, 70)}`, async () => {
      await asRole(app, async (c) => {
        await assert.rejects(c.query(sql), (e: Error & { code?: string }) => {
          // 42501: permission denied; 42883/42P01 do not occur: the objects exist. Owner checks also answer 42501.
          assert.equal(e.code, '42501', `${sql}: ${e.message}`);
          return true;
        });
      });
    });
  }

  void it('keeps every audit record as it was after all those attempts', async () => {
    const report = await verifyChain(appStore, 'org_a');
    assert.equal(report.ok, true);
    assert.equal(report.verified, 3);
  });

  void it("shows the application role only the organisation named by gatehouse.org_id, and refuses writes into another's rows", async () => {
    await asRole(app, async (c) => {
      await c.query('BEGIN');
      await c.query("SELECT set_config('gatehouse.org_id', 'org_a', true)");
      for (const table of ['connectors', 'audit_events', 'organisations']) {
        const { rows } = await c.query<{ org_id?: string; id?: string }>(`SELECT * FROM ${table}`);
        if (table === 'organisations') assert.equal(rows.length, 2, 'organisations has no org_id: it is not a tenant table');
        else {
          assert.ok(rows.length > 0, table);
          assert.deepEqual([...new Set(rows.map((r) => r.org_id))], ['org_a'], table);
        }
      }
      const updated = await c.query("UPDATE connectors SET name = 'taken' WHERE org_id = 'org_b'");
      assert.equal(updated.rowCount, 0, "another organisation's row cannot be changed");
      const deleted = await c.query("DELETE FROM connectors WHERE org_id = 'org_b'");
      assert.equal(deleted.rowCount, 0, "another organisation's row cannot be deleted");
      await assert.rejects(
        c.query("INSERT INTO connectors (id, org_id, name, transport, created_at, updated_at) VALUES ('con_x', 'org_b', 'x', '{}', now(), now())"),
        /row-level security/,
      );
      await c.query('ROLLBACK');
      // With no setting at all (another client of the same role that forgot it), nothing is visible.
      const { rows } = await c.query('SELECT * FROM connectors');
      assert.equal(rows.length, 0);
    });
    assert.equal((await appStore.listConnectors('org_b')).length, 1, 'org_b is untouched');
  });

  void it('scopes the store\'s own audit reads: a chain read under one organisation cannot return another\'s rows', async () => {
    const a = await appStore.listAudit('org_a', 0, 100);
    assert.equal(a.length, 3);
    assert.ok(a.every((r) => r.orgId === 'org_a'));
    assert.equal(await appStore.getAuditByHash('org_a', (await appStore.listAudit('org_b', 0, 1))[0]?.hash ?? ''), undefined);
  });
  void it('lets the application role prune an old checkpointed segment through audit_prune(), and refuses any other cut', async () => {
    const box = new SecretBox(randomBytes(32));
    const log = pino({ level: 'silent' });
    const signer = () => loadAuditSigner(appStore.auditAnchors, auditSigningKeyVault(box));
    const audit = createAuditLog({ store: appStore, log, checkpoints: createCheckpointer({ anchors: appStore.auditAnchors, signer, settings: { every: 5, intervalMs: 60_000 }, log }) });
    await appStore.createOrganisation({ id: 'org_old', slug: 'org-old', name: 'old', createdAt: '2026-01-01T00:00:00.000Z', deletedAt: null });
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    for (let i = 0; i < 5; i++) await audit.record({ ...auditEvent({ orgId: 'org_old', action: 'connector.create', decision: 'allow', target: `n${i}` }), ts: old });
    await audit.record(auditEvent({ orgId: 'org_old', action: 'connector.create', decision: 'allow', target: 'young' }));
    await audit.close();
    const head = (await appStore.auditAnchors.listCheckpoints('org_old')).find((c) => c.seq === 5);
    assert.ok(head !== undefined);
    const tomb = (await signer()).signTombstone({ orgId: 'org_old', firstSeq: 1, lastSeq: 5, headHash: head.hash, count: 5, ts: new Date().toISOString(), actor: 'test' });
    await assert.rejects(appStore.auditRetention.prune(tomb), /no audit retention/, 'an organisation without retention keeps everything');
    await appStore.auditRetention.setAuditSettings({ orgId: 'org_old', retentionDays: 30, viewerExport: false, updatedAt: new Date().toISOString() });
    await assert.rejects(appStore.auditRetention.prune({ ...tomb, lastSeq: 6, count: 6 }), /checkpoint|younger|head/);
    assert.equal(await appStore.auditRetention.prune(tomb), 5);
    const report = await verifyChain(appStore, 'org_old');
    assert.equal(report.ok, true, report.firstBreak?.reason);
    assert.deepEqual(report.pruned, { tombstones: 1, throughSeq: 5 });
  });

});
