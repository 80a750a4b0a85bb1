import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { addConnector, connectorIdByName, listConnectors, removeConnector, updateConnector, type OAuthInput, type ValueInput } from '../services/connectors.ts';
import type { ConnectorLimits } from '../store/types.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const CONNECTORS_USAGE = `gatehouse connectors add NAME --url URL [--header "Name: value"]... [--secret-header "Name: value"]... [--allow-private-network] [--propagate-trace-context]
    [--oauth-mode client-credentials|user] [--oauth-client-id ID [--oauth-client-secret SECRET] [--oauth-scope "A B"] [--oauth-auth-method basic|post|private-key-jwt|none]
     [--oauth-private-key-file PEM [--oauth-signing-alg ES256]] [--oauth-issuer URL]]
gatehouse connectors trace-context NAME on|off [--org SLUG]
gatehouse connectors add NAME --command CMD [--env K=V]... [--secret-env K=V]... [--cwd DIR] [--network] [--allow-shell] [--allow-unsafe-env] [-- ARG...]
gatehouse connectors update NAME [LIMITS] [--clear-limits]
gatehouse connectors list [--org SLUG] [--json]
gatehouse connectors remove NAME [--org SLUG]
  @env:VAR inside a value is replaced by the environment variable VAR, so a secret stays out of shell history.
  Headers and variables with credential-looking names (Authorization, *TOKEN*, *KEY*...) are always stored as secrets.
  --allow-private-network lets this one connector reach private, loopback or link-local addresses (operator only).
  --oauth-client-id: the upstream wants OAuth; the gateway gets client-credentials tokens for it from the
  authorization server the upstream names (--oauth-issuer: only that one). Give the secret as @env:VAR.
  --oauth-mode user: each member connects their own account (GET /api/v1/connectors/ID/oauth/connect); the
  client id is optional then (a client ID metadata document or dynamic registration is used).
  --propagate-trace-context (or trace-context NAME on) sends the upstream each call's W3C traceparent while tracing is on.
  A stdio connector runs its argv without a shell, sandboxed, offline unless --network. A shell with -c, node -e,
  python -c (and kin) need --allow-shell; LD_*, NODE_OPTIONS, PYTHON* (and kin) need --allow-unsafe-env.
  LIMITS (add and update; unset ones take the gateway defaults): --timeout-ms N (wait for an answer or progress)
  --max-call-ms N (hard maximum per call) --max-concurrent N --breaker-failures N --breaker-open-ms N.
  list shows each connector's health as the gateway serving this data directory reports it.`;

const LIMIT_FLAGS = {
  'timeout-ms': 'timeoutMs',
  'max-call-ms': 'maxCallMs',
  'max-concurrent': 'maxConcurrent',
  'breaker-failures': 'breakerFailures',
  'breaker-open-ms': 'breakerOpenMs',
} as const satisfies Record<string, keyof ConnectorLimits>;

