import { normalizeCidr, rangeWithin } from '../cidr.ts';
import { GatehouseError } from '../errors.ts';
import { displayPrefix, generateApiKey, hashApiKey } from '../gateway/authn/api-key-format.ts';
import { isAllowed, roleWithin } from '../gateway/access/permissions.ts';
import { scopeCovers, scopeProblem } from '../gateway/access/scopes.ts';
import { newId } from '../ids.ts';
import { ROTATION_DAYS, type ApiKeyRecord, type KeyRole, type RotationDays } from '../store/types.ts';
import { authorize, changeEvent, operatorActor, requireSameOrg, type Actor, type ServiceContext } from './context.ts';
import { enforceKeyPolicy } from './key-policy.ts';

export interface NewKey {
  readonly orgId: string;
  readonly name: string;
  readonly role?: KeyRole | undefined;
  readonly scopes: readonly string[];
  readonly expiresAt?: string | undefined;
  /** The user the key acts for. A member's keys are always its own; a manager may name any member, or none. */
  readonly userId?: string | undefined;
  /** Restricts the key to these virtual servers' endpoints (never `/mcp`); absent: as the creator's key is restricted. */
  readonly servers?: readonly string[] | undefined;
  /** Networks the key may be used from (CIDR, IPv4 or IPv6); absent: wherever its organisation allows. */
  readonly cidrs?: readonly string[] | undefined;
  /** Days between rotations (30, 60, 90 or 180); absent: no schedule. */
  readonly rotationDays?: number | undefined;
}

/**
 * Where a key stands against its rotation schedule: `none` (no schedule, or the key no longer works or is already
 * being replaced), `scheduled` (not due yet), `due` (its due date has passed), `overdue` (a whole further period has
 * passed since, unrotated). Each period past the due date is reported to the audit log once.
 */
export type RotationStatus = 'none' | 'scheduled' | 'due' | 'overdue';

/** A key as it may be shown: never its hash, never the key. */
export type KeyView = Omit<ApiKeyRecord, 'keyHash' | 'rotationDueReported'> & {
  /** `retiring`: rotated with an overlap, it works until `retiresAt`; after that it is refused as revoked is. */
  readonly status: 'active' | 'retiring' | 'revoked' | 'expired';
  /** When the key is due for rotation (its creation plus its schedule); null without a schedule. */
  readonly rotationDueAt: string | null;
  readonly rotationStatus: RotationStatus;
};

const NO_SUCH_KEY = 'No such key';
const DAY_MS = 86_400_000;
/** The longest a rotated key may keep working beside its replacement. */
export const MAX_OVERLAP_SECONDS = 30 * 86_400;

type KeyState = KeyView['status'];

function keyState(k: ApiKeyRecord, now: number): KeyState {
  if (k.revokedAt !== null || (k.retiresAt !== null && Date.parse(k.retiresAt) <= now)) return 'revoked';
  if (k.expiresAt !== null && Date.parse(k.expiresAt) <= now) return 'expired';
  return k.retiresAt === null ? 'active' : 'retiring';
}

/**
 * The due period a working, scheduled key is in at `now`: 0 before its first due date (creation plus the schedule),
 * n from its n-th due date on, with that date. Undefined for a key that has no schedule, no longer works, or is retiring.
 */
export function rotationPeriod(k: ApiKeyRecord, now = Date.now()): { readonly period: number; readonly dueAt: string; readonly firstDueAt: string } | undefined {
  if (k.rotationDays === null || keyState(k, now) !== 'active') return undefined;
  const created = Date.parse(k.createdAt);
  const length = k.rotationDays * DAY_MS;
  const period = Math.max(0, Math.floor((now - created) / length));
  return { period, dueAt: new Date(created + Math.max(1, period) * length).toISOString(), firstDueAt: new Date(created + length).toISOString() };
}

