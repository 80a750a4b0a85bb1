import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { verifyChain } from '../../src/gateway/audit/verify.ts';
import { PostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/types.ts';

const WRITER = join(import.meta.dirname, '../fixtures/audit-writer.ts');
const PG_URL = process.env.GATEHOUSE_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Writer {
  readonly child: ChildProcess;
  readonly answered: string[];
  readonly exited: Promise<number | null>;
}

function startWriter(where: string, schema: string, org: string, count: number): Writer {
  const child = spawn(process.execPath, [WRITER, where, schema, org, String(count), '8'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const answered: string[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => answered.push(l));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    resolve(code);
  }));
  return { child, answered, exited };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function correlationIds(store: Store, org: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (let after = 0; ; ) {
    const page = await store.listAudit(org, after, 1000);
    for (const r of page) if (r.correlationId !== null) ids.add(r.correlationId);
    const last = page.at(-1);
    if (last === undefined) return ids;
    after = last.seq;
  }
}

const schema = `gatehouse_crash_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-crash-'));

void describe('audit crash consistency', { timeout: 120_000 }, () => {
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });

  for (const [name, where, open] of [
    ['SQLite', dir, () => SqliteStore.openInDataDir(dir)],
    ['PostgreSQL', PG_URL, () => new PostgresStore(PG_URL, { schema, poolSize: 2 })],
  ] as const) {
    test(`${name}: SIGKILL under heavy traffic loses no answered record, and the chain continues from the last persisted one`, async () => {
      const org = `org_kill_${name.toLowerCase()}`;
      const w = startWriter(where, name === 'SQLite' ? '-' : schema, org, 0);
      try {
        await until(() => w.answered.length >= 300, 60_000);
      } finally {
        w.child.kill('SIGKILL');
      }
      await w.exited;
      const answered = [...w.answered];
      const store = open();
      try {
        const stored = await correlationIds(store, org);
        const lost = answered.filter((id) => !stored.has(id));
        assert.deepEqual(lost, [], 'every record whose append was answered is in the store');
        const before = await verifyChain(store, org);
        assert.equal(before.ok, true, before.firstBreak?.reason);
        const again = startWriter(where, name === 'SQLite' ? '-' : schema, org, 20);
        assert.equal(await again.exited, 0);
        const report = await verifyChain(store, org);
        assert.equal(report.ok, true, report.firstBreak?.reason);
        assert.equal(report.verified, before.verified + 20, 'the chain continues from the last persisted record');
      } finally {
        await store.close();
      }
    });
  }

  test('PostgreSQL: four gateway processes writing one chain at once never fork it', async () => {
    const org = 'org_many_writers';
    const writers = Array.from({ length: 4 }, () => startWriter(PG_URL, schema, org, 150));
    const codes = await Promise.all(writers.map((w) => w.exited));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const store = new PostgresStore(PG_URL, { schema, poolSize: 2 });
    try {
      const records = await store.listAudit(org, 0, 1000);
      assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 600 }, (_, i) => i + 1), 'one seq each, no gap, no duplicate');
      const report = await verifyChain(store, org);
      assert.equal(report.ok, true, report.firstBreak?.reason);
      assert.equal(report.verified, 600);
      assert.equal(new Set(records.map((r) => r.correlationId)).size, 600);
    } finally {
      await store.close();
    }
  });
});
