/** Result shapes, the readable tables and the targets of the benchmark. Reports only: a miss never fails the run. */
import type { LoadResult } from './load.ts';

export interface PhaseResult extends LoadResult {
  /** Gateway user+system CPU during the measured phase, per completed call (gateway phases only). */
  readonly gatewayCpuUsPerCall: number | null;
  /** Gateway maxRSS after the phase (the peak so far in that process), in MB (gateway phases only). */
  readonly gatewayPeakRssMb: number | null;
  /** CPU of the upstream process (HTTP fixture, or the stdio fixture child) per call; null where /proc is missing. */
  readonly upstreamCpuUsPerCall: number | null;
  /** CPU of this driver process per call: the load generator (and, for direct stdio, the SDK client). */
  readonly driverCpuUsPerCall: number;
  /**
   * CPU the rest of the machine used during the phase (everything but driver, gateway and upstream), in cores:
   * 0.3 means 30% of one core went elsewhere. Large values mean the run was disturbed.
   */
  readonly otherCores: number | null;
}

export interface Row {
  readonly upstream: 'http' | 'stdio';
  readonly concurrency: number;
  readonly direct: PhaseResult;
  readonly gateway: PhaseResult;
  /** Gateway req/s divided by direct req/s. */
  readonly ratio: number;
  /** Gateway p50 minus direct p50, in ms. */
  readonly addedP50Ms: number;
}

export interface InfoRow {
  readonly concurrency: number;
  readonly gateway: PhaseResult;
  /** Against the direct HTTP phase of the main (warn) run at the same concurrency. */
  readonly ratio: number;
  readonly addedP50Ms: number;
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

export function throughputTable(rows: readonly Row[]): string {
  return table(
    ['upstream', 'conc', 'direct req/s', 'gw req/s', 'gw/direct', 'direct p50', 'gw p50', 'added p50', 'direct p99', 'gw p99', 'calls d/gw'],
    rows.map((r) => [
      r.upstream,
      String(r.concurrency),
      f(r.direct.rps, 0),
      f(r.gateway.rps, 0),
      `${f(r.ratio * 100, 1)}%`,
      f(r.direct.p50Ms, 3),
      f(r.gateway.p50Ms, 3),
      f(r.addedP50Ms, 3),
      f(r.direct.p99Ms, 3),
      f(r.gateway.p99Ms, 3),
      `${r.direct.requests}/${r.gateway.requests}`,
    ]),
  );
}

export function resourceTable(rows: readonly Row[]): string {
  return table(
    ['upstream', 'conc', 'gw CPU µs/call', 'gw peak RSS MB', 'upstream µs/call d/gw', 'driver µs/call d/gw', 'other cores d/gw'],
    rows.map((r) => [
      r.upstream,
      String(r.concurrency),
      f(r.gateway.gatewayCpuUsPerCall, 0),
      f(r.gateway.gatewayPeakRssMb, 1),
      `${f(r.direct.upstreamCpuUsPerCall, 0)}/${f(r.gateway.upstreamCpuUsPerCall, 0)}`,
      `${f(r.direct.driverCpuUsPerCall, 0)}/${f(r.gateway.driverCpuUsPerCall, 0)}`,
      `${f(r.direct.otherCores, 2)}/${f(r.gateway.otherCores, 2)}`,
    ]),
  );
}

export function infoTable(rows: readonly InfoRow[]): string {
  return table(
    ['upstream', 'conc', 'gw req/s', 'gw/direct', 'gw p50', 'added p50', 'gw p99', 'gw CPU µs/call', 'gw peak RSS MB'],
    rows.map((r) => [
      'http',
      String(r.concurrency),
      f(r.gateway.rps, 0),
      `${f(r.ratio * 100, 1)}%`,
      f(r.gateway.p50Ms, 3),
      f(r.addedP50Ms, 3),
      f(r.gateway.p99Ms, 3),
      f(r.gateway.gatewayCpuUsPerCall, 0),
      f(r.gateway.gatewayPeakRssMb, 1),
    ]),
  );
}

/** The targets, as ratios and budgets within one run. */
export function evaluateTargets(rows: readonly Row[]): Target[] {
  const targets: Target[] = [];
  for (const r of rows) {
    if (r.upstream === 'http' && r.concurrency >= 16) {
      targets.push({ name: `http c${r.concurrency} throughput gw/direct`, value: `${f(r.ratio * 100, 1)}%`, limit: '>= 80%', pass: r.ratio >= 0.8 });
    }
    if (r.concurrency === 1) {
      targets.push({ name: `${r.upstream} c1 added p50`, value: `${f(r.addedP50Ms, 3)} ms`, limit: '<= 0.500 ms', pass: r.addedP50Ms <= 0.5 });
    }
    const cpu = r.gateway.gatewayCpuUsPerCall ?? Number.POSITIVE_INFINITY;
    targets.push({ name: `${r.upstream} c${r.concurrency} gateway CPU per call`, value: `${f(cpu, 0)} µs`, limit: '<= 400 µs', pass: cpu <= 400 });
  }
  const c64 = rows.filter((r) => r.concurrency === 64).map((r) => r.gateway.gatewayPeakRssMb ?? Number.POSITIVE_INFINITY);
  if (c64.length > 0) {
    const peak = Math.max(...c64);
    targets.push({ name: 'gateway peak RSS through c64', value: `${f(peak, 1)} MB`, limit: '<= 150 MB', pass: peak <= 150 });
  }
  return targets;
}

export function targetLines(targets: readonly Target[]): string {
  const width = Math.max(...targets.map((t) => t.name.length));
  return targets.map((t) => `${t.pass ? 'PASS' : 'MISS'}  ${t.name.padEnd(width)}  ${t.value.padStart(10)}  (${t.limit})`).join('\n');
}
