/**
 * `npm run bench`: the same tools/call load (the fixture's `echo`) sent straight to an upstream and through the
 * gateway (API-key authentication, a non-`*` scope check and a hash-chained audit record on every call), over a
 * Streamable HTTP upstream and a stdio upstream, at concurrency 1, 16 and 64. Reports throughput, latency, the
 * gateway/direct ratios, the gateway's CPU per call and peak RSS, and memory per idle session; writes
 * .bench/results.json. Exits non-zero only when a run is invalid (any failed call or process), never for a miss.
 *
 * What each pair compares:
 *   http   direct  = this driver (node:http) -> fixture over Streamable HTTP
 *          gateway = this driver (node:http) -> gateway -> SDK client -> the same fixture process
 *   stdio  direct  = this driver's SDK client -> a fixture child over stdio (no HTTP anywhere)
 *          gateway = this driver (node:http) -> gateway -> SDK client -> the gateway's own stdio fixture child
 *
 * Options: --duration-ms N (4000), --max-requests N (20000), --warmup N (300), --sessions N (500),
 *          --no-info (skip the extra run at log level info), --profile (gateway under --cpu-prof, in .bench/profiles),
 *          --upstreams http,stdio and --concurrency 1,16,64 (a subset, e.g. for profiling one path),
 *          --gateway-node-args=... (V8/Node flags for the gateway processes; default as npm start: --max-semi-space-size=8)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from 'node:http';
import { httpToolCaller, openHttpSession, openStdioTarget, runLoad, type HttpSession, type Send } from './load.ts';
import { childPids, FIXTURE, machineBusyUs, procCpuUs, ROOT, startGateway, startHttpFixture, stopAll, type GatewayProcess } from './processes.ts';
import {
  evaluateTargets,
  infoTable,
  resourceTable,
  targetLines,
  throughputTable,
  type IdleSessions,
  type InfoRow,
  type PhaseResult,
  type Row,
} from './report.ts';

const { values: opts } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '4000' },
    'max-requests': { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '300' },
    sessions: { type: 'string', default: '500' },
    'no-info': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    upstreams: { type: 'string', default: 'http,stdio' },
    concurrency: { type: 'string', default: '1,16,64' },
    // The same V8 flags `npm start` runs the gateway with, so the bench measures what users run.
    'gateway-node-args': { type: 'string', default: '--max-semi-space-size=8' },
  },
  strict: true,
});
const DURATION_MS = Number(opts['duration-ms']);
const MAX_REQUESTS = Number(opts['max-requests']);
const WARMUP = Number(opts.warmup);
const IDLE_SESSIONS = Number(opts.sessions);
const CONCURRENCIES = opts.concurrency.split(',').map(Number);
const UPSTREAMS = (['http', 'stdio'] as const).filter((u) => opts.upstreams.split(',').includes(u));
const OUT_DIR = join(ROOT, '.bench');
/** Above this much CPU (in cores) used by unrelated processes during a phase, the phase is reported as disturbed. */
const DISTURBED_CORES = 0.2;

const problems: string[] = [];
/** Closers for what is not a tracked child process (the direct stdio client and its child). */
const cleanups: (() => Promise<void>)[] = [];

interface Subject {
  readonly label: string;
  readonly open: (concurrency: number) => { send: Send; close: () => void };
  readonly gateway?: GatewayProcess;
  readonly upstreamPid: () => number | undefined;
}

