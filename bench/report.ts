/** Result shapes, the readable tables and the targets of the benchmark. Reports only: a miss never fails the run. */
import { AUDIT_APPEND_TARGET } from './audit-append.ts';
import type { LoadResult } from './load.ts';

export interface PhaseResult extends LoadResult {
  /** Gateway user+system CPU during the measured phase, per completed call (gateway phases only). */
  readonly gatewayCpuUsPerCall: number | null;
  /** Gateway maxRSS after the phase (the peak so far in that process), in MB (gateway phases only). */
  readonly gatewayPeakRssMb: number | null;
  /** CPU of the upstream process (HTTP fixture, or the stdio fixture child) per call; null where /proc is missing. */
  readonly upstreamCpuUsPerCall: number | null;
  /** CPU of the byte proxy process per call (byte-proxy phases only). */
  readonly proxyCpuUsPerCall: number | null;
  /** CPU of this driver process per call: the load generator (and, for direct stdio, the SDK client). */
  readonly driverCpuUsPerCall: number;
  /**
   * CPU the rest of the machine used during the phase (everything but driver, gateway and upstream), in cores:
   * 0.3 means 30% of one core went elsewhere. Large values mean the run was disturbed.
   */
  readonly otherCores: number | null;
}

/** One phase measured over several rounds: the median of each number, the spread of req/s, and every round. */
export interface Measured extends PhaseResult {
  readonly rounds: number;
  readonly rpsMin: number;
  readonly rpsMax: number;
  readonly perRound: readonly PhaseResult[];
}

export interface Row {
  readonly upstream: 'http' | 'stdio';
  readonly concurrency: number;
  readonly direct: Measured;
  /** The byte proxy between the driver and the same upstream (HTTP only). */
  readonly proxy: Measured | null;
  readonly gateway: Measured;
  /** Gateway req/s divided by direct req/s. */
  readonly ratio: number;
  /** Gateway req/s divided by byte-proxy req/s (HTTP only). */
  readonly proxyRatio: number | null;
  /** Gateway p50 minus direct p50, in ms. */
  readonly addedP50Ms: number;
  /** Byte-proxy p50 minus direct p50, in ms (HTTP only). */
  readonly proxyAddedP50Ms: number | null;
}

export interface InfoRow {
  readonly concurrency: number;
  readonly gateway: Measured;
  /** Against the direct and byte-proxy HTTP phases of the main (warn) run at the same concurrency. */
  readonly ratio: number;
  readonly proxyRatio: number | null;
  readonly addedP50Ms: number;
}

/** The same load through the plain gateway and one with the protections on, interleaved in the same rounds. */
export interface ProtectionRow {
  readonly upstream: 'http' | 'stdio';
  readonly concurrency: number;
  readonly plain: Measured;
  readonly protected: Measured;
  /** Gateway CPU per call with the protections over without. */
  readonly cpuRatio: number | null;
  readonly rpsRatio: number;
}

export function protectionTable(rows: readonly ProtectionRow[]): string {
  return table(
    ['upstream', 'conc', 'plain req/s', 'protected req/s', 'req/s ratio', 'plain p50', 'protected p50', 'plain CPU µs/call', 'protected CPU µs/call', 'extra CPU/call', 'protected peak RSS MB'],
    rows.map((r) => [
      r.upstream,
      String(r.concurrency),
      rate(r.plain),
      rate(r.protected),
      pct(r.rpsRatio),
      f(r.plain.p50Ms, 3),
      f(r.protected.p50Ms, 3),
      f(r.plain.gatewayCpuUsPerCall, 0),
      f(r.protected.gatewayCpuUsPerCall, 0),
      r.cpuRatio === null ? '-' : `${r.cpuRatio >= 1 ? '+' : ''}${((r.cpuRatio - 1) * 100).toFixed(1)}%`,
      f(r.protected.gatewayPeakRssMb, 1),
    ]),
  );
}

export interface IdleSessions {
  readonly sessions: number;
  readonly rssKbPerSession: number;
  readonly heapKbPerSession: number;
  /** The gateway after all load phases, after GC, before the sessions were opened. */
  readonly afterLoad: { readonly rssMb: number; readonly heapMb: number; readonly heapTotalMb: number; readonly externalMb: number };
}

export interface Target {
  readonly name: string;
  readonly value: string;
  readonly limit: string;
  readonly pass: boolean;
}

