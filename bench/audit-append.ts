/**
 * Audit append throughput on SQLite through the real store: `openStore` on a temporary data directory (so the
 * migrations, pragmas and indexes are the shipped ones) and `createAuditLog(...).record(event)`, the call the
 * gateway makes for every request. `inFlight` appenders each await their record before sending the next, over a
 * few organisations, until `records` are written; then every chain is verified from its first record.
 *
 * Run alone with `node bench/audit-append.ts [--records N] [--in-flight N] [--orgs N] [--json]`; bench/run.ts runs it
 * last, as its own process (`--json`: one JSON line of the result), so the driver's heap and history are not in it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createAuditLog } from '../src/gateway/audit/audit-log.ts';
import { verifyChain } from '../src/gateway/audit/verify.ts';
import pg from 'pg';
import { createCheckpointer } from '../src/gateway/audit/checkpoints.ts';
import { loadAuditSigner } from '../src/gateway/audit/signing.ts';
import { openStore } from '../src/store/open-store.ts';
import { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import type { AuditEvent, Store } from '../src/store/types.ts';
import { auditSigningKeyVault } from '../src/vault/audit-signing-key.ts';
import { SecretBox } from '../src/vault/secret-box.ts';

export interface AuditAppendOptions {
  readonly records: number;
  readonly inFlight: number;
  readonly orgs: number;
  /** Default sqlite; postgres runs on GATEHOUSE_BENCH_DATABASE_URL (default the local test database) in a schema of its own. */
  readonly store?: 'sqlite' | 'postgres';
  /** Sign each chain's head every this many records; 0 or absent: no checkpoints. */
  readonly checkpointEvery?: number;
}

export interface AuditAppendResult extends AuditAppendOptions {
  readonly elapsedMs: number;
  readonly recordsPerSecond: number;
  /** Wall time per record (1e6 / records per second). */
  readonly usPerRecord: number;
  /** CPU (user+system) of this process per record, hashing and sealing included. */
  readonly cpuUsPerRecord: number;
  /** Each record's own wait from record() to its resolution, in ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Problems that make the measurement invalid: failed appends, a chain that does not verify, a wrong count. */
  readonly problems: readonly string[];
}

const TOOLS = ['echo', 'search_issues', 'read_file', 'create_ticket', 'list_channels'] as const;
const CONNECTORS = ['github', 'jira', 'slack', 'fs'] as const;

/** An event shaped like the gateway's tools/call records: key, client address, target, latency, redacted args. */
function eventFor(orgId: string, i: number): AuditEvent {
  const tool = TOOLS[i % TOOLS.length]!;
  return {
    ts: new Date().toISOString(),
    orgId,
    actorKeyId: `key_${String(i % 7).padStart(2, '0')}${orgId.slice(-4)}`,
    actorUser: i % 3 === 0 ? `user${i % 11}@example.com` : null,
    clientIp: `10.0.${i % 4}.${(i % 200) + 1}`,
    action: 'tools/call',
    targetConnector: CONNECTORS[i % CONNECTORS.length]!,
    targetName: tool,
    decision: i % 50 === 0 ? 'deny' : 'allow',
    reason: i % 50 === 0 ? 'scope does not allow this tool' : null,
    latencyMs: 1 + (i % 37) / 10,
    correlationId: randomUUID(),
    args: JSON.stringify({ query: `is:open label:bug repo:acme/service-${i % 13}`, limit: 20, token: '[redacted]' }),
    detail: i % 50 === 0 ? JSON.stringify({ guard: [{ rule: 'secret.github_token', at: 'arguments.query', action: 'block' }] }) : null,
  };
}