async function measure(subject: Subject, concurrency: number): Promise<PhaseResult> {
  const { send, close } = subject.open(concurrency);
  try {
    const warm = await runLoad(send, { concurrency, maxRequests: Math.max(WARMUP, concurrency), maxMs: 30_000 });
    const gwBefore = await subject.gateway?.stats();
    const upPid = subject.upstreamPid();
    const upBefore = upPid === undefined ? undefined : procCpuUs(upPid);
    const selfBefore = process.cpuUsage();
    const busyBefore = machineBusyUs();
    const r = await runLoad(send, { concurrency, maxRequests: MAX_REQUESTS, maxMs: DURATION_MS });
    const busyAfter = machineBusyUs();
    const self = process.cpuUsage(selfBefore);
    const upAfter = upPid === undefined ? undefined : procCpuUs(upPid);
    const gwAfter = await subject.gateway?.stats();
    for (const [what, x] of [['warm-up', warm], ['measured', r]] as const) {
      if (x.errors > 0) problems.push(`${subject.label} c${concurrency} ${what}: ${x.errors} failed calls, first: ${x.firstError ?? '?'}`);
    }
    const perCall = (us: number): number => us / Math.max(1, r.requests);
    const gwUs = gwBefore && gwAfter ? gwAfter.cpuUserUs + gwAfter.cpuSystemUs - gwBefore.cpuUserUs - gwBefore.cpuSystemUs : 0;
    const upUs = upBefore !== undefined && upAfter !== undefined ? upAfter - upBefore : undefined;
    const ours = gwUs + (upUs ?? 0) + self.user + self.system;
    return {
      ...r,
      gatewayCpuUsPerCall: gwBefore && gwAfter ? perCall(gwUs) : null,
      gatewayPeakRssMb: gwAfter ? gwAfter.peakRss / 1024 : null,
      upstreamCpuUsPerCall: upUs === undefined ? null : perCall(upUs),
      driverCpuUsPerCall: perCall(self.user + self.system),
      otherCores: busyBefore === undefined || busyAfter === undefined || upUs === undefined ? null : Math.max(0, busyAfter - busyBefore - ours) / (r.elapsedMs * 1000),
    };
  } finally {
    close();
  }
}

