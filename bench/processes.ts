/**
 * The processes a benchmark run starts: the fixture upstream over HTTP, the byte proxy in front of it, the gateway
 * under test and the audit append run. Every child is registered and stopped by `stopAll()`, on success and on
 * error alike.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { AuditAppendOptions, AuditAppendResult } from './audit-append.ts';
import type { GatewayStats } from './gateway-process.ts';

export const ROOT = resolve(import.meta.dirname, '..');
export const FIXTURE = join(ROOT, 'test/fixtures/fixture-server.ts');
const GATEWAY = join(ROOT, 'bench/gateway-process.ts');
const BYTE_PROXY = join(ROOT, 'bench/byte-proxy.ts');
const AUDIT_APPEND = join(ROOT, 'bench/audit-append.ts');
const START_TIMEOUT_MS = 30_000;

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stops one child: SIGTERM (or the given gentler nudge), then SIGKILL if it has not exited after a grace period. */
export async function stop(
  child: ChildProcess,
  nudge: () => void = () => {
    child.kill('SIGTERM');
  },
  graceMs = 5000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => {
    child.once('exit', () => {
      r();
    });
  });
  nudge();
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stop(c)));
}

/** The first line of the child's stdout matching `pattern`, or an error with what it said if it exits or stalls. */
function firstLine(child: ChildProcess, lines: Interface, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  return new Promise((resolvePromise, reject) => {
    const seen: string[] = [];
    const fail = (why: string): void => {
      cleanup();
      reject(new Error(`${what} ${why}${seen.length > 0 ? `: ${seen.join(' | ').slice(0, 500)}` : ''}`));
    };
    const onLine = (line: string): void => {
      const m = pattern.exec(line);
      if (m === null) {
        seen.push(line);
        return;
      }
      cleanup();
      resolvePromise(m);
    };
    const onExit = (code: number | null): void => {
      fail(`exited (code ${String(code)}) before it was ready`);
    };
    const timer = setTimeout(() => {
      fail(`was not ready after ${START_TIMEOUT_MS} ms`);
    }, START_TIMEOUT_MS);
    function cleanup(): void {
      clearTimeout(timer);
      lines.off('line', onLine);
      child.off('exit', onExit);
    }
    lines.on('line', onLine);
    child.once('exit', onExit);
  });
}

export interface HttpFixture {
  readonly url: string;
  readonly pid: number;
  close(): Promise<void>;
}

/** The project's fixture over Streamable HTTP, as its own process on an ephemeral loopback port. */
export async function startHttpFixture(): Promise<HttpFixture> {
  const child = track(spawn(process.execPath, [FIXTURE, '--http', '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'ignore'] }));
  const lines = createInterface({ input: child.stdout! });
  const m = await firstLine(child, lines, /^LISTENING (\S+)$/, 'the HTTP fixture');
  return { url: m[1]!, pid: child.pid!, close: () => stop(child) };
}

/** bench/byte-proxy.ts in front of `upstreamUrl`, as its own process; its url has the upstream's path. */
export async function startByteProxy(upstreamUrl: string): Promise<HttpFixture> {
  const child = track(spawn(process.execPath, [BYTE_PROXY, '--upstream', upstreamUrl], { stdio: ['ignore', 'pipe', 'ignore'] }));
  const lines = createInterface({ input: child.stdout! });
  const m = await firstLine(child, lines, /^LISTENING (\S+)$/, 'the byte proxy');
  return { url: m[1]!, pid: child.pid!, close: () => stop(child) };
}

/** bench/audit-append.ts as its own process, so the driver's heap and history do not weigh on it. */
export async function runAuditAppend(opts: AuditAppendOptions): Promise<AuditAppendResult> {
  const args = [
    AUDIT_APPEND, '--json', '--records', String(opts.records), '--in-flight', String(opts.inFlight), '--orgs', String(opts.orgs),
    '--store', opts.store ?? 'sqlite', '--checkpoint-every', String(opts.checkpointEvery ?? 0),
  ];
  const child = track(spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }));
  const lines = createInterface({ input: child.stdout! });
  const m = await firstLine(child, lines, /^(\{"records".*\})$/, 'the audit append run');
  await stop(child, () => undefined, 30_000);
  return JSON.parse(m[1]!) as AuditAppendResult;
}

export interface GatewayProcess {
  readonly url: string;
  readonly key: string;
  readonly pid: number;
  stats(gc?: boolean): Promise<GatewayStats>;
  close(): Promise<void>;
}

export interface GatewayOptions {
  readonly httpUrl: string;
  readonly logLevel: string;
  /** Where the gateway's stderr (its log) goes. */
  readonly logFile: string;
  /** Extra node flags, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** Switch on the traffic protections (bench/protections.ts). */
  readonly protections?: boolean;
}

/** Starts bench/gateway-process.ts and waits for its `{url, key}` line. */
export async function startGateway(opts: GatewayOptions): Promise<GatewayProcess> {
  const log = openSync(opts.logFile, 'w');
  const args = ['--expose-gc', ...(opts.nodeArgs ?? []), GATEWAY, '--http-url', opts.httpUrl, '--log-level', opts.logLevel, ...(opts.protections === true ? ['--protections'] : [])];
  const child = track(spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', log] }));
  closeSync(log);
  const lines = createInterface({ input: child.stdout! });
  const m = await firstLine(child, lines, /^(\{"url".*\})$/, 'the gateway');
  const { url, key } = JSON.parse(m[1]!) as { url: string; key: string };
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  return {
    url,
    key,
    pid: child.pid!,
    stats(gc = false) {
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => {
          reject(new Error('the gateway did not answer stats'));
        }, 10_000);
        waiting.push((line) => {
          clearTimeout(timer);
          resolvePromise(JSON.parse(line) as GatewayStats);
        });
        child.stdin!.write(gc ? 'stats gc\n' : 'stats\n');
      });
    },
    // Closing stdin asks for a clean shutdown, which also lets --cpu-prof write its profile.
    close: () => stop(child, () => child.stdin!.end(), 15_000),
  };
}

/** User+system CPU time of a process, in microseconds, from /proc (Linux); undefined elsewhere or once it is gone. */
export function procCpuUs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime), counted from `state` (field 3) here, in clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** Direct children of a process (Linux), e.g. the stdio upstream the gateway spawned. */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/**
 * The stdio upstream a gateway spawned: the end of its first chain of children. With the sandbox on, the gateway's
 * child is bubblewrap, whose child (in its own PID namespace) is the upstream itself, so the direct child alone
 * would measure bubblewrap's idle wait instead of the upstream's work.
 */
export function stdioUpstreamPid(gatewayPid: number): number | undefined {
  let pid = childPids(gatewayPid)[0];
  for (let depth = 0; pid !== undefined && depth < 8; depth++) {
    const next = childPids(pid)[0];
    if (next === undefined) return pid;
    pid = next;
  }
  return pid;
}

/** CPU time all processes of the machine spent busy (not idle or waiting on I/O), in microseconds, from /proc/stat. */
export function machineBusyUs(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already counted in user).
    const busy = fields.slice(0, 8).reduce((a, b) => a + b, 0) - (fields[3] ?? 0) - (fields[4] ?? 0);
    return busy * 10_000;
  } catch {
    return undefined;
  }
}