export function viewKey(k: ApiKeyRecord, now = Date.now()): KeyView {
  const { keyHash: _hidden, rotationDueReported: _internal, ...rest } = k;
  const p = rotationPeriod(k, now);
  const rotationStatus: RotationStatus = p === undefined ? 'none' : p.period === 0 ? 'scheduled' : p.period === 1 ? 'due' : 'overdue';
  return {
    ...rest,
    status: keyState(k, now),
    rotationDueAt: k.rotationDays === null ? null : new Date(Date.parse(k.createdAt) + k.rotationDays * DAY_MS).toISOString(),
    rotationStatus,
  };
}

/** A rotation schedule as given (30, 60, 90 or 180 days), or a clear refusal. */
export function requireRotationDays(days: number): RotationDays {
  const found = ROTATION_DAYS.find((d) => d === days);
  if (found === undefined) throw new GatehouseError('bad_request', `A rotation schedule is ${ROTATION_DAYS.join(', ')} days, or none`);
  return found;
}

/**
 * Writes one `key.rotation_due` audit record per due period per key, for those of `keys` that are due at `now`. The
 * store's claim makes it one across every process sharing the database (the sweep of each replica, each listing);
 * a claim whose record then fails to be written is not retried (one record at most, never two).
 */
export async function reportDueRotations(ctx: Pick<ServiceContext, 'store' | 'audit'>, keys: readonly ApiKeyRecord[], now = Date.now()): Promise<number> {
  let reported = 0;
  for (const k of keys) {
    const p = rotationPeriod(k, now);
    if (p === undefined || p.period === 0) continue;
    // Already reported (by this or another process): no write, so no bump of the access revision either.
    if (k.rotationDueReported !== null && Date.parse(k.rotationDueReported) >= Date.parse(p.dueAt)) continue;
    if (!(await ctx.store.claimRotationDueReport(k.orgId, k.id, p.dueAt))) continue;
    const overdueDays = Math.floor((now - Date.parse(p.firstDueAt)) / DAY_MS);
    await ctx.audit.record(
      changeEvent(k.orgId, operatorActor('system:key-rotation'), 'key.rotation_due', { name: k.id }, {
        name: k.name, rotationDays: k.rotationDays, dueAt: p.firstDueAt, period: p.period, overdueDays,
      }),
    );
    reported++;
  }
  return reported;
}

/** The gateway's periodic check: every organisation's scheduled keys. */
export async function sweepDueRotations(ctx: Pick<ServiceContext, 'store' | 'audit'>, now = Date.now()): Promise<number> {
  return reportDueRotations(ctx, await ctx.store.listScheduledApiKeys(), now);
}

/**
 * A key can never carry more than whoever hands it out holds: a role within theirs, scopes within theirs, no server
 * beyond theirs (a key restricted to virtual servers hands out keys restricted to some of them), no network beyond
 * theirs (likewise for a key restricted to CIDRs), an expiry no later than theirs, and a user who is a member with at least the key's rights.
 */
