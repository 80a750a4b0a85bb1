/**
 * `npm run bench`: the same tools/call load (the fixture's `echo`) sent straight to an upstream, through a plain
 * node:http byte proxy (HTTP only) and through the gateway (API-key authentication, a non-`*` scope check and a
 * hash-chained audit record on every call), over a Streamable HTTP upstream and a stdio upstream, at concurrency 1,
 * 16 and 64, each phase measured in several interleaved rounds. Reports the medians (and the spread of req/s) of
 * throughput and latency, the gateway/proxy and gateway/direct ratios, the gateway's CPU per call and peak RSS, memory
 * per idle session, and audit append throughput (SQLite and PostgreSQL, checkpoints off and on); writes .bench/results.json. Exits non-zero only when a run is
 * invalid (any failed call or process, a chain that does not verify), never for a missed target.
 *
 * What each leg is:
 *   http   direct  = this driver (node:http) -> fixture over Streamable HTTP
 *          proxy   = this driver (node:http) -> byte proxy (bench/byte-proxy.ts) -> the same fixture process
 *          gateway = this driver (node:http) -> gateway -> SDK client -> the same fixture process
 *   stdio  direct  = this driver's SDK client -> a fixture child over stdio (no HTTP anywhere)
 *          gateway = this driver (node:http) -> gateway -> SDK client -> the gateway's own stdio fixture child
 *
 * Options: --duration-ms N (2500), --max-requests N (20000), --warmup N (300), --rounds N (3), --sessions N (500),
 *          --no-info (skip the extra run at log level info), --no-protections (skip the gateway with the traffic protections on),
 *          --profile (gateway under --cpu-prof, in .bench/profiles),
 *          --upstreams http,stdio and --concurrency 1,16,64 (a subset, e.g. for profiling one path),
 *          --audit-records N (20000; 0 skips the audit append part), --no-audit-postgres (audit append on SQLite only),
 *          --gateway-node-args=... (Node flags for the gateway processes; default as npm start: --max-semi-space-size=8 --import ./bin/compile-cache.js)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from 'node:http';
import { openHttpSession, openStdioTarget } from './load.ts';
import { httpSubject, measureRounds, type Leg, type PhaseOptions, type Subject } from './phases.ts';
import { auditAppendLine, type AuditAppendResult } from './audit-append.ts';
import { DEFAULT_AUDIT_CHECKPOINT_EVERY as AUDIT_CHECKPOINT_EVERY } from '../src/config/schema.ts';
import { FIXTURE, ROOT, runAuditAppend, startByteProxy, startGateway, startHttpFixture, stdioUpstreamPid, stopAll, type GatewayProcess } from './processes.ts';
import {
  evaluateTargets,
  infoTable,
  protectionTable,
  type ProtectionRow,
  resourceTable,
  targetLines,
  throughputTable,
  type IdleSessions,
  type InfoRow,
  type Measured,
  type Row,
} from './report.ts';

const { values: opts } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '2500' },
    'max-requests': { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    'audit-records': { type: 'string', default: '20000' },
    sessions: { type: 'string', default: '500' },
    'no-info': { type: 'boolean', default: false },
    'no-protections': { type: 'boolean', default: false },
    'no-audit-postgres': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    upstreams: { type: 'string', default: 'http,stdio' },
    concurrency: { type: 'string', default: '1,16,64' },
    // The same V8 flags `npm start` runs the gateway with, so the bench measures what users run.
    'gateway-node-args': { type: 'string', default: '--max-semi-space-size=8 --import ./bin/compile-cache.js' },
  },
  strict: true,
});
const DURATION_MS = Number(opts['duration-ms']);
const MAX_REQUESTS = Number(opts['max-requests']);
const WARMUP = Number(opts.warmup);
const ROUNDS = Math.max(1, Number(opts.rounds));
const AUDIT_RECORDS = Number(opts['audit-records']);
const IDLE_SESSIONS = Number(opts.sessions);
const CONCURRENCIES = opts.concurrency.split(',').map(Number);
const UPSTREAMS = (['http', 'stdio'] as const).filter((u) => opts.upstreams.split(',').includes(u));
const OUT_DIR = join(ROOT, '.bench');
/** Above this much CPU (in cores) used by unrelated processes during a phase, the phase is reported as disturbed. */
const DISTURBED_CORES = 0.2;

const problems: string[] = [];
/** Closers for what is not a tracked child process (the direct stdio client and its child). */
const cleanups: (() => Promise<void>)[] = [];
const phaseOptions: PhaseOptions = { warmup: WARMUP, maxRequests: MAX_REQUESTS, durationMs: DURATION_MS, rounds: ROUNDS, problems };

