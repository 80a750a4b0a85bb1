import { loadConfig } from '../config/load.ts';
import { describeSandbox, detectSandbox } from '../sandbox/sandbox.ts';
import { out } from './output.ts';

export const DOCTOR_USAGE = 'gatehouse doctor [--json]         what this host offers the gateway (the stdio sandbox); exit 1 on a problem';

/** `gatehouse doctor`: reports, without opening the store, whether stdio connectors can be sandboxed here. */
export function doctor(env: NodeJS.ProcessEnv, args: readonly string[]): void {
  const config = loadConfig(env);
  const support = detectSandbox();
  const verdict = describeSandbox(config.stdioSandbox, support);
  const report = {
    stdioSandbox: config.stdioSandbox,
    bwrap: support.bwrap ?? null,
    bwrapWorks: support.works,
    prlimit: support.prlimit ?? null,
    problem: support.problem ?? null,
    ok: verdict.ok,
    message: verdict.message,
  };
  if (args.includes('--json')) out(JSON.stringify(report));
  else {
    out(`stdio sandbox mode:  ${report.stdioSandbox}`);
    out(`bubblewrap:          ${report.bwrap ?? 'not found'}${support.bwrap === undefined ? '' : support.works ? ' (works)' : ' (does not work here)'}`);
    out(`prlimit:             ${report.prlimit ?? 'not found'}`);
    if (support.problem !== undefined) out(`problem:             ${support.problem}`);
    out(`${verdict.ok ? 'ok' : 'WARNING'}: ${verdict.message}`);
  }
  if (!verdict.ok) process.exitCode = 1;
}
