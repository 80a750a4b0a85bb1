import { parseArgs } from 'node:util';
import { setUserPassword } from '../services/sign-in.ts';
import { getSignInSettings, updateSignInSettings, type SignInSettingsChange } from '../services/sign-in-settings.ts';
import type { CliContext } from './context.ts';
import { out, UsageError } from './output.ts';

export const SIGN_IN_USAGE = `gatehouse orgs sign-in SLUG [--idle-minutes 15-480] [--max-hours 1-168] [--require-mfa on|off] [--password-login on|off]
      [--oidc-issuer URL --oidc-client-id ID [--oidc-client-secret-env VAR] [--oidc-jit on|off] | --no-oidc] [--json]
      (shows the organisation's sign-in settings, after applying any change; the client secret is never shown)
gatehouse members set-password EMAIL --password-env VAR   (the password is read from the environment variable VAR)`;

function onOff(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'on' || value === 'off') return value === 'on';
  throw new UsageError(`--${name} must be on or off`);
}

function whole(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,4}$/.test(value)) throw new UsageError(`--${name} must be a whole number`);
  return Number(value);
}

function secretFromEnv(name: string | undefined, env: NodeJS.ProcessEnv, what: string): string | undefined {
  if (name === undefined) return undefined;
  const value = env[name];
  if (value === undefined || value === '') throw new UsageError(`environment variable ${name} (${what}) is not set`);
  return value;
}

/** `orgs sign-in`: how people sign in to an organisation. Secrets come from the environment, never the command line. */
export async function orgSignInCommand(ctx: CliContext, rest: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      'idle-minutes': { type: 'string' },
      'max-hours': { type: 'string' },
      'require-mfa': { type: 'string' },
      'password-login': { type: 'string' },
      'oidc-issuer': { type: 'string' },
      'oidc-client-id': { type: 'string' },
      'oidc-client-secret-env': { type: 'string' },
      'oidc-jit': { type: 'string' },
      'no-oidc': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const slug = positionals[0];
  if (slug === undefined) throw new UsageError('orgs sign-in needs a SLUG');
  const org = await ctx.org(slug);
  const issuer = values['oidc-issuer'];
  const clientId = values['oidc-client-id'];
  if ((issuer === undefined) !== (clientId === undefined)) throw new UsageError('--oidc-issuer and --oidc-client-id go together');
  if (values['no-oidc'] === true && issuer !== undefined) throw new UsageError('--no-oidc cannot be combined with --oidc-issuer');
  const change: SignInSettingsChange = {
    sessionIdleMinutes: whole(values['idle-minutes'], 'idle-minutes'),
    sessionMaxHours: whole(values['max-hours'], 'max-hours'),
    requireMfa: onOff(values['require-mfa'], 'require-mfa'),
    passwordLogin: onOff(values['password-login'], 'password-login'),
    oidc:
      values['no-oidc'] === true
        ? null
        : issuer === undefined || clientId === undefined
          ? undefined
          : {
              issuer,
              clientId,
              clientSecret: secretFromEnv(values['oidc-client-secret-env'], env, 'the OIDC client secret'),
              allowJit: onOff(values['oidc-jit'], 'oidc-jit'),
            },
  };
  const changed = Object.values(change).some((v) => v !== undefined);
  const settings = changed ? await updateSignInSettings(ctx, ctx.actor, org.id, change) : await getSignInSettings(ctx, ctx.actor, org.id);
  if (values.json === true) {
    out(JSON.stringify(settings));
    return;
  }
  out(`Sign-in for ${slug}: sessions end after ${String(settings.sessionIdleMinutes)} idle minutes or ${String(settings.sessionMaxHours)} hours`);
  out(`  MFA required: ${settings.requireMfa ? 'yes' : 'no'}; password sign-in: ${settings.passwordLogin ? 'on' : 'off'}`);
  out(settings.oidc === null ? '  single sign-on: off' : `  single sign-on: ${settings.oidc.issuer} (client ${settings.oidc.clientId}, secret set; JIT ${settings.oidc.allowJit ? 'on' : 'off'})`);
}

/** `members set-password`: the operator sets a person's local password; their sessions everywhere end. */
export async function setPasswordCommand(ctx: CliContext, rest: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { 'password-env': { type: 'string' } } });
  const email = positionals[0];
  if (email === undefined) throw new UsageError('members set-password needs an EMAIL');
  const password = secretFromEnv(values['password-env'], env, 'the password');
  if (password === undefined) throw new UsageError('members set-password needs --password-env VAR');
  await setUserPassword(ctx, ctx.actor, email, password);
  out(`Set the password of ${email}; their sessions were ended`);
}
