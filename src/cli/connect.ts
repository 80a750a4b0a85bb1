import { parseArgs } from 'node:util';
import { publicBaseOf } from '../config/public-url.ts';
import { GatehouseError } from '../errors.ts';
import { viewKey, type KeyView } from '../services/keys.ts';
import { getVirtualServer } from '../services/virtual-servers.ts';
import type { Organisation } from '../store/types.ts';
import { CLIENT_NAMES, clientSnippet, endpointOf, entryNameOf, isPlainHttpRemote, type ClientName, type ClientSnippet } from './client-config.ts';
import type { CliContext } from './context.ts';
import { out, UsageError } from './output.ts';

export const CONNECT_USAGE = `gatehouse connect [--client claude|cursor|vscode|all] [--server NAME] [--key-id KEY_ID] [--org SLUG] [--url PUBLIC_BASE] [--json]
  Prints configuration for Claude Desktop, Cursor and VS Code. It never contains a key: each client reads it from
  a prompt or the environment. --key-id checks that the key is active; --server points at a virtual server.`;

/** The key a configuration is printed for, as much of it as may be shown. */
export type ConnectKey = Pick<KeyView, 'id' | 'name' | 'role' | 'scopes' | 'expiresAt'> & { readonly servers: readonly string[] | null };

export interface ConnectPlan {
  readonly url: string;
  readonly server: string | null;
  readonly key: ConnectKey | null;
  readonly clients: readonly ClientSnippet[];
  readonly warnings: readonly string[];
}

export async function connectCommand(ctx: CliContext, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      client: { type: 'string', default: 'all' },
      server: { type: 'string' },
      'key-id': { type: 'string' },
      org: { type: 'string' },
      url: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (positionals.length > 0) throw new UsageError(CONNECT_USAGE);
  const clients = parseClients(values.client);
  const base = values.url === undefined ? publicBaseOf(ctx.config) : parseBase(values.url);
  const org = await ctx.org(values.org);
  const key = values['key-id'] === undefined ? null : await requireActiveKey(ctx, org, values['key-id']);
  if (values.server !== undefined) await requireVirtualServer(ctx, org, values.server);
  // A key restricted to virtual servers is refused anywhere else: configure one of its servers or say why not.
  let server = values.server;
  if (key !== null && key.servers !== null) {
    if (server === undefined && key.servers.length === 1) server = key.servers[0];
    if (server === undefined || !key.servers.includes(server)) {
      throw new GatehouseError('conflict', `Key '${key.id}' may only be used on the virtual servers ${key.servers.join(', ')}: pass --server with one of them`);
    }
  }
  const plan = planConnect({ base, server, key, clients });
  if (values.json === true) out(JSON.stringify(plan, null, 2));
  else printPlan(plan);
}

/** Everything `connect` prints, computed without I/O so each client's shape can be tested on its own. */
export function planConnect(input: { base: string; server?: string | undefined; key: ConnectKey | null; clients: readonly ClientName[] }): ConnectPlan {
  const url = endpointOf(input.base, input.server);
  const name = entryNameOf(input.server);
  return {
    url,
    server: input.server ?? null,
    key: input.key,
    clients: input.clients.map((c) => clientSnippet(c, { url, name })),
    warnings: isPlainHttpRemote(url) ? ['This URL is plain HTTP to another host: keys would cross the network unencrypted. Use an https:// URL (--url or GATEHOUSE_PUBLIC_URL).'] : [],
  };
}

export function parseClients(text: string): ClientName[] {
  if (text === 'all') return [...CLIENT_NAMES];
  const chosen = text.split(',').map((s) => s.trim());
  for (const c of chosen) {
    if (!(CLIENT_NAMES as readonly string[]).includes(c)) throw new UsageError(`--client must be claude, cursor, vscode or all (got '${c}')`);
  }
  return [...new Set(chosen as ClientName[])];
}

/** The base URL clients reach the gateway at; the endpoint path is added here, so a URL ending in /mcp is a mistake. */
export function parseBase(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url must be an absolute http:// or https:// URL (got '${text}')`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be an http:// or https:// URL');
  if (url.username !== '' || url.password !== '') throw new UsageError('--url must not carry credentials');
  if (url.search !== '' || url.hash !== '') throw new UsageError('--url must not have a query or fragment');
  if (/\/mcp\/?$/.test(url.pathname)) throw new UsageError('--url is the gateway base URL, without /mcp (connect adds the endpoint path)');
  return url.pathname.endsWith('/') ? url.toString() : url.toString() + '/';
}

async function requireActiveKey(ctx: CliContext, org: Organisation, id: string): Promise<ConnectKey> {
  const record = await ctx.store.getApiKey(org.id, id);
  if (record === undefined) throw new GatehouseError('not_found', `No key '${id}' in organisation '${org.slug}' (see: gatehouse keys list)`);
  const key = viewKey(record);
  if (key.status === 'revoked') throw new GatehouseError('conflict', `Key '${id}' is revoked; create a new one with: gatehouse keys create`);
  if (key.status === 'expired') throw new GatehouseError('conflict', `Key '${id}' expired at ${key.expiresAt ?? '?'}; create a new one with: gatehouse keys create`);
  return { id: key.id, name: key.name, role: key.role, scopes: key.scopes, servers: record.servers, expiresAt: key.expiresAt };
}

/** The virtual server must exist in the organisation; another organisation's server of that name does not count. */
async function requireVirtualServer(ctx: CliContext, org: Organisation, name: string): Promise<void> {
  if ((await getVirtualServer(ctx, ctx.actor, org.id, name)) === undefined) {
    throw new GatehouseError('not_found', `No virtual server '${name}' in organisation '${org.slug}' (see: gatehouse servers list)`);
  }
}

function printPlan(plan: ConnectPlan): void {
  out(`MCP endpoint: ${plan.url}${plan.server === null ? '' : `  (virtual server ${plan.server})`}`);
  if (plan.key !== null) {
    const k = plan.key;
    out(`Key: ${k.id} (${k.name}), role ${k.role}, scopes: ${k.scopes.join(' ')}, expires: ${k.expiresAt ?? 'never'}`);
  }
  out('The key itself is not printed (it was shown once, when it was created): each configuration reads it from');
  out('a prompt or the environment. Merge the JSON into the file named.');
  for (const w of plan.warnings) out(`WARNING: ${w}`);
  for (const c of plan.clients) {
    out('');
    out(`== ${c.title} ==`);
    out(`File: ${c.files.join('\n      ')}`);
    out('');
    out(JSON.stringify(c.config, null, 2));
    out('');
    for (const n of c.notes) out(`- ${n}`);
  }
}
