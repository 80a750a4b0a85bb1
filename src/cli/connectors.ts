import { parseArgs } from 'node:util';
import { addConnector, connectorIdByName, listConnectors, removeConnector, updateConnector, type ValueInput } from '../services/connectors.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

export const CONNECTORS_USAGE = `gatehouse connectors add NAME --url URL [--header "Name: value"]... [--secret-header "Name: value"]... [--allow-private-network] [--propagate-trace-context]
gatehouse connectors trace-context NAME on|off [--org SLUG]
gatehouse connectors add NAME --command CMD [--env K=V]... [--secret-env K=V]... [--cwd DIR] [--network] [--allow-shell] [--allow-unsafe-env] [-- ARG...]
gatehouse connectors list [--org SLUG] [--json]
gatehouse connectors remove NAME [--org SLUG]
  @env:VAR inside a value is replaced by the environment variable VAR, so a secret stays out of shell history.
  Headers and variables with credential-looking names (Authorization, *TOKEN*, *KEY*...) are always stored as secrets.
  --allow-private-network lets this one connector reach private, loopback or link-local addresses (operator only).
  --propagate-trace-context (or trace-context NAME on) sends the upstream each call's W3C traceparent while tracing is on.
  A stdio connector runs its argv without a shell, sandboxed, offline unless --network. A shell with -c, node -e,
  python -c (and kin) need --allow-shell; LD_*, NODE_OPTIONS, PYTHON* (and kin) need --allow-unsafe-env.`;

function resolveValue(raw: string, env: NodeJS.ProcessEnv): string {
  return raw.replace(/@env:([A-Za-z_][A-Za-z0-9_]*)/g, (_match, name: string) => {
    const value = env[name];
    if (value === undefined) throw new UsageError(`environment variable ${name} is not set`);
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
    },
  });
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
            });
      out(values.json === true ? JSON.stringify(view) : `Added connector ${view.name} (${view.id}); its tools appear as ${view.name}__<tool>`);
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
          values: [...(c.headers ?? []), ...(c.env ?? [])].map((v) => (v.secret ? `${v.name}=********` : `${v.name}=${v.value ?? ''}`)).join(' '),
        })),
        ['name', 'type', 'target', 'flags', 'values'],
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