function httpSubject(label: string, session: HttpSession, tool: string, upstreamPid: () => number | undefined, gateway?: GatewayProcess): Subject {
  return { label, open: (c) => httpToolCaller(session, tool, c), upstreamPid, ...(gateway ? { gateway } : {}) };
}

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
  console.log(`phases: warm-up ${WARMUP} calls, then ${DURATION_MS} ms or ${MAX_REQUESTS} calls, whichever first; gateway log level warn\n`);

  const fixture = await startHttpFixture();
  const extraArgs = opts['gateway-node-args'].split(/\s+/).filter(Boolean);
  const nodeArgs = [...extraArgs, ...(opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(OUT_DIR, 'profiles')}`] : [])];
  const gw = await startGateway({ httpUrl: fixture.url, logLevel: 'warn', logFile: logFile('gateway-warn.log'), nodeArgs });
  const stdio = await openStdioTarget(process.execPath, [FIXTURE, '--stdio']);
  cleanups.push(() => stdio.close());
  const directSession = await openHttpSession(fixture.url);
  const gwSession = await openHttpSession(gw.url, gw.key);
  const gwStdioChild = (): number | undefined => childPids(gw.pid)[0];
  const startStats = await gw.stats(true);
  console.log(
    `gateway ready: RSS ${mb(startStats.rss)} MB, peak ${(startStats.peakRss / 1024).toFixed(1)} MB, heap ${mb(startStats.heapUsed)} MB used of ${mb(startStats.heapTotal)} MB\n`,
  );

  const subjects = {
    http: {
      direct: httpSubject('http direct', directSession, 'echo', () => fixture.pid),
      gateway: httpSubject('http gateway', gwSession, 'fx__echo', () => fixture.pid, gw),
    },
    stdio: {
      direct: { label: 'stdio direct', open: () => ({ send: stdio.send, close: () => undefined }), upstreamPid: () => stdio.pid ?? undefined },
      gateway: httpSubject('stdio gateway', gwSession, 'fxs__echo', gwStdioChild, gw),
    },
  } satisfies Record<string, Record<string, Subject>>;

  const rows: Row[] = [];
  let flip = false;
  for (const upstream of UPSTREAMS) {
    for (const concurrency of CONCURRENCIES) {
      const s = subjects[upstream];
      // Alternate which side goes first, so neither always runs on a machine warmed by the other.
      flip = !flip;
      const first = await measure(flip ? s.direct : s.gateway, concurrency);
      const second = await measure(flip ? s.gateway : s.direct, concurrency);
      const [direct, gateway] = flip ? [first, second] : [second, first];
      rows.push({ upstream, concurrency, direct, gateway, ratio: gateway.rps / direct.rps, addedP50Ms: gateway.p50Ms - direct.p50Ms });
      console.log(`  ${upstream} c${concurrency}: direct ${direct.rps.toFixed(0)} req/s, gateway ${gateway.rps.toFixed(0)} req/s`);
    }
  }
  const idle = await idleSessions(gw, IDLE_SESSIONS);
  await gw.close();

  const infoRows: InfoRow[] = [];
  if (!opts['no-info']) {
    const gwInfo = await startGateway({ httpUrl: fixture.url, logLevel: 'info', logFile: logFile('gateway-info.log'), nodeArgs: extraArgs });
    const session = await openHttpSession(gwInfo.url, gwInfo.key);
    const subject = httpSubject('http gateway (info)', session, 'fx__echo', () => fixture.pid, gwInfo);
    for (const concurrency of CONCURRENCIES) {
      const gateway = await measure(subject, concurrency);
      const direct = rows.find((r) => r.upstream === 'http' && r.concurrency === concurrency)?.direct;
      if (direct === undefined) continue;
      infoRows.push({ concurrency, gateway, ratio: gateway.rps / direct.rps, addedP50Ms: gateway.p50Ms - direct.p50Ms });
    }
    await gwInfo.close();
  }
  await fixture.close();

  const targets = evaluateTargets(rows);
  const results = { at: new Date().toISOString(), env, gatewayAtStart: startStats, options: { DURATION_MS, MAX_REQUESTS, WARMUP, logLevel: 'warn', profile: opts.profile }, rows, infoRows, idle, targets, problems };
  writeFileSync(join(OUT_DIR, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

  console.log('\nThroughput and latency (ms); gateway at log level warn');
  console.log(throughputTable(rows));
  console.log('\nResources per call (µs of CPU); peak RSS is the gateway process maxRSS after the phase');
  console.log(resourceTable(rows));
  if (infoRows.length > 0) {
    console.log('\nThe same HTTP load through a second gateway at log level info (one log line per request), against the direct runs above');
    console.log(infoTable(infoRows));
  }
  const a = idle.afterLoad;
  console.log(
    `\nGateway after the load phases, after GC: RSS ${a.rssMb.toFixed(1)} MB; V8 heap ${a.heapMb.toFixed(1)} MB used of ${a.heapTotalMb.toFixed(1)} MB committed; external ${a.externalMb.toFixed(1)} MB`,
  );
  console.log(
    `Idle sessions: ${idle.sessions} opened (initialize only): ${idle.rssKbPerSession.toFixed(2)} KB RSS, ${idle.heapKbPerSession.toFixed(2)} KB heap per session (both after GC; RSS moves in pages and reuses freed heap, heap is the finer measure)`,
  );
  const disturbed = [...rows.flatMap((r) => [[`${r.upstream} c${r.concurrency} direct`, r.direct], [`${r.upstream} c${r.concurrency} gateway`, r.gateway]] as const), ...infoRows.map((r) => [`info c${r.concurrency}`, r.gateway] as const)]
    .filter(([, p]) => (p.otherCores ?? 0) > DISTURBED_CORES)
    .map(([name, p]) => `${name} (${(p.otherCores ?? 0).toFixed(2)})`);
  if (disturbed.length > 0) {
    console.log(`\nNOTE: other processes used more than ${DISTURBED_CORES} of a core during: ${disturbed.join(', ')}. Those numbers are disturbed; run again on a quiet machine.`);
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
