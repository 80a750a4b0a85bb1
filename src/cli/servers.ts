import { parseArgs } from 'node:util';
import { publicBaseOf } from '../config/public-url.ts';
import { GatehouseError } from '../errors.ts';
import { listConnectors } from '../services/connectors.ts';
import { DEFAULT_ORG_SLUG } from '../services/organisations.ts';
import {
  createVirtualServer,
  getVirtualServer,
  listVirtualServers,
  removeVirtualServer,
  updateVirtualServer,
  virtualServerPath,
  type VirtualServerDefinition,
} from '../services/virtual-servers.ts';
import type { Organisation, VirtualServerRecord } from '../store/types.ts';
import { endpointOf } from './client-config.ts';
import type { CliContext } from './context.ts';
import { err, out, table, UsageError } from './output.ts';

export const SERVERS_USAGE = `gatehouse servers add NAME [--tools P]... [--prompts P]... [--resources C]... [--unprefixed] [--description TEXT] [--org SLUG] [--json]
gatehouse servers list [--org SLUG] [--json]
gatehouse servers show NAME [--org SLUG] [--json]
gatehouse servers update NAME [--tools P]... [--prompts P]... [--resources C]... [--clear tools|prompts|resources]...
                              [--unprefixed | --prefixed] [--description TEXT] [--org SLUG] [--json]
gatehouse servers remove NAME [--org SLUG]
  A virtual server serves a chosen part of the catalog at /servers/NAME/mcp. P is * (every connector), <connector>
  or <connector>/<name> (a trailing * matches a prefix); C is * or <connector>. update replaces each list it is given.`;

const LISTS = ['tools', 'prompts', 'resources'] as const;
type ListField = (typeof LISTS)[number];

export async function serversCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      tools: { type: 'string', multiple: true },
      prompts: { type: 'string', multiple: true },
      resources: { type: 'string', multiple: true },
      clear: { type: 'string', multiple: true },
      unprefixed: { type: 'boolean' },
      prefixed: { type: 'boolean' },
      description: { type: 'string' },
      org: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const definitionGiven = [...LISTS, 'clear', 'unprefixed', 'prefixed', 'description'].some((o) => o in values);
  if ((sub === 'list' || sub === 'show' || sub === 'remove') && definitionGiven) throw new UsageError(`servers ${sub} takes no definition options`);
  if (sub === 'list' ? positionals.length > 0 : positionals.length !== 1) throw new UsageError(SERVERS_USAGE);
  const name = positionals[0] ?? '';
  const org = await ctx.org(values.org);
  switch (sub) {
    case 'add': {
      if (values.clear !== undefined || values.prefixed !== undefined) throw new UsageError('--clear and --prefixed are for servers update');
      const server = await createVirtualServer(ctx, ctx.actor, {
        orgId: org.id,
        name,
        description: values.description,
        tools: values.tools,
        prompts: values.prompts,
        resources: values.resources,
        unprefixed: values.unprefixed,
      });
      if (values.json === true) out(JSON.stringify(view(server)));
      else {
        out(`Added virtual server ${server.name} (${server.id})`);
        out(`Endpoint: ${virtualServerPath(server.name)}  (${endpointOf(publicBaseOf(ctx.config), server.name)})`);
        out(`A key for it alone: gatehouse keys create --name NAME --server ${server.name}${orgFlag(org)}`);
        out(`Client configuration: gatehouse connect --server ${server.name}${orgFlag(org)}`);
      }
      await warnUnknownConnectors(ctx, org, server);
      return;
    }
    case 'update': {
      const server = await updateVirtualServer(ctx, ctx.actor, org.id, name, changeOf(values));
      if (values.json === true) out(JSON.stringify(view(server)));
      else {
        out(`Updated virtual server ${server.name}`);
        printServer(ctx, server);
      }
      await warnUnknownConnectors(ctx, org, server);
      return;
    }
    case 'list': {
      const servers = await listVirtualServers(ctx, ctx.actor, org.id);
      if (values.json === true) {
        out(JSON.stringify(servers.map(view)));
        return;
      }
      table(
        servers.map((s) => ({
          name: s.name,
          endpoint: virtualServerPath(s.name),
          tools: s.tools.join(' '),
          prompts: s.prompts.join(' '),
          resources: s.resources.join(' '),
          names: s.unprefixed ? 'unprefixed' : 'prefixed',
          description: s.description,
        })),
        ['name', 'endpoint', 'tools', 'prompts', 'resources', 'names', 'description'],
      );
      return;
    }
    case 'show': {
      const server = await getVirtualServer(ctx, ctx.actor, org.id, name);
      if (server === undefined) throw new GatehouseError('not_found', `No virtual server '${name}' in organisation '${org.slug}'`);
      if (values.json === true) out(JSON.stringify(view(server)));
      else printServer(ctx, server);
      return;
    }
    case 'remove': {
      const { affectedKeys } = await removeVirtualServer(ctx, ctx.actor, org.id, name);
      out(`Removed virtual server ${name}`);
      if (affectedKeys.length > 0) {
        err(
          `WARNING: ${String(affectedKeys.length)} active key(s) restricted to ${name} now reach nothing through it: ${affectedKeys.join(' ')}\n` +
            `A virtual server added later under the name ${name} would serve them again; revoke them with: gatehouse keys revoke KEY_ID${orgFlag(org)}`,
        );
      }
      return;
    }
    default:
      throw new UsageError(SERVERS_USAGE);
  }
}

