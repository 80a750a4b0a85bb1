import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openServices } from '../app.ts';
import { loadConfig } from '../config/load.ts';
import { postureChecks, type PostureCheck } from '../config/posture.ts';
import type { Config } from '../config/schema.ts';
import { createLogger } from '../log.ts';
import { storePostureChecks } from '../services/posture.ts';
import { describeSandbox, detectSandbox } from '../sandbox/sandbox.ts';
import { out } from './output.ts';

export const DOCTOR_USAGE =
  'gatehouse doctor [--json]         the posture of this configuration and host, check by check (pass/warn/fail and what to change); exit 1 on a fail';

export interface DoctorReport {
  readonly env: Config['env'];
  readonly checks: readonly PostureCheck[];
  readonly sandbox: {
    readonly stdioSandbox: Config['stdioSandbox'];
    readonly bwrap: string | null;
    readonly bwrapWorks: boolean;
    readonly prlimit: string | null;
    readonly problem: string | null;
  };
  readonly ok: boolean;
}

/**
 * Everything doctor finds: the configuration's posture, the stdio sandbox of this host and, when a store already
 * exists (it is never created here), what the store holds (organisations' OIDC secrets). Holds no secret.
 */
export async function doctorReport(config: Config): Promise<DoctorReport> {
  const checks = [...postureChecks(config)];
  const support = detectSandbox();
  const verdict = describeSandbox(config.stdioSandbox, support);
  checks.push(
    verdict.ok
      ? { id: 'stdio-sandbox', status: 'pass', setting: 'GATEHOUSE_STDIO_SANDBOX', message: verdict.message }
      : { id: 'stdio-sandbox', status: 'fail', setting: 'GATEHOUSE_STDIO_SANDBOX', message: verdict.message, fix: 'install bubblewrap and prlimit (util-linux), or set GATEHOUSE_STDIO_SANDBOX=off knowingly' },
  );
  checks.push(
    config.env === 'production'
      ? { id: 'environment', status: 'pass', setting: 'GATEHOUSE_ENV', message: 'production: weak settings refuse the start' }
      : { id: 'environment', status: 'warn', setting: 'GATEHOUSE_ENV', message: 'development: weak settings are only warned about', fix: 'set GATEHOUSE_ENV=production on a deployment' },
  );
  checks.push(...(await storeChecks(config)));
  return {
    env: config.env,
    checks,
    sandbox: { stdioSandbox: config.stdioSandbox, bwrap: support.bwrap ?? null, bwrapWorks: support.works, prlimit: support.prlimit ?? null, problem: support.problem ?? null },
    ok: checks.every((c) => c.status !== 'fail'),
  };
}

async function storeChecks(config: Config): Promise<PostureCheck[]> {
  if (config.databaseUrl === undefined && !existsSync(join(config.dataDir, 'gatehouse.db'))) {
    return [{ id: 'store', status: 'warn', setting: 'GATEHOUSE_DATA_DIR', message: `no store yet in ${config.dataDir}: nothing stored to check`, fix: 'start the gateway once' }];
  }
  let services: Awaited<ReturnType<typeof openServices>> | undefined;
  try {
    services = await openServices(config, createLogger({ logLevel: 'silent' }));
    return [{ id: 'store', status: 'pass', setting: config.databaseUrl === undefined ? 'GATEHOUSE_DATA_DIR' : 'GATEHOUSE_DATABASE_URL', message: `the ${services.store.dialect} store opens` }, ...(await storePostureChecks(services, config.env === 'production'))];
  } catch {
    // The failure's own text may name hosts or carry a driver's message: doctor says what, not why.
    return [{ id: 'store', status: 'fail', setting: config.databaseUrl === undefined ? 'GATEHOUSE_DATA_DIR' : 'GATEHOUSE_DATABASE_URL', message: 'the store cannot be opened with this configuration', fix: 'check the database URL, the master key and the data directory, then run doctor again' }];
  } finally {
    await services?.close();
  }
}

const LABEL = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;

/** The report as doctor prints it: one line per check, and what to change under each warn or fail. */
export function formatDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines = report.checks.flatMap((c) => {
    const line = `${LABEL[c.status]}  ${c.id.padEnd(width)}  ${c.message}`;
    return c.fix === undefined || c.status === 'pass' ? [line] : [line, `      ${' '.repeat(width)}  -> ${c.fix}`];
  });
  const fails = report.checks.filter((c) => c.status === 'fail').length;
  const warns = report.checks.filter((c) => c.status === 'warn').length;
  lines.push('', `${report.env}: ${fails} fail, ${warns} warn, ${report.checks.length - fails - warns} pass`);
  return lines.join('\n');
}

/** `gatehouse doctor`: prints the report; exit 1 when a check fails. */
export async function doctor(env: NodeJS.ProcessEnv, args: readonly string[]): Promise<void> {
  const report = await doctorReport(loadConfig(env));
  out(args.includes('--json') ? JSON.stringify(report) : formatDoctor(report));
  if (!report.ok) process.exitCode = 1;
}
