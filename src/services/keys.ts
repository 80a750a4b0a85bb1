import { GatehouseError } from '../errors.ts';
import { displayPrefix, generateApiKey, hashApiKey } from '../gateway/authn/api-key-format.ts';
import { normalizeCidr } from '../gateway/access/network.ts';
import { scopeProblem } from '../gateway/access/scopes.ts';
import { newId } from '../ids.ts';
import type { ApiKeyRecord, KeyRole } from '../store/types.ts';
import { changeEvent, type Actor, type ServiceContext } from './context.ts';

export interface NewKey {
  readonly orgId: string;
  readonly name: string;
  readonly role?: KeyRole;
  readonly scopes: readonly string[];
  readonly expiresAt?: string | undefined;
  /** Restricts the key to these virtual servers' endpoints (never `/mcp`); absent: unrestricted. */
  readonly servers?: readonly string[] | undefined;
  /** Networks the key may be used from (CIDR, IPv4 or IPv6); absent: wherever its organisation allows. */
  readonly cidrs?: readonly string[] | undefined;
}

/** A key as it may be shown: never its hash, never the key. */
export type KeyView = Omit<ApiKeyRecord, 'keyHash'> & { readonly status: 'active' | 'revoked' | 'expired' };

export function viewKey(k: ApiKeyRecord, now = Date.now()): KeyView {
  const { keyHash: _hidden, ...rest } = k;
  const status = k.revokedAt !== null ? 'revoked' : k.expiresAt !== null && Date.parse(k.expiresAt) <= now ? 'expired' : 'active';
  return { ...rest, status };
}

/** Creates a key and returns it once; only its keyed hash is stored. */
export async function createKey(ctx: ServiceContext, actor: Actor, input: NewKey): Promise<{ key: string; record: KeyView }> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 64) throw new GatehouseError('bad_request', 'Key name must be 1 to 64 characters');
  if (input.scopes.length === 0) throw new GatehouseError('bad_request', 'A key needs at least one scope (use "*" for everything)');
  for (const s of input.scopes) {
    const problem = scopeProblem(s);
    if (problem !== undefined) throw new GatehouseError('bad_request', `Invalid scope ${problem}`);
  }
  if (input.expiresAt !== undefined && !(Date.parse(input.expiresAt) > Date.now())) {
    throw new GatehouseError('bad_request', 'Expiry must be a time in the future');
  }
  const servers = input.servers === undefined ? null : await requireServers(ctx, input.orgId, input.servers);
  const cidrs = input.cidrs === undefined ? null : requireCidrs(input.cidrs, 'A key restricted to networks needs at least one CIDR');
  const key = generateApiKey();
  const record: ApiKeyRecord = {
    id: newId('key'),
    orgId: input.orgId,
    name,
    keyHash: hashApiKey(key, ctx.pepper),
    displayPrefix: displayPrefix(key),
    role: input.role ?? 'member',
    scopes: [...new Set(input.scopes)],
    servers,
    cidrs,
    createdBy: actor.user,
    createdAt: new Date().toISOString(),
    expiresAt: input.expiresAt === undefined ? null : new Date(input.expiresAt).toISOString(),
    revokedAt: null,
  };
  await ctx.store.insertApiKey(record);
  await ctx.audit.record(
    changeEvent(record.orgId, actor, 'key.create', { name: record.id }, { name, role: record.role, scopes: record.scopes, servers, cidrs, expiresAt: record.expiresAt }),
  );
  return { key, record: viewKey(record) };
}

/** Canonical, de-duplicated CIDRs; an empty list or one that is not a CIDR is refused. */
export function requireCidrs(list: readonly string[], emptyMessage: string): string[] {
  if (list.length === 0) throw new GatehouseError('bad_request', emptyMessage);
  if (list.length > 256) throw new GatehouseError('bad_request', 'At most 256 CIDRs');
  return [
    ...new Set(
      list.map((c) => {
        const cidr = normalizeCidr(c);
        if (cidr === undefined) throw new GatehouseError('bad_request', `'${c.slice(0, 64)}' is not a CIDR (e.g. 10.0.0.0/8, 2001:db8::/32, ::1)`);
        return cidr;
      }),
    ),
  ];
}

/** The servers a key is restricted to must exist now; a key restricted to nothing would be a key for nothing. */
export async function requireServers(ctx: Pick<ServiceContext, 'store'>, orgId: string, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) throw new GatehouseError('bad_request', 'A key restricted to virtual servers needs at least one server name');
  const unique = [...new Set(names)];
  for (const name of unique) {
    if ((await ctx.store.getVirtualServer(orgId, name)) === undefined) {
      throw new GatehouseError('not_found', `No virtual server '${name.slice(0, 64)}' in this organisation (see: gatehouse servers list)`);
    }
  }
  return unique;
}

export async function listKeys(ctx: Pick<ServiceContext, 'store'>, orgId: string): Promise<KeyView[]> {
  const now = Date.now();
  return (await ctx.store.listApiKeys(orgId)).map((k) => viewKey(k, now));
}

export async function revokeKey(ctx: ServiceContext, actor: Actor, orgId: string, id: string): Promise<void> {
  const revoked = await ctx.store.revokeApiKey(orgId, id, new Date().toISOString());
  if (!revoked) {
    const existing = await ctx.store.getApiKey(orgId, id);
    throw existing === undefined
      ? new GatehouseError('not_found', `No key '${id}'`)
      : new GatehouseError('conflict', `Key '${id}' is already revoked`);
  }
  await ctx.audit.record(changeEvent(orgId, actor, 'key.revoke', { name: id }, undefined));
}

/** Parses `30d`, `12h`, `90m` or an ISO date into an ISO timestamp. */
export function parseExpiry(text: string, now = Date.now()): string {
  const m = /^(\d{1,6})([mhd])$/.exec(text);
  if (m?.[1] !== undefined && m[2] !== undefined) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
    return new Date(now + Number(m[1]) * unit).toISOString();
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new GatehouseError('bad_request', `Cannot read expiry '${text}' (use 30d, 12h, 90m or an ISO date)`);
  return new Date(t).toISOString();
}