type Values = { [F in ListField]?: string[] | undefined } & {
  clear?: string[] | undefined;
  unprefixed?: boolean | undefined;
  prefixed?: boolean | undefined;
  description?: string | undefined;
};

function changeOf(values: Values): VirtualServerDefinition {
  if (values.unprefixed === true && values.prefixed === true) throw new UsageError('give at most one of --unprefixed and --prefixed');
  const lists: { [F in ListField]?: string[] } = { tools: values.tools, prompts: values.prompts, resources: values.resources };
  for (const field of values.clear ?? []) {
    if (!(LISTS as readonly string[]).includes(field)) throw new UsageError(`--clear takes tools, prompts or resources (got '${field}')`);
    if (lists[field as ListField] !== undefined) throw new UsageError(`--clear ${field} and --${field} contradict each other`);
    lists[field as ListField] = [];
  }
  const unprefixed = values.unprefixed === true ? true : values.prefixed === true ? false : undefined;
  return { ...lists, unprefixed, description: values.description };
}

function view(server: VirtualServerRecord) {
  return { ...server, endpoint: virtualServerPath(server.name) };
}

function printServer(ctx: CliContext, s: VirtualServerRecord): void {
  const list = (items: readonly string[]) => (items.length === 0 ? '(none)' : items.join(' '));
  out(`Virtual server ${s.name} (${s.id})`);
  out(`  endpoint:     ${virtualServerPath(s.name)}  (${endpointOf(publicBaseOf(ctx.config), s.name)})`);
  out(`  description:  ${s.description === '' ? '(none)' : s.description}`);
  out(`  tools:        ${list(s.tools)}`);
  out(`  prompts:      ${list(s.prompts)}`);
  out(`  resources:    ${list(s.resources)}`);
  out(`  names:        ${s.unprefixed ? 'unprefixed where they do not collide' : 'prefixed (<connector>__<name>)'}`);
  out(`  created:      ${s.createdAt}, updated ${s.updatedAt}`);
}

/** Patterns may name a connector that is added later; say so, since until then they select nothing. */
async function warnUnknownConnectors(ctx: CliContext, org: Organisation, s: VirtualServerRecord): Promise<void> {
  const known = new Set((await listConnectors(ctx, ctx.actor, org.id)).map((c) => c.name));
  const named = new Set([...s.tools, ...s.prompts, ...s.resources].filter((p) => p !== '*').map((p) => p.split('/')[0] ?? p));
  const unknown = [...named].filter((c) => !known.has(c));
  if (unknown.length > 0) {
    err(`WARNING: no connector ${unknown.map((c) => `'${c}'`).join(', ')} in organisation '${org.slug}' yet; what names it selects nothing until it is added`);
  }
}

function orgFlag(org: Organisation): string {
  return org.slug === DEFAULT_ORG_SLUG ? '' : ` --org ${org.slug}`;
}
