import { GatehouseError } from '../errors.ts';
import { checkCommand } from './command-policy.ts';
import { findUnsafeEnv } from './env-policy.ts';

/** What a stdio connector asks to run, and what its operator forced. */
export interface StdioRequest {
  readonly command: string;
  readonly args: readonly string[];
  readonly envNames: readonly string[];
  /** `--allow-shell`: a shell or an interpreter with code on its command line (or stdin) may run. */
  readonly allowShell?: boolean | undefined;
  /** `--allow-unsafe-env`: loader and interpreter variables (LD_PRELOAD, NODE_OPTIONS...) may be set. */
  readonly allowUnsafeEnv?: boolean | undefined;
}

/**
 * The one check of a stdio connector's argv and environment: at creation and change (a 400 naming what is refused),
 * and again before every spawn, so a record written past the service (or before this rule) does not run either.
 */
export function checkStdioRequest(r: StdioRequest): void {
  if (r.allowShell !== true) {
    const found = checkCommand(r.command, r.args);
    if (found !== undefined) {
      throw new GatehouseError('stdio_refused', `Refused: ${found.why}. A stdio connector runs an argv, not a shell command line; --allow-shell forces it`, {
        data: { refused: 'command', program: found.program },
      });
    }
  }
  if (r.allowUnsafeEnv !== true) {
    const env = findUnsafeEnv(r.envNames);
    if (env !== undefined) {
      throw new GatehouseError('stdio_refused', `Refused: environment variable ${env.name.slice(0, 64)} (${env.why}); --allow-unsafe-env forces it`, {
        data: { refused: 'env', variable: env.name.slice(0, 64) },
      });
    }
  }
}