async function assertGrantable(
  ctx: Pick<ServiceContext, 'store'>,
  actor: Actor,
  orgId: string,
  k: { role: KeyRole; scopes: readonly string[]; servers: readonly string[] | null; cidrs: readonly string[] | null; expiresAt: string | null; userId: string | null },
): Promise<void> {
  if (!roleWithin(k.role, actor.role)) throw new GatehouseError('forbidden', `A key cannot have more rights than yours: role ${k.role} is not within ${actor.role}`);
  for (const s of k.scopes) {
    if (!scopeCovers(actor.scopes, s)) throw new GatehouseError('forbidden', `A key cannot have more rights than yours: scope '${s}' is wider than your scopes`);
  }
  const ceiling = actor.servers;
  if (ceiling !== null) {
    const beyond = k.servers === null ? '/mcp and every virtual server' : k.servers.filter((s) => !ceiling.includes(s)).map((s) => `'${s}'`).join(', ');
    if (beyond !== '') throw new GatehouseError('forbidden', `A key cannot reach more than yours: ${beyond} is beyond the virtual servers your key may use`);
  }
  const networks = actor.cidrs;
  if (networks !== null) {
    const beyond = k.cidrs === null ? 'anywhere' : k.cidrs.filter((c) => !networks.some((n) => rangeWithin(c, n))).join(', ');
    if (beyond !== '') throw new GatehouseError('forbidden', `A key cannot reach more than yours: ${beyond} is beyond the networks your key may be used from`);
  }
  if (actor.expiresAt !== null && (k.expiresAt === null || Date.parse(k.expiresAt) > Date.parse(actor.expiresAt))) {
    throw new GatehouseError('forbidden', 'A key cannot outlive yours: its expiry must be no later than your key’s');
  }
  if (k.userId !== null) {
    const member = await ctx.store.getMember(orgId, k.userId);
    if (member === undefined) throw new GatehouseError('bad_request', 'The key’s user is not a member of this organisation');
    if (!roleWithin(k.role, member.role)) throw new GatehouseError('forbidden', `The key’s role ${k.role} is not within its user’s role ${member.role}`);
  }
}

function checkName(raw: string): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > 64) throw new GatehouseError('bad_request', 'Key name must be 1 to 64 characters');
  return name;
}

/**
 * Creates a key and returns it once; only its keyed hash is stored. The organisation's key policy applies to every
 * key but the first owner key, which bootstrap makes (`firstOwnerKey`) before anyone could have set a policy.
 */
