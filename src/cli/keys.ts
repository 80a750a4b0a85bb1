import { parseArgs } from 'node:util';
import { publicBaseOf } from '../config/public-url.ts';
import { getKeyPolicy, setKeyPolicy, type KeyPolicyView } from '../services/key-policy.ts';
import { createKey, listKeys, parseExpiry, revokeKey, rotateKey } from '../services/keys.ts';
import type { WildcardRule } from '../store/key-policy-types.ts';
import { memberIdByEmail } from '../services/members.ts';
import type { KeyRole } from '../store/types.ts';
import { clientConfig, endpointOf, entryNameOf, mcpUrlOf } from './client-config.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

const ROLES = new Set(['owner', 'admin', 'member', 'viewer']);

export const KEYS_USAGE = `gatehouse keys create --name NAME [--scope SCOPE]... [--server NAME]... [--cidr CIDR]... [--expires 30d|ISO-DATE] [--role member]
                         [--user EMAIL] [--org SLUG]
gatehouse keys list [--org SLUG] [--json]
gatehouse keys revoke KEY_ID [--org SLUG]
gatehouse keys rotate KEY_ID [--org SLUG] [--json]   (a new key with the same rights; the old one stops working at once)
gatehouse keys policy [--org SLUG] [--json]
gatehouse keys set-policy [--max-lifetime 90d|none] [--wildcard allowed|with-expiry|refused] [--org SLUG] [--json]
  The key policy applies when a key is created or rotated. Default: no lifetime limit; wildcard allowed, in
  production only with an expiry (the first owner key excepted).
  SCOPE is * (everything), <connector>, or <connector>/<tool> (a trailing * matches a prefix). Default: *
  --server restricts the key to that virtual server's endpoint (/servers/NAME/mcp, never /mcp). Default: unrestricted
  --cidr restricts the key to clients from those networks (IPv4 or IPv6, e.g. 10.0.0.0/8, ::1/128). Default: anywhere`;

export async function keysCommand(ctx: CliContext, sub: string, rest: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scope: { type: 'string', multiple: true },
      server: { type: 'string', multiple: true },
      cidr: { type: 'string', multiple: true },
      expires: { type: 'string' },
      role: { type: 'string' },
      user: { type: 'string' },
      org: { type: 'string' },
      json: { type: 'boolean' },
      'max-lifetime': { type: 'string' },
      wildcard: { type: 'string' },
    },
  });
  const org = await ctx.org(values.org);
  switch (sub) {
    case 'create': {
      if (values.name === undefined) throw new UsageError('keys create needs --name');
      if (values.role !== undefined && !ROLES.has(values.role)) throw new UsageError('--role must be owner, admin, member or viewer');
      const { key, record } = await createKey(ctx, ctx.actor, {
        orgId: org.id,
        name: values.name,
        scopes: values.scope ?? ['*'],
        servers: values.server,
        cidrs: values.cidr,
        role: (values.role ?? 'member') as KeyRole,
        expiresAt: values.expires === undefined ? undefined : parseExpiry(values.expires),
        userId: values.user === undefined ? undefined : await memberIdByEmail(ctx, org.id, values.user),
      });
      if (values.json === true) {
        out(JSON.stringify({ key, ...record }));
        return;
      }
      const servers = record.servers === null ? '' : `, servers: ${record.servers.join(' ')}`;
      const cidrs = record.cidrs === null ? '' : `, networks: ${record.cidrs.join(' ')}`;
      out(`Created key ${record.id} (${record.name}), scopes: ${record.scopes.join(' ')}${servers}${cidrs}, expires: ${record.expiresAt ?? 'never'}`);
      out('');
      out(`  ${key}`);
      out('');
      out('The key is shown this once. Client configuration:');
      // A key restricted to virtual servers is refused at /mcp: configure the first of its servers.
      const server = record.servers?.[0];
      out(server === undefined ? clientConfig(mcpUrlOf(ctx.config), key) : clientConfig(endpointOf(publicBaseOf(ctx.config), server), key, entryNameOf(server)));
      return;
    }
    case 'list': {
      const keys = await listKeys(ctx, ctx.actor, org.id);
      if (values.json === true) {
        out(JSON.stringify(keys));
        return;
      }
      table(
        keys.map((k) => ({
          id: k.id,
          name: k.name,
          prefix: k.displayPrefix,
          role: k.role,
          scopes: k.scopes.join(' '),
          servers: k.servers === null ? '*' : k.servers.join(' '),
          networks: k.cidrs === null ? '*' : k.cidrs.join(' '),
          status: k.status,
          expires: k.expiresAt ?? '-',
        })),
        ['id', 'name', 'prefix', 'role', 'scopes', 'servers', 'status', 'expires', 'networks'],
      );
      return;
    }
    case 'revoke': {
      const id = positionals[0];
      if (id === undefined) throw new UsageError('keys revoke needs a KEY_ID');
      await revokeKey(ctx, ctx.actor, org.id, id);
      out(`Revoked ${id}`);
      return;
    }
    case 'rotate': {
      const id = positionals[0];
      if (id === undefined) throw new UsageError('keys rotate needs a KEY_ID');
      const { key, record } = await rotateKey(ctx, ctx.actor, org.id, id);
      if (values.json === true) {
        out(JSON.stringify({ key, ...record }));
        return;
      }
      out(`Rotated ${id}: it no longer works. Its replacement is ${record.id}, shown this once:`);
      out('');
      out(`  ${key}`);
      out('');
      return;
    }
    case 'policy':
      printPolicy(await getKeyPolicy(ctx, ctx.actor, org.id), values.json === true);
      return;
    case 'set-policy': {
      const lifetime = values['max-lifetime'];
      const wildcard = values.wildcard;
      if (lifetime === undefined && wildcard === undefined) throw new UsageError('keys set-policy needs --max-lifetime or --wildcard');
      if (wildcard !== undefined && !WILDCARD_RULES.has(wildcard)) throw new UsageError('--wildcard must be allowed, with-expiry or refused');
      let maxLifetimeDays: number | null | undefined;
      if (lifetime === 'none') maxLifetimeDays = null;
      else if (lifetime !== undefined) {
        const days = /^(\d{1,4})d$/.exec(lifetime)?.[1];
        if (days === undefined) throw new UsageError('--max-lifetime must be a number of days (90d) or none');
        maxLifetimeDays = Number(days);
      }
      const policy = await setKeyPolicy(ctx, ctx.actor, org.id, {
        maxLifetimeDays,
        wildcard: wildcard === undefined ? undefined : (wildcard.replace('-', '_') as WildcardRule),
      });
      printPolicy(policy, values.json === true);
      return;
    }
    default:
      throw new UsageError(KEYS_USAGE);
  }
}

const WILDCARD_RULES = new Set(['allowed', 'with-expiry', 'refused']);

function printPolicy(p: KeyPolicyView, json: boolean): void {
  if (json) {
    out(JSON.stringify(p));
    return;
  }
  out(`max lifetime:  ${p.maxLifetimeDays === null ? 'none' : `${p.maxLifetimeDays} days`}`);
  out(`wildcard '*':  ${p.wildcard.replace('_', ' ')}`);
  out(p.stored ? `set:           ${p.updatedAt ?? ''}` : 'set:           no (the default)');
}
