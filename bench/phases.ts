/** The legs of the benchmark and how one phase is measured: in rounds, with every process's CPU on the path. */
import { httpToolCaller, runLoad, type HttpSession, type Send } from './load.ts';
import { machineBusyUs, procCpuUs, type GatewayProcess } from './processes.ts';
import { combineRounds, type Measured, type PhaseResult } from './report.ts';

export interface Subject {
  readonly label: string;
  readonly open: (concurrency: number) => { send: Send; close: () => void };
  readonly gateway?: GatewayProcess;
  readonly upstreamPid: () => number | undefined;
  /** A hop between the driver and the upstream that is not the gateway: the byte proxy. */
  readonly hopPid?: number;
}

/** `protected`: a second gateway with the traffic protections switched on (bench/protections.ts). */
export type Leg = 'direct' | 'proxy' | 'gateway' | 'protected';

export interface PhaseOptions {
  readonly warmup: number;
  readonly maxRequests: number;
  readonly durationMs: number;
  readonly rounds: number;
  /** Where failed calls are reported: they make the run invalid. */
  readonly problems: string[];
}

/** One measured phase: a warm-up, then the load, with the CPU of every process on the path read before and after. */
export async function measure(subject: Subject, concurrency: number, opts: PhaseOptions): Promise<PhaseResult> {
  const { send, close } = subject.open(concurrency);
  try {
    const warm = await runLoad(send, { concurrency, maxRequests: Math.max(opts.warmup, concurrency), maxMs: 30_000 });
    const gwBefore = await subject.gateway?.stats();
    const upPid = subject.upstreamPid();
    const upBefore = upPid === undefined ? undefined : procCpuUs(upPid);
    const hopBefore = subject.hopPid === undefined ? undefined : procCpuUs(subject.hopPid);
    const selfBefore = process.cpuUsage();
    const busyBefore = machineBusyUs();
    const r = await runLoad(send, { concurrency, maxRequests: opts.maxRequests, maxMs: opts.durationMs });
    const busyAfter = machineBusyUs();
    const self = process.cpuUsage(selfBefore);
    const upAfter = upPid === undefined ? undefined : procCpuUs(upPid);
    const hopAfter = subject.hopPid === undefined ? undefined : procCpuUs(subject.hopPid);
    const gwAfter = await subject.gateway?.stats();
    for (const [what, x] of [['warm-up', warm], ['measured', r]] as const) {
      if (x.errors > 0) opts.problems.push(`${subject.label} c${concurrency} ${what}: ${x.errors} failed calls, first: ${x.firstError ?? '?'}`);
    }
    const perCall = (us: number): number => us / Math.max(1, r.requests);
    const gwUs = gwBefore && gwAfter ? gwAfter.cpuUserUs + gwAfter.cpuSystemUs - gwBefore.cpuUserUs - gwBefore.cpuSystemUs : 0;
    const upUs = upBefore !== undefined && upAfter !== undefined ? upAfter - upBefore : undefined;
    const hopUs = hopBefore !== undefined && hopAfter !== undefined ? hopAfter - hopBefore : undefined;
    const ours = gwUs + (upUs ?? 0) + (hopUs ?? 0) + self.user + self.system;
    return {
      ...r,
      gatewayCpuUsPerCall: gwBefore && gwAfter ? perCall(gwUs) : null,
      gatewayPeakRssMb: gwAfter ? gwAfter.peakRss / 1024 : null,
      upstreamCpuUsPerCall: upUs === undefined ? null : perCall(upUs),
      proxyCpuUsPerCall: hopUs === undefined ? null : perCall(hopUs),
      driverCpuUsPerCall: perCall(self.user + self.system),
      otherCores: busyBefore === undefined || busyAfter === undefined || upUs === undefined ? null : Math.max(0, busyAfter - busyBefore - ours) / (r.elapsedMs * 1000),
    };
  } finally {
    close();
  }
}

export function httpSubject(
  label: string,
  session: HttpSession,
  tool: string,
  upstreamPid: () => number | undefined,
  via: { gateway?: GatewayProcess; hopPid?: number } = {},
): Subject {
  return { label, open: (c) => httpToolCaller(session, tool, c), upstreamPid, ...via };
}

/**
 * Each leg measured `opts.rounds` times, interleaved: every round runs each leg once, and the order rotates from round to
 * round (and from one concurrency to the next), so no leg always runs first, on a machine warmed by another.
 */
export async function measureRounds(
  legs: readonly (readonly [Leg, Subject])[],
  concurrency: number,
  shiftBy: number,
  opts: PhaseOptions,
): Promise<Map<Leg, Measured>> {
  const results = new Map<Leg, PhaseResult[]>(legs.map(([leg]) => [leg, []]));
  for (let round = 0; round < opts.rounds; round++) {
    const shift = (round + shiftBy) % legs.length;
    for (const [leg, subject] of [...legs.slice(shift), ...legs.slice(0, shift)]) results.get(leg)!.push(await measure(subject, concurrency, opts));
  }
  return new Map([...results].map(([leg, rounds]) => [leg, combineRounds(rounds)]));
}