/** The limits given on the command line; a value that is not a whole number is refused here, ranges by the service. */
function parseLimits(values: Partial<Record<keyof typeof LIMIT_FLAGS, string>>): ConnectorLimits | undefined {
  const out: Record<string, number> = {};
  for (const [flag, name] of Object.entries(LIMIT_FLAGS)) {
    const raw = values[flag as keyof typeof LIMIT_FLAGS];
    if (raw === undefined) continue;
    if (!/^\d{1,10}$/.test(raw)) throw new UsageError(`--${flag} must be a whole number`);
    out[name] = Number(raw);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function resolveValue(raw: string, env: NodeJS.ProcessEnv): string {
  return raw.replace(/@env:([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string) => {
    const value = env[name];
    // An empty secret is never what was meant: refused like an unset one.
    if (value === undefined || value === '') throw new UsageError(`environment variable ${name} is ${value === undefined ? 'not set' : 'empty'}`);
    return value;
  });
}

function parsePairs(items: readonly string[] | undefined, sep: ':' | '=', secret: boolean, env: NodeJS.ProcessEnv): ValueInput[] {
  return (items ?? []).map((item) => {
    const i = item.indexOf(sep);
    if (i <= 0) throw new UsageError(sep === ':' ? `header must be "Name: value"` : `variable must be NAME=value`);
    return { name: item.slice(0, i).trim(), value: resolveValue(item.slice(i + 1).trim(), env), secret };
  });
}

const AUTH_METHODS = { basic: 'client_secret_basic', post: 'client_secret_post', 'private-key-jwt': 'private_key_jwt', none: 'none' } as const;

function oauthOptions(
  values: {
    'oauth-client-id'?: string;
    'oauth-mode'?: string;
    'oauth-client-secret'?: string;
    'oauth-scope'?: string;
    'oauth-auth-method'?: string;
    'oauth-issuer'?: string;
    'oauth-private-key-file'?: string;
    'oauth-signing-alg'?: string;
  },
  env: NodeJS.ProcessEnv,
): OAuthInput | undefined {
  const clientId = values['oauth-client-id'];
  const mode = values['oauth-mode'];
  if (mode !== undefined && mode !== 'user' && mode !== 'client-credentials') throw new UsageError('--oauth-mode is client-credentials or user');
  if (mode === 'user' && clientId === undefined) {
    if (values['oauth-client-secret'] !== undefined) throw new UsageError('--oauth-client-secret needs --oauth-client-id');
    return { mode: 'user', scope: values['oauth-scope'], issuer: values['oauth-issuer'] };
  }
  if (clientId === undefined) {
    if (Object.keys(values).some((k) => k.startsWith('oauth-') && values[k as keyof typeof values] !== undefined)) {
      throw new UsageError('the --oauth-* options need --oauth-client-id');
    }
    return undefined;
  }
  const method = values['oauth-auth-method'];
  if (method !== undefined && !(method in AUTH_METHODS)) throw new UsageError('--oauth-auth-method is basic, post, private-key-jwt or none');
  const keyFile = values['oauth-private-key-file'];
  const secret = values['oauth-client-secret'];
  return {
    ...(mode === 'user' ? { mode: 'user' as const } : {}),
    clientId,
    clientSecret: secret === undefined ? undefined : resolveValue(secret, env),
    scope: values['oauth-scope'],
    authMethod: method === undefined ? undefined : AUTH_METHODS[method as keyof typeof AUTH_METHODS],
    issuer: values['oauth-issuer'],
    privateKeyPem: keyFile === undefined ? undefined : readFileSync(keyFile, 'utf8'),
    signingAlg: values['oauth-signing-alg'],
  };
}

export async function connectorsCommand(ctx: CliContext, sub: string, rest: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'allow-private-network': { type: 'boolean' },
      'propagate-trace-context': { type: 'boolean' },
      header: { type: 'string', multiple: true },
      'secret-header': { type: 'string', multiple: true },
      'oauth-client-id': { type: 'string' },
      'oauth-mode': { type: 'string' },
      'oauth-client-secret': { type: 'string' },
      'oauth-scope': { type: 'string' },
      'oauth-auth-method': { type: 'string' },
      'oauth-issuer': { type: 'string' },
      'oauth-private-key-file': { type: 'string' },
      'oauth-signing-alg': { type: 'string' },
      command: { type: 'string' },
      arg: { type: 'string', multiple: true },
      env: { type: 'string', multiple: true },
      'secret-env': { type: 'string', multiple: true },
      cwd: { type: 'string' },
      network: { type: 'boolean' },
      'allow-shell': { type: 'boolean' },
      'allow-unsafe-env': { type: 'boolean' },
      org: { type: 'string' },
      json: { type: 'boolean' },
      'timeout-ms': { type: 'string' },
      'max-call-ms': { type: 'string' },
      'max-concurrent': { type: 'string' },
      'breaker-failures': { type: 'string' },
      'breaker-open-ms': { type: 'string' },
      'clear-limits': { type: 'boolean' },
    },
  });
  const limits = parseLimits(values);
  const org = await ctx.org(values.org);
  switch (sub) {
    case 'add': {
      const name = positionals[0];
      if (name === undefined) throw new UsageError('connectors add needs a NAME');
      if ((values.url === undefined) === (values.command === undefined)) throw new UsageError('give exactly one of --url or --command');
      if (values.url !== undefined && (values.network === true || values['allow-shell'] === true || values['allow-unsafe-env'] === true)) {
        throw new UsageError('--network, --allow-shell and --allow-unsafe-env are for stdio connectors (--command)');
      }
      const view =
        values.url !== undefined
          ? await addConnector(ctx, ctx.actor, {
              orgId: org.id,
              name,
              type: 'http',
              url: values.url,
              allowPrivateNetwork: values['allow-private-network'] === true,
              propagateTraceContext: values['propagate-trace-context'] === true,
              headers: [...parsePairs(values.header, ':', false, env), ...parsePairs(values['secret-header'], ':', true, env)],
              limits,
              oauth: oauthOptions(values, env),
            })
          : await addConnector(ctx, ctx.actor, {
              orgId: org.id,
              name,
              type: 'stdio',
              command: values.command ?? '',
              // Arguments after `--` are the command's own, so ones that start with a dash need no quoting.
              args: [...(values.arg ?? []), ...positionals.slice(1)],
              env: [...parsePairs(values.env, '=', false, env), ...parsePairs(values['secret-env'], '=', true, env)],
              cwd: values.cwd,
              network: values.network,
              allowShell: values['allow-shell'],
              allowUnsafeEnv: values['allow-unsafe-env'],
              limits,
            });
      out(values.json === true ? JSON.stringify(view) : `Added connector ${view.name} (${view.id}); its tools appear as ${view.name}__<tool>`);
      return;
    }
    case 'update': {
      const name = positionals[0];
      if (name === undefined) throw new UsageError('connectors update needs a NAME');
      if (limits !== undefined && values['clear-limits'] === true) throw new UsageError('give limits or --clear-limits, not both');
      if (limits === undefined && values['clear-limits'] !== true) throw new UsageError('connectors update needs a limit to set, or --clear-limits');
      const view = await updateConnector(ctx, ctx.actor, org.id, await connectorIdByName(ctx, org.id, name), { limits: limits ?? null });
      out(values.json === true ? JSON.stringify(view) : `Updated connector ${view.name}: limits ${JSON.stringify(view.limits ?? {})}`);
      return;
    }
    case 'list': {
      const list = await listConnectors(ctx, ctx.actor, org.id);
      if (values.json === true) {
        out(JSON.stringify(list));
        return;
      }
      table(
        list.map((c) => ({
          name: c.name,
          type: c.type,
          target: c.type === 'http' ? (c.url ?? '') : [c.command ?? '', ...(c.args ?? [])].join(' '),
          flags: [c.network === true ? 'network' : '', c.allowShell === true ? 'allow-shell' : '', c.allowUnsafeEnv === true ? 'allow-unsafe-env' : ''].filter(Boolean).join(','),
          values: [
            ...[...(c.headers ?? []), ...(c.env ?? [])].map((v) => (v.secret ? `${v.name}=********` : `${v.name}=${v.value ?? ''}`)),
            ...(c.oauth === undefined ? [] : [`oauth${c.oauth.mode === 'user' ? '(per user)' : ''}=${c.oauth.clientId === '' ? 'registered' : c.oauth.clientId}${c.oauth.scope === undefined ? '' : ` (${c.oauth.scope})`}`]),
          ].join(' '),
          limits: Object.entries(c.limits ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(' '),
          health:
            c.health === undefined
              ? 'unknown (no gateway running)'
              : [
                  c.health.connection,
                  `breaker=${c.health.breaker}`,
                  `in-flight=${String(c.health.inFlight)}`,
                  `failures=${String(c.health.consecutiveFailures)}/${String(c.health.recentFailures)}`,
                  ...(c.health.lastError === null ? [] : [`last=${c.health.lastError.code}`]),
                ].join(' '),
        })),
        ['name', 'type', 'target', 'flags', 'values', 'limits', 'health'],
      );
      return;
    }
    case 'trace-context': {
      const [name, state] = positionals;
      if (name === undefined || (state !== 'on' && state !== 'off')) throw new UsageError('connectors trace-context needs a NAME and on or off');
      await updateConnector(ctx, ctx.actor, org.id, await connectorIdByName(ctx, org.id, name), { propagateTraceContext: state === 'on' });
      out(`Connector ${name}: trace context ${state === 'on' ? 'sent' : 'not sent'} to the upstream`);
      return;
    }
    case 'remove': {
      const name = positionals[0];
      if (name === undefined) throw new UsageError('connectors remove needs a NAME');
      await removeConnector(ctx, ctx.actor, org.id, await connectorIdByName(ctx, org.id, name));
      out(`Removed connector ${name}`);
      return;
    }
    default:
      throw new UsageError(CONNECTORS_USAGE);
  }
}
