import { parseArgs } from 'node:util';
import { publicBaseOf } from '../config/public-url.ts';
import { getKeyPolicy, setKeyPolicy, type KeyPolicyView } from '../services/key-policy.ts';
import { createKey, listKeys, parseExpiry, parseOverlap, revokeKey, rotateKey, scheduleKeyRotation, type KeyView } from '../services/keys.ts';
import type { WildcardRule } from '../store/key-policy-types.ts';
import { memberIdByEmail } from '../services/members.ts';
import type { KeyRole } from '../store/types.ts';
import { clientConfig, endpointOf, entryNameOf, mcpUrlOf } from './client-config.ts';
import type { CliContext } from './context.ts';
import { out, table, UsageError } from './output.ts';

const ROLES = new Set(['owner', 'admin', 'member', 'viewer']);

export const KEYS_USAGE = `gatehouse keys create --name NAME [--scope SCOPE]... [--server NAME]... [--cidr CIDR]... [--expires 30d|ISO-DATE] [--role member]
                         [--user EMAIL] [--rotate-every 30d|60d|90d|180d] [--org SLUG]
gatehouse keys list [--org SLUG] [--json]   (keys due for rotation are marked, and audited once per due period)
gatehouse keys schedule KEY_ID 30d|60d|90d|180d|none [--org SLUG] [--json]
gatehouse keys revoke KEY_ID [--org SLUG]
gatehouse keys rotate KEY_ID [--overlap 0|90s|30m|12h|7d] [--org SLUG] [--json]
  A new key with the same rights and schedule. The old one stops working at once, or with --overlap (at most 30d)
  keeps working until the overlap ends, then is refused like a revoked key.
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
      'rotate-every': { type: 'string' },
      overlap: { type: 'string' },
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
        rotationDays: values['rotate-every'] === undefined ? undefined : rotationDaysOf(values['rotate-every'], '--rotate-every'),
      });
      if (values.json === true) {
        out(JSON.stringify({ key, ...record }));
        return;
      }
      const servers = record.servers === null ? '' : `, servers: ${record.servers.join(' ')}`;
      const cidrs = record.cidrs === null ? '' : `, networks: ${record.cidrs.join(' ')}`;
      const rotation = record.rotationDays === null ? '' : `, rotate every ${record.rotationDays} days (due ${record.rotationDueAt ?? ''})`;
      out(`Created key ${record.id} (${record.name}), scopes: ${record.scopes.join(' ')}${servers}${cidrs}, expires: ${record.expiresAt ?? 'never'}${rotation}`);
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
          status: statusOf(k),
          expires: k.expiresAt ?? '-',
          rotation: k.rotationDays === null ? '-' : `${k.rotationDays}d, due ${k.rotationDueAt ?? ''}`,
        })),
        ['id', 'name', 'prefix', 'role', 'scopes', 'servers', 'status', 'expires', 'rotation', 'networks'],
      );
      const due = keys.filter((k) => k.rotationStatus === 'due' || k.rotationStatus === 'overdue');
      if (due.length > 0) {
        out('');
        out(`${due.length} key${due.length === 1 ? ' is' : 's are'} due for rotation (ROTATE! above): gatehouse keys rotate KEY_ID [--overlap 1d]`);
      }
      return;
    }
    case 'schedule': {
      const id = positionals[0];
      const every = positionals[1];
      if (id === undefined || every === undefined) throw new UsageError('keys schedule needs a KEY_ID and 30d, 60d, 90d, 180d or none');
      const record = await scheduleKeyRotation(ctx, ctx.actor, org.id, id, every === 'none' ? null : rotationDaysOf(every, 'the schedule'));
      if (values.json === true) {
        out(JSON.stringify(record));
        return;
      }
      out(record.rotationDays === null ? `${id} has no rotation schedule` : `${id} is to be rotated every ${record.rotationDays} days: due ${record.rotationDueAt ?? ''} (${record.rotationStatus})`);
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
      let overlapSeconds: number | undefined;
      try {
        overlapSeconds = values.overlap === undefined ? undefined : parseOverlap(values.overlap);
      } catch (err) {
        throw new UsageError(err instanceof Error ? err.message : String(err));
      }
      const { key, record, retiresAt } = await rotateKey(ctx, ctx.actor, org.id, id, { overlapSeconds });
      if (values.json === true) {
        out(JSON.stringify({ key, ...record, oldKeyRetiresAt: retiresAt }));
        return;
      }
      const old = retiresAt === null ? 'it no longer works' : `it keeps working until ${retiresAt}, then stops`;
      out(`Rotated ${id}: ${old}. Its replacement is ${record.id}, shown this once:`);
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

/** `90d` (or `90`) for one of the schedules a key may have. */
function rotationDaysOf(text: string, what: string): number {
  const days = /^(30|60|90|180)d?$/.exec(text)?.[1];
  if (days === undefined) throw new UsageError(`${what} must be 30d, 60d, 90d or 180d`);
  return Number(days);
}

/** A key's status, with its rotation marked when it is due. */
function statusOf(k: KeyView): string {
  if (k.rotationStatus === 'due') return `${k.status} ROTATE!`;
  if (k.rotationStatus === 'overdue') return `${k.status} ROTATE! (overdue)`;
  return k.status === 'retiring' ? `retiring until ${k.retiresAt ?? ''}` : k.status;
}

function printPolicy(p: KeyPolicyView, json: boolean): void {
  if (json) {
    out(JSON.stringify(p));
    return;
  }
  out(`max lifetime:  ${p.maxLifetimeDays === null ? 'none' : `${p.maxLifetimeDays} days`}`);
  out(`wildcard '*':  ${p.wildcard.replace('_', ' ')}`);
  out(p.stored ? `set:           ${p.updatedAt ?? ''}` : 'set:           no (the default)');
}