function mb(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

function logFile(name: string): string {
  return join(OUT_DIR, name);
}

async function idleSessions(gw: GatewayProcess, n: number): Promise<IdleSessions> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  try {
    const before = await gw.stats(true);
    let opened = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (opened < n) {
          opened++;
          await openHttpSession(gw.url, gw.key, agent);
        }
      }),
    );
    const after = await gw.stats(true);
    if (after.sessions - before.sessions !== n) problems.push(`idle sessions: expected ${n} new sessions, gateway holds ${after.sessions - before.sessions}`);
    return {
      sessions: n,
      rssKbPerSession: (after.rss - before.rss) / 1024 / n,
      heapKbPerSession: (after.heapUsed - before.heapUsed) / 1024 / n,
      afterLoad: { rssMb: before.rss / 2 ** 20, heapMb: before.heapUsed / 2 ** 20, heapTotalMb: before.heapTotal / 2 ** 20, externalMb: before.external / 2 ** 20 },
    };
  } finally {
    agent.destroy();
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  const env = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    memoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
  };
  console.log(`Gatehouse bench: ${env.cpus} CPUs (${env.cpuModel}), ${env.memoryMb} MB, Node ${env.node}, load average ${env.loadAverage.join(' ')}`);
  const legs =
    UPSTREAMS.reduce((n, u) => n + (u === 'http' ? 3 : 2), 0) * CONCURRENCIES.length +
    (opts['no-info'] || !UPSTREAMS.includes('http') ? 0 : CONCURRENCIES.length) +
    (opts['no-protections'] ? 0 : 2 * UPSTREAMS.length * CONCURRENCIES.length);
  console.log(
    `phases: warm-up ${WARMUP} calls, then ${DURATION_MS} ms or ${MAX_REQUESTS} calls, whichever first; ${ROUNDS} rounds of ${legs} phases ` +
      `(about ${Math.ceil((ROUNDS * legs * (DURATION_MS + 400)) / 60_000)} min); tables show medians; gateway log level warn\n`,
  );

  const fixture = await startHttpFixture();
  const proxy = await startByteProxy(fixture.url);
  const extraArgs = opts['gateway-node-args'].split(/\s+/).filter(Boolean);
  const nodeArgs = [...extraArgs, ...(opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(OUT_DIR, 'profiles')}`] : [])];
  const gw = await startGateway({ httpUrl: fixture.url, logLevel: 'warn', logFile: logFile('gateway-warn.log'), nodeArgs });
  const stdio = await openStdioTarget(process.execPath, [FIXTURE, '--stdio']);
  cleanups.push(() => stdio.close());
  const directSession = await openHttpSession(fixture.url);
  const proxySession = await openHttpSession(proxy.url);
  const gwSession = await openHttpSession(gw.url, gw.key);
  const gwStdioChild = (): number | undefined => stdioUpstreamPid(gw.pid);
  const startStats = await gw.stats(true);
  console.log(
    `gateway ready: RSS ${mb(startStats.rss)} MB, peak ${(startStats.peakRss / 1024).toFixed(1)} MB, heap ${mb(startStats.heapUsed)} MB used of ${mb(startStats.heapTotal)} MB\n`,
  );

  const subjects = {
    http: {
      direct: httpSubject('http direct', directSession, 'echo', () => fixture.pid),
      proxy: httpSubject('http proxy', proxySession, 'echo', () => fixture.pid, { hopPid: proxy.pid }),
      gateway: httpSubject('http gateway', gwSession, 'fx__echo', () => fixture.pid, { gateway: gw }),
    },
    stdio: {
      direct: { label: 'stdio direct', open: () => ({ send: stdio.send, close: () => undefined }), upstreamPid: () => stdio.pid ?? undefined },
      gateway: httpSubject('stdio gateway', gwSession, 'fxs__echo', gwStdioChild, { gateway: gw }),
    },
  } satisfies Record<string, Partial<Record<Leg, Subject>>>;

  const rows: Row[] = [];
  let shiftBy = 0;
  for (const upstream of UPSTREAMS) {
    for (const concurrency of CONCURRENCIES) {
      const legs = Object.entries(subjects[upstream]) as [Leg, Subject][];
      const m = await measureRounds(legs, concurrency, shiftBy++, phaseOptions);
      const direct = m.get('direct')!;
      const gateway = m.get('gateway')!;
      const proxied = m.get('proxy') ?? null;
      rows.push({
        upstream,
        concurrency,
        direct,
        proxy: proxied,
        gateway,
        ratio: gateway.rps / direct.rps,
        proxyRatio: proxied === null ? null : gateway.rps / proxied.rps,
        addedP50Ms: gateway.p50Ms - direct.p50Ms,
        proxyAddedP50Ms: proxied === null ? null : proxied.p50Ms - direct.p50Ms,
      });
      const via = proxied === null ? '' : `, proxy ${proxied.rps.toFixed(0)}`;
      console.log(`  ${upstream} c${concurrency} (median of ${ROUNDS}): direct ${direct.rps.toFixed(0)}${via}, gateway ${gateway.rps.toFixed(0)} req/s`);
    }
  }
  // The traffic protections' cost: a second gateway with all of them on (bench/protections.ts) takes the same load
  // as the plain one, interleaved in the same rounds, so the ratio of CPU per call is measured on the same machine state.
  const protectionRows: ProtectionRow[] = [];
  if (!opts['no-protections']) {
    const gwProt = await startGateway({ httpUrl: fixture.url, logLevel: 'warn', logFile: logFile('gateway-protected.log'), nodeArgs, protections: true });
    const protSession = await openHttpSession(gwProt.url, gwProt.key);
    const protStdioChild = (): number | undefined => stdioUpstreamPid(gwProt.pid);
    const pairs = {
      http: [subjects.http.gateway, httpSubject('http protected', protSession, 'fx__echo', () => fixture.pid, { gateway: gwProt })],
      stdio: [subjects.stdio.gateway, httpSubject('stdio protected', protSession, 'fxs__echo', protStdioChild, { gateway: gwProt })],
    } as const;
    for (const upstream of UPSTREAMS) {
      for (const concurrency of CONCURRENCIES) {
        const [plainSubject, protSubject] = pairs[upstream];
        const m = await measureRounds([['gateway', plainSubject], ['protected', protSubject]], concurrency, shiftBy++, phaseOptions);
        const plain = m.get('gateway')!;
        const prot = m.get('protected')!;
        const cpuRatio = plain.gatewayCpuUsPerCall === null || prot.gatewayCpuUsPerCall === null ? null : prot.gatewayCpuUsPerCall / plain.gatewayCpuUsPerCall;
        protectionRows.push({ upstream, concurrency, plain, protected: prot, cpuRatio, rpsRatio: prot.rps / plain.rps });
        console.log(`  ${upstream} c${concurrency} protections (median of ${ROUNDS}): plain ${plain.rps.toFixed(0)}, protected ${prot.rps.toFixed(0)} req/s`);
      }
    }
    await gwProt.close();
  }
  const idle = await idleSessions(gw, IDLE_SESSIONS);
  await gw.close();

  const infoRows: InfoRow[] = [];
  if (!opts['no-info']) {
    const gwInfo = await startGateway({ httpUrl: fixture.url, logLevel: 'info', logFile: logFile('gateway-info.log'), nodeArgs: extraArgs });
    const session = await openHttpSession(gwInfo.url, gwInfo.key);
    const subject = httpSubject('http gateway (info)', session, 'fx__echo', () => fixture.pid, { gateway: gwInfo });
    for (const concurrency of CONCURRENCIES) {
      const row = rows.find((r) => r.upstream === 'http' && r.concurrency === concurrency);
      if (row === undefined) continue;
      const gateway = (await measureRounds([['gateway', subject]], concurrency, 0, phaseOptions)).get('gateway')!;
      infoRows.push({
        concurrency,
        gateway,
        ratio: gateway.rps / row.direct.rps,
        proxyRatio: row.proxy === null ? null : gateway.rps / row.proxy.rps,
        addedP50Ms: gateway.p50Ms - row.direct.p50Ms,
      });
    }
    await gwInfo.close();
  }
  await proxy.close();
  await fixture.close();

  // Last, with the other processes gone: its own process, on the real store in a temporary data directory.
  // Each store with checkpoints off and at the gateway's default (a signed head every 100 records), one after the
  // other: the difference is what checkpointing costs per record.
  const audits: AuditAppendResult[] = [];
  if (AUDIT_RECORDS > 0) {
    for (const store of opts['no-audit-postgres'] ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const)) {
      for (const checkpointEvery of [0, AUDIT_CHECKPOINT_EVERY]) {
        const r = await runAuditAppend({ records: AUDIT_RECORDS, inFlight: 64, orgs: 3, store, checkpointEvery });
        problems.push(...r.problems.map((p) => `${store}, checkpoints every ${checkpointEvery}: ${p}`));
        audits.push(r);
      }
    }
  }
  const audit = audits.find((r) => r.store === 'sqlite' && r.checkpointEvery === 0);

  const targets = evaluateTargets(rows, { readyPeakRssMb: startStats.peakRss / 1024, auditRecordsPerSecond: audit?.recordsPerSecond ?? null, protections: protectionRows });
  const results = {
    at: new Date().toISOString(),
    env,
    gatewayAtStart: startStats,
    options: { DURATION_MS, MAX_REQUESTS, WARMUP, ROUNDS, logLevel: 'warn', profile: opts.profile },
    rows,
    infoRows,
    protectionRows,
    idle,
    audit,
    audits,
    targets,
    problems,
  };
  writeFileSync(join(OUT_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

  console.log(`\nThroughput and latency (ms): medians of ${ROUNDS} rounds, req/s with (min-max); gateway at log level warn`);
  console.log(throughputTable(rows));
  console.log('\nResources per call (µs of CPU; d/p/gw = direct/proxy/gateway); peak RSS is the gateway process maxRSS after the phase');
  console.log(resourceTable(rows));
  if (infoRows.length > 0) {
    console.log('\nThe same HTTP load through a second gateway at log level info (one log line per request), against the direct runs above');
    console.log(infoTable(infoRows));
  }
  if (protectionRows.length > 0) {
    console.log('\nThe same load through the plain gateway and a second one with every traffic protection on (bench/protections.ts), interleaved');
    console.log(protectionTable(protectionRows));
  }
  const a = idle.afterLoad;
  console.log(
    `\nGateway after the load phases, after GC: RSS ${a.rssMb.toFixed(1)} MB; V8 heap ${a.heapMb.toFixed(1)} MB used of ${a.heapTotalMb.toFixed(1)} MB committed; external ${a.externalMb.toFixed(1)} MB`,
  );
  console.log(
    `Idle sessions: ${idle.sessions} opened (initialize only): ${idle.rssKbPerSession.toFixed(2)} KB RSS, ${idle.heapKbPerSession.toFixed(2)} KB heap per session (both after GC; RSS moves in pages and reuses freed heap, heap is the finer measure)`,
  );
  if (audits.length > 0) {
    console.log(`\nAudit append (the store + createAuditLog().record, ${AUDIT_RECORDS} records, 64 in flight over 3 organisations, chains verified after)`);
    for (const r of audits) console.log(`  ${auditAppendLine(r)}`);
    for (const store of ['sqlite', 'postgres'] as const) {
      const off = audits.find((r) => r.store === store && r.checkpointEvery === 0);
      const on = audits.find((r) => r.store === store && r.checkpointEvery !== 0);
      if (off === undefined || on === undefined) continue;
      console.log(
        `  ${store}: checkpointing every ${on.checkpointEvery ?? 0} records costs ${(on.cpuUsPerRecord - off.cpuUsPerRecord).toFixed(1)} µs CPU and ` +
          `${(on.usPerRecord - off.usPerRecord).toFixed(1)} µs wall per record (${((on.recordsPerSecond / off.recordsPerSecond) * 100).toFixed(1)}% of the throughput without)`,
      );
    }
  }
  const phases: [string, Measured][] = [
    ...rows.flatMap((r) => (['direct', 'proxy', 'gateway'] as const).flatMap((leg) => (r[leg] === null ? [] : [[`${r.upstream} c${r.concurrency} ${leg}`, r[leg]] as [string, Measured]]))),
    ...infoRows.map((r) => [`info c${r.concurrency}`, r.gateway] as [string, Measured]),
    ...protectionRows.map((r) => [`${r.upstream} c${r.concurrency} protected`, r.protected] as [string, Measured]),
  ];
  const disturbed = phases.flatMap(([name, p]) => {
    const hits = p.perRound.map((x, i) => [i + 1, x.otherCores ?? 0] as const).filter(([, cores]) => cores > DISTURBED_CORES);
    return hits.length === 0 ? [] : [`${name} (${hits.map(([i, cores]) => `round ${i}: ${cores.toFixed(2)}`).join(', ')})`];
  });
  if (disturbed.length > 0) {
    console.log(
      `\nNOTE: other processes used more than ${DISTURBED_CORES} of a core during: ${disturbed.join('; ')}. ` +
        'The medians damp single disturbed rounds; where most rounds are disturbed, run again on a quiet machine.',
    );
  }
  console.log('\nTargets (reported, not asserted)');
  console.log(targetLines(targets));
  if (opts.profile) console.log(`\nCPU profile(s) of the gateway in ${join(OUT_DIR, 'profiles')} (numbers above are inflated by the profiler)`);
  console.log(`\nResults written to ${join(OUT_DIR, 'results.json')}`);
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}

process.on('SIGINT', () => {
  void stopAll().then(() => process.exit(130));
});

try {
  await main();
} catch (err) {
  problems.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
  const log = tail(logFile('gateway-warn.log'));
  if (log !== '') problems.push(`gateway log (tail):\n${log}`);
} finally {
  await Promise.allSettled(cleanups.map((c) => c()));
  await stopAll();
}
if (problems.length > 0) {
  console.error('\nINVALID RUN:');
  for (const p of problems) console.error(`  ${p}`);
  process.exitCode = 1;
}