export async function measureAuditAppend(opts: AuditAppendOptions): Promise<AuditAppendResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-audit-'));
  const pgUrl = process.env.GATEHOUSE_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `gatehouse_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  let store: Store;
  if (opts.store === 'postgres') {
    store = new PostgresStore(pgUrl, { schema, poolSize: 10 });
    await store.migrate();
  } else store = await openStore({ dataDir, databaseUrl: undefined, databaseMigratorUrl: undefined });
  const problems: string[] = [];
  const log = pino({ level: 'silent' });
  const every = opts.checkpointEvery ?? 0;
  const checkpoints =
    every > 0
      ? createCheckpointer({
          anchors: store.auditAnchors,
          signer: () => loadAuditSigner(store.auditAnchors, auditSigningKeyVault(new SecretBox(randomBytes(32)))),
          settings: { every, intervalMs: 10_000 },
          log,
        })
      : undefined;
  try {
    const audit = createAuditLog({ store, log, checkpoints });
    const orgIds = Array.from({ length: opts.orgs }, () => `org_${randomUUID()}`);
    const latencies = new Float64Array(opts.records);
    let issued = 0;
    let done = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
      while (issued < opts.records) {
        const i = issued++;
        const t0 = performance.now();
        try {
          await audit.record(eventFor(orgIds[i % orgIds.length]!, i));
          latencies[done++] = performance.now() - t0;
        } catch (err) {
          if (failed++ === 0) problems.push(`audit append failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    };
    // A short warm-up on a chain of its own, so statement preparation and JIT are not in the measurement.
    for (let i = 0; i < 200; i++) await audit.record(eventFor('org_warmup', i));
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: opts.inFlight }, worker));
    const elapsedMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    await audit.close();
    if (failed > 0) problems.push(`${failed} of ${opts.records} audit appends failed`);

    let verified = 0;
    for (const orgId of orgIds) {
      const report = await verifyChain(store, orgId);
      verified += report.verified;
      if (!report.ok) problems.push(`chain ${orgId} does not verify: ${report.firstBreak?.reason ?? '?'}`);
    }
    if (verified !== done) problems.push(`${done} appends resolved but ${verified} records verify`);

    const sorted = latencies.subarray(0, done).sort();
    const rank = (q: number): number => (done === 0 ? Number.NaN : sorted[Math.min(done - 1, Math.max(0, Math.ceil(q * done) - 1))]!);
    const recordsPerSecond = (done / elapsedMs) * 1000;
    return {
      ...opts,
      elapsedMs,
      recordsPerSecond,
      usPerRecord: 1e6 / recordsPerSecond,
      cpuUsPerRecord: (cpu.user + cpu.system) / Math.max(1, done),
      p50Ms: rank(0.5),
      p99Ms: rank(0.99),
      problems,
    };
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (opts.store === 'postgres') {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  }
}

export const AUDIT_APPEND_TARGET = 20_000;

export function auditAppendLine(r: AuditAppendResult): string {
  return (
    `${r.store ?? 'sqlite'}, checkpoints ${r.checkpointEvery ? `every ${r.checkpointEvery}` : 'off'}: ${r.records} records, ${r.inFlight} in flight over ${r.orgs} organisations: ${r.recordsPerSecond.toFixed(0)} records/s, ` +
    `${r.usPerRecord.toFixed(1)} µs/record wall, ${r.cpuUsPerRecord.toFixed(1)} µs/record CPU; each record waits p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '20000' },
      'in-flight': { type: 'string', default: '64' },
      orgs: { type: 'string', default: '3' },
      store: { type: 'string', default: 'sqlite' },
      'checkpoint-every': { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const r = await measureAuditAppend({
    records: Number(values.records), inFlight: Number(values['in-flight']), orgs: Number(values.orgs),
    store: values.store === 'postgres' ? 'postgres' : 'sqlite', checkpointEvery: Number(values['checkpoint-every']),
  });
  if (values.json) {
    console.log(JSON.stringify(r));
  } else {
    console.log(auditAppendLine(r));
    for (const p of r.problems) console.error(`INVALID: ${p}`);
    if (r.problems.length > 0) process.exitCode = 1;
  }
}