const f = (v: number | null, digits: number): string => (v === null || Number.isNaN(v) ? '-' : v.toFixed(digits));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function median(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** The median of each number over the rounds; peak RSS is the largest (it is a peak), errors are summed. */
export function combineRounds(rounds: readonly PhaseResult[]): Measured {
  const m = (get: (p: PhaseResult) => number | null): number | null => median(rounds.map(get));
  const n = (get: (p: PhaseResult) => number): number => m(get) ?? Number.NaN;
  const rps = rounds.map((r) => r.rps);
  const peaks = rounds.map((r) => r.gatewayPeakRssMb).filter((x): x is number => x !== null);
  return {
    requests: n((r) => r.requests),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    firstError: rounds.find((r) => r.firstError !== undefined)?.firstError,
    elapsedMs: n((r) => r.elapsedMs),
    rps: n((r) => r.rps),
    p50Ms: n((r) => r.p50Ms),
    p99Ms: n((r) => r.p99Ms),
    meanMs: n((r) => r.meanMs),
    gatewayCpuUsPerCall: m((r) => r.gatewayCpuUsPerCall),
    gatewayPeakRssMb: peaks.length > 0 ? Math.max(...peaks) : null,
    upstreamCpuUsPerCall: m((r) => r.upstreamCpuUsPerCall),
    proxyCpuUsPerCall: m((r) => r.proxyCpuUsPerCall),
    driverCpuUsPerCall: n((r) => r.driverCpuUsPerCall),
    otherCores: m((r) => r.otherCores),
    rounds: rounds.length,
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    perRound: rounds,
  };
}

/** Median req/s with the spread of the rounds: `5120 (4980-5300)`. */
function rate(p: Measured | null): string {
  if (p === null) return '-';
  return p.rounds > 1 ? `${f(p.rps, 0)} (${f(p.rpsMin, 0)}-${f(p.rpsMax, 0)})` : f(p.rps, 0);
}

const pct = (v: number | null): string => (v === null ? '-' : `${f(v * 100, 1)}%`);

export function throughputTable(rows: readonly Row[]): string {
  return table(
    ['upstream', 'conc', 'direct req/s', 'proxy req/s', 'gw req/s', 'gw/proxy', 'gw/direct', 'direct p50', 'proxy p50', 'gw p50', 'added p50 gw/proxy', 'gw p99'],
    rows.map((r) => [
      r.upstream,
      String(r.concurrency),
      rate(r.direct),
      rate(r.proxy),
      rate(r.gateway),
      pct(r.proxyRatio),
      pct(r.ratio),
      f(r.direct.p50Ms, 3),
      f(r.proxy?.p50Ms ?? null, 3),
      f(r.gateway.p50Ms, 3),
      `${f(r.addedP50Ms, 3)}/${f(r.proxyAddedP50Ms, 3)}`,
      f(r.gateway.p99Ms, 3),
    ]),
  );
}

export function resourceTable(rows: readonly Row[]): string {
  const dpg = (r: Row, get: (p: PhaseResult) => number | null, digits: number): string =>
    [r.direct, r.proxy, r.gateway].map((p) => (p === null ? '-' : f(get(p), digits))).join('/');
  return table(
    ['upstream', 'conc', 'gw CPU µs/call', 'proxy CPU µs/call', 'gw peak RSS MB', 'upstream µs/call d/p/gw', 'driver µs/call d/p/gw', 'other cores d/p/gw'],
    rows.map((r) => [
      r.upstream,
      String(r.concurrency),
      f(r.gateway.gatewayCpuUsPerCall, 0),
      f(r.proxy?.proxyCpuUsPerCall ?? null, 0),
      f(r.gateway.gatewayPeakRssMb, 1),
      dpg(r, (p) => p.upstreamCpuUsPerCall, 0),
      dpg(r, (p) => p.driverCpuUsPerCall, 0),
      dpg(r, (p) => p.otherCores, 2),
    ]),
  );
}

export function infoTable(rows: readonly InfoRow[]): string {
  return table(
    ['upstream', 'conc', 'gw req/s', 'gw/proxy', 'gw/direct', 'gw p50', 'added p50', 'gw p99', 'gw CPU µs/call', 'gw peak RSS MB'],
    rows.map((r) => [
      'http',
      String(r.concurrency),
      rate(r.gateway),
      pct(r.proxyRatio),
      pct(r.ratio),
      f(r.gateway.p50Ms, 3),
      f(r.addedP50Ms, 3),
      f(r.gateway.p99Ms, 3),
      f(r.gateway.gatewayCpuUsPerCall, 0),
      f(r.gateway.gatewayPeakRssMb, 1),
    ]),
  );
}

/** What the targets are judged on besides the rows: the gateway once ready, and the audit append run. */
export interface TargetInputs {
  readonly readyPeakRssMb: number;
  readonly auditRecordsPerSecond: number | null;
  readonly protections?: readonly ProtectionRow[];
}

/** Gateway CPU per call with every protection on, over the plain gateway's in the same rounds. */
const PROTECTION_CPU_RATIO = 1.25;

/** Gateway CPU budget per call at concurrency 64, by upstream; other concurrencies keep the earlier 400 µs. */
const CPU_BUDGET_C64_US = { http: 300, stdio: 200 } as const;
const CPU_BUDGET_US = 400;

/** The targets, as ratios and budgets within one run, judged on the medians of the rounds. */
export function evaluateTargets(rows: readonly Row[], inputs: TargetInputs): Target[] {
  const targets: Target[] = [];
  for (const r of rows) {
    if (r.upstream === 'http' && r.concurrency >= 16 && r.proxyRatio !== null) {
      targets.push({ name: `http c${r.concurrency} throughput gw/proxy`, value: pct(r.proxyRatio), limit: '>= 90%', pass: r.proxyRatio >= 0.9 });
    }
    if (r.concurrency === 1) {
      targets.push({ name: `${r.upstream} c1 added p50 over direct`, value: `${f(r.addedP50Ms, 3)} ms`, limit: '<= 0.500 ms', pass: r.addedP50Ms <= 0.5 });
    }
    const cpu = r.gateway.gatewayCpuUsPerCall ?? Number.POSITIVE_INFINITY;
    const budget = r.concurrency === 64 ? CPU_BUDGET_C64_US[r.upstream] : CPU_BUDGET_US;
    targets.push({ name: `${r.upstream} c${r.concurrency} gateway CPU per call`, value: `${f(cpu, 0)} µs`, limit: `<= ${budget} µs`, pass: cpu <= budget });
    if (r.upstream === 'http') {
      const direct = r.direct.upstreamCpuUsPerCall;
      const behind = r.gateway.upstreamCpuUsPerCall;
      const ratio = direct === null || behind === null || direct === 0 ? null : behind / direct;
      targets.push({
        name: `http c${r.concurrency} upstream CPU per call gw/direct`,
        value: pct(ratio),
        limit: '<= 110%',
        pass: ratio !== null && ratio <= 1.1,
      });
    }
  }
  const c64 = rows.filter((r) => r.concurrency <= 64).map((r) => r.gateway.gatewayPeakRssMb ?? Number.POSITIVE_INFINITY);
  if (c64.length > 0) {
    const peak = Math.max(...c64);
    targets.push({ name: 'gateway peak RSS through c64', value: `${f(peak, 1)} MB`, limit: '<= 150 MB', pass: peak <= 150 });
  }
  targets.push({ name: 'gateway peak RSS at ready', value: `${f(inputs.readyPeakRssMb, 1)} MB`, limit: '<= 100 MB', pass: inputs.readyPeakRssMb <= 100 });
  if (inputs.auditRecordsPerSecond !== null) {
    const rps = inputs.auditRecordsPerSecond;
    targets.push({ name: 'SQLite audit append, 64 in flight', value: `${f(rps, 0)} rec/s`, limit: `>= ${AUDIT_APPEND_TARGET} rec/s`, pass: rps >= AUDIT_APPEND_TARGET });
  }
  for (const r of inputs.protections ?? []) {
    if (r.cpuRatio === null) continue;
    targets.push({
      name: `${r.upstream} c${r.concurrency} CPU per call, protections on/off`,
      value: pct(r.cpuRatio),
      limit: `<= ${pct(PROTECTION_CPU_RATIO)}`,
      pass: r.cpuRatio <= PROTECTION_CPU_RATIO,
    });
  }
  return targets;
}

export function targetLines(targets: readonly Target[]): string {
  const width = Math.max(...targets.map((t) => t.name.length));
  return targets.map((t) => `${t.pass ? 'PASS' : 'MISS'}  ${t.name.padEnd(width)}  ${t.value.padStart(10)}  (${t.limit})`).join('\n');
}