export async function createKey(ctx: ServiceContext, actor: Actor, input: NewKey, options: { readonly firstOwnerKey?: boolean } = {}): Promise<{ key: string; record: KeyView }> {
  authorize(actor, 'key.create');
  requireSameOrg(actor, input.orgId, NO_SUCH_KEY);
  const name = checkName(input.name);
  if (input.scopes.length === 0) throw new GatehouseError('bad_request', 'A key needs at least one scope (use "*" for everything)');
  for (const s of input.scopes) {
    const problem = scopeProblem(s);
    if (problem !== undefined) throw new GatehouseError('bad_request', `Invalid scope ${problem}`);
  }
  if (input.expiresAt !== undefined && !(Date.parse(input.expiresAt) > Date.now())) {
    throw new GatehouseError('bad_request', 'Expiry must be a time in the future');
  }
  let userId = input.userId ?? null;
  if (!isAllowed(actor.role, 'key.manage_any')) {
    // A member manages its own keys only: they act for the member's user, whatever was asked.
    if (actor.userId === null) throw new GatehouseError('forbidden', 'Only a key that acts for a user can create keys of its own');
    if (userId !== null && userId !== actor.userId) throw new GatehouseError('forbidden', 'You can create keys only for yourself');
    userId = actor.userId;
  }
  const expiresAt = input.expiresAt === undefined ? actor.expiresAt : new Date(input.expiresAt).toISOString();
  const role = input.role ?? 'member';
  const scopes = [...new Set(input.scopes)];
  const servers = input.servers === undefined ? actor.servers && [...actor.servers] : await requireServers(ctx, input.orgId, input.servers);
  const cidrs = input.cidrs === undefined ? actor.cidrs && [...actor.cidrs] : requireCidrs(input.cidrs, 'A key restricted to networks needs at least one CIDR');
  await assertGrantable(ctx, actor, input.orgId, { role, scopes, servers, cidrs, expiresAt, userId });
  const rotationDays = input.rotationDays === undefined ? null : requireRotationDays(input.rotationDays);
  if (options.firstOwnerKey !== true) await enforceKeyPolicy(ctx, input.orgId, { scopes, expiresAt });
  const key = generateApiKey();
  const record: ApiKeyRecord = {
    id: newId('key'),
    orgId: input.orgId,
    userId,
    name,
    keyHash: hashApiKey(key, ctx.pepper),
    displayPrefix: displayPrefix(key),
    role,
    scopes,
    servers,
    cidrs,
    createdBy: actor.userId ?? actor.keyId ?? actor.name,
    createdAt: new Date().toISOString(),
    expiresAt,
    revokedAt: null,
    rotationDays,
    rotationDueReported: null,
    retiresAt: null,
    // Bootstrap's owner key may be '*' without an expiry under any policy; its replacements inherit that, nothing else does.
    policyExempt: options.firstOwnerKey === true,
  };
  await ctx.store.insertApiKey(record);
  await ctx.audit.record(changeEvent(record.orgId, actor, 'key.create', { name: record.id }, { name, role, scopes, servers, cidrs, expiresAt, userId, rotationDays }));
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

/**
 * Keys the actor may see: a member sees its own, readers every key of the organisation. Listing also reports the
 * organisation's keys that have fallen due for rotation since the gateway's last check.
 */
export async function listKeys(ctx: Pick<ServiceContext, 'store' | 'audit'>, actor: Actor, orgId: string): Promise<KeyView[]> {
  authorize(actor, 'key.read');
  requireSameOrg(actor, orgId, NO_SUCH_KEY);
  const now = Date.now();
  const all = await ctx.store.listApiKeys(orgId);
  await reportDueRotations(ctx, all, now);
  const visible = isAllowed(actor.role, 'key.read_any') ? all : all.filter((k) => actor.userId !== null && k.userId === actor.userId);
  return visible.map((k) => viewKey(k, now));
}

/** A key the actor may see, or not_found (a member asking for another's key is told it does not exist). */
async function visibleKey(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, id: string, any: 'key.read_any' | 'key.manage_any') {
  requireSameOrg(actor, orgId, NO_SUCH_KEY);
  const key = await ctx.store.getApiKey(orgId, id);
  const own = key !== undefined && actor.userId !== null && key.userId === actor.userId;
  if (key === undefined || (!own && !isAllowed(actor.role, any))) throw new GatehouseError('not_found', NO_SUCH_KEY);
  return key;
}

/** A key the actor may change: visible to it, and with no more rights than the actor's role. */
async function manageableKey(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, id: string): Promise<ApiKeyRecord> {
  const key = await visibleKey(ctx, actor, orgId, id, 'key.manage_any');
  if (!roleWithin(key.role, actor.role)) throw new GatehouseError('forbidden', 'You cannot manage a key with more rights than yours');
  return key;
}

export async function getKey(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, id: string): Promise<KeyView> {
  authorize(actor, 'key.read');
  return viewKey(await visibleKey(ctx, actor, orgId, id, 'key.read_any'));
}

export async function renameKey(ctx: ServiceContext, actor: Actor, orgId: string, id: string, newName: string): Promise<KeyView> {
  authorize(actor, 'key.update');
  const key = await manageableKey(ctx, actor, orgId, id);
  const name = checkName(newName);
  if (!(await ctx.store.renameApiKey(orgId, id, name))) throw new GatehouseError('not_found', NO_SUCH_KEY);
  await ctx.audit.record(changeEvent(orgId, actor, 'key.update', { name: id }, { name }));
  return viewKey({ ...key, name });
}

/** Sets (30, 60, 90 or 180 days) or clears (null) a key's rotation schedule; its due date counts from its creation. */
export async function scheduleKeyRotation(ctx: ServiceContext, actor: Actor, orgId: string, id: string, days: number | null): Promise<KeyView> {
  authorize(actor, 'key.update');
  const key = await manageableKey(ctx, actor, orgId, id);
  const rotationDays = days === null ? null : requireRotationDays(days);
  if (key.revokedAt !== null) throw new GatehouseError('conflict', 'A revoked key has no rotation schedule');
  if (key.retiresAt !== null) throw new GatehouseError('conflict', 'This key is being replaced (rotated with an overlap): schedule its replacement');
  if (!(await ctx.store.setApiKeyRotation(orgId, id, rotationDays))) throw new GatehouseError('conflict', 'The key is revoked or being replaced');
  await ctx.audit.record(changeEvent(orgId, actor, 'key.update', { name: id }, { rotationDays }));
  return viewKey({ ...key, rotationDays });
}

export async function revokeKey(ctx: ServiceContext, actor: Actor, orgId: string, id: string): Promise<KeyView> {
  authorize(actor, 'key.revoke');
  const key = await manageableKey(ctx, actor, orgId, id);
  const at = new Date().toISOString();
  if (!(await ctx.store.revokeApiKey(orgId, id, at))) throw new GatehouseError('conflict', 'The key is already revoked');
  await ctx.audit.record(changeEvent(orgId, actor, 'key.revoke', { name: id }, undefined));
  return viewKey({ ...key, revokedAt: at });
}

/**
 * Replaces a live key with a new one of the same name, role, scopes, user, expiry and rotation schedule (its due
 * date counting from now), in one transaction. Without an overlap the old key is revoked at once; with one
 * (`overlapSeconds`, at most 30 days) it keeps working until then, so clients can move over, and is refused after.
 * A key already being replaced cannot be rotated again. The new key is returned this once. Rotating hands out the
 * key's rights, so the actor must be allowed to create such a key; the first owner key's replacement keeps its
 * exemption from the key policy (it is the same key, renewed).
 */
export async function rotateKey(
  ctx: ServiceContext,
  actor: Actor,
  orgId: string,
  id: string,
  options: { readonly overlapSeconds?: number | undefined } = {},
): Promise<{ key: string; record: KeyView; retiresAt: string | null }> {
  authorize(actor, 'key.rotate');
  const overlap = options.overlapSeconds ?? 0;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_OVERLAP_SECONDS) {
    throw new GatehouseError('bad_request', `The overlap must be a whole number of seconds from 0 to ${MAX_OVERLAP_SECONDS} (30 days)`);
  }
  const old = await manageableKey(ctx, actor, orgId, id);
  const at = Date.now();
  if (keyState(old, at) === 'revoked') throw new GatehouseError('conflict', 'A revoked key cannot be rotated');
  if (old.retiresAt !== null) throw new GatehouseError('conflict', `This key is already being replaced (it stops working at ${old.retiresAt}): rotate its replacement`);
  await assertGrantable(ctx, actor, orgId, old);
  if (!old.policyExempt) await enforceKeyPolicy(ctx, orgId, old);
  const key = generateApiKey();
  const now = new Date(at).toISOString();
  const record: ApiKeyRecord = {
    ...old,
    id: newId('key'),
    keyHash: hashApiKey(key, ctx.pepper),
    displayPrefix: displayPrefix(key),
    createdBy: actor.userId ?? actor.keyId ?? actor.name,
    createdAt: now,
    rotationDueReported: null,
    retiresAt: null,
  };
  const retiresAt = overlap === 0 ? null : new Date(at + overlap * 1000).toISOString();
  const done = retiresAt === null ? await ctx.store.rotateApiKey(orgId, id, record, now) : await ctx.store.rotateApiKeyWithOverlap(orgId, id, record, retiresAt);
  if (!done) throw new GatehouseError('conflict', 'The key is already revoked or being replaced');
  await ctx.audit.record(changeEvent(orgId, actor, 'key.rotate', { name: id }, { replacement: record.id, overlapSeconds: overlap, retiresAt }));
  return { key, record: viewKey(record, at), retiresAt };
}

/** Parses an overlap (`90s`, `30m`, `12h`, `7d`, or `0` for none) into seconds. */
export function parseOverlap(text: string): number {
  if (text === '0' || text === 'none') return 0;
  const m = /^(\d{1,7})([smhd])$/.exec(text);
  if (m?.[1] === undefined || m[2] === undefined) throw new GatehouseError('bad_request', `Cannot read overlap '${text.slice(0, 32)}' (use 90s, 30m, 12h or 7d; at most 30d)`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
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
