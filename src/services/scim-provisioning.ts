import { GatehouseError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { ScimGroupRecord, ScimUserRecord } from '../store/scim-types.ts';
import { DuplicateError } from '../store/types.ts';
import { changeEvent, type Actor } from './context.ts';
import { EMAIL, findOrCreateUser } from './members.ts';
import { endUserAccess, syncMembership, type ScimContext } from './scim-roles.ts';

/**
 * Users and groups as the organisation's identity provider pushes them. Input arrives already shaped by SCIMMY's
 * schemas; this decides what it means for Gatehouse: a SCIM user is a person (by email) in this organisation, their
 * role follows their groups, and deactivating or deleting them ends their access at once. The actor is always the
 * organisation's SCIM token, and every change is audited.
 */
export type ScimInput = Readonly<Record<string, unknown>>;

const NO_SUCH_USER = 'No such user';
const NO_SUCH_GROUP = 'No such group';
/** Never kept: SCIM may carry a password; Gatehouse signs people in through their IdP or its own accounts. */
const NOT_STORED = new Set(['id', 'meta', 'password', 'groups']);

function text(input: ScimInput, name: string): string | null {
  const v = input[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}

function stored(input: ScimInput): string {
  return JSON.stringify(Object.fromEntries(Object.entries(input).filter(([k]) => !NOT_STORED.has(k))));
}

/** The person's email: the primary (or first) of `emails`, else an email-shaped userName. */
export function emailOf(input: ScimInput): string {
  const emails = Array.isArray(input.emails) ? (input.emails as unknown[]).filter((e): e is { value: string; primary?: boolean } => typeof (e as { value?: unknown } | null)?.value === 'string') : [];
  const chosen = (emails.find((e) => e.primary === true) ?? emails[0])?.value ?? text(input, 'userName') ?? '';
  const email = chosen.trim().toLowerCase();
  if (!EMAIL.test(email)) throw new GatehouseError('bad_request', 'A user needs an email address (in emails, or an email-shaped userName)');
  return email;
}

function userRecord(orgId: string, userId: string, input: ScimInput, createdAt: string, now: string): ScimUserRecord {
  const userName = text(input, 'userName');
  if (userName === null || userName.length > 256) throw new GatehouseError('bad_request', 'userName must be 1 to 256 characters');
  return { orgId, userId, userName, externalId: text(input, 'externalId'), active: input.active !== false, resource: stored(input), createdAt, updatedAt: now };
}

async function audit(ctx: ScimContext, actor: Actor, orgId: string, action: string, target: string, args: unknown): Promise<void> {
  await ctx.audit.record(changeEvent(orgId, actor, action, { name: target }, args));
}

export async function provisionUser(ctx: ScimContext, actor: Actor, orgId: string, input: ScimInput): Promise<ScimUserRecord> {
  const person = await findOrCreateUser(ctx, emailOf(input));
  const now = new Date().toISOString();
  const record = userRecord(orgId, person.id, input, now, now);
  try {
    await ctx.store.scim.insertUser(record);
  } catch (err) {
    if (err instanceof DuplicateError) throw new GatehouseError('conflict', 'A user with that userName or email is already provisioned');
    throw err;
  }
  await audit(ctx, actor, orgId, 'scim.user.create', person.id, { userName: record.userName, active: record.active });
  if (!record.active) await endUserAccess(ctx, actor, orgId, person.id);
  await syncMembership(ctx, actor, orgId, person.id);
  return record;
}

/** PUT, and PATCH once SCIMMY has applied the operations: the whole user is replaced. */
export async function replaceUser(ctx: ScimContext, actor: Actor, orgId: string, userId: string, input: ScimInput): Promise<ScimUserRecord> {
  const existing = await ctx.store.scim.getUser(orgId, userId);
  if (existing === undefined) throw new GatehouseError('not_found', NO_SUCH_USER);
  const record = userRecord(orgId, userId, input, existing.createdAt, new Date().toISOString());
  try {
    if (!(await ctx.store.scim.updateUser(record))) throw new GatehouseError('not_found', NO_SUCH_USER);
  } catch (err) {
    if (err instanceof DuplicateError) throw new GatehouseError('conflict', 'A user with that userName is already provisioned');
    throw err;
  }
  await audit(ctx, actor, orgId, 'scim.user.update', userId, { userName: record.userName, active: record.active });
  if (existing.active && !record.active) {
    await audit(ctx, actor, orgId, 'scim.user.deactivate', userId, undefined);
    await endUserAccess(ctx, actor, orgId, userId);
  }
  await syncMembership(ctx, actor, orgId, userId);
  return record;
}

/** DELETE: the person leaves the organisation (membership, keys, sessions); the person stays for other organisations. */
export async function deprovisionUser(ctx: ScimContext, actor: Actor, orgId: string, userId: string): Promise<void> {
  if (!(await ctx.store.scim.deleteUser(orgId, userId))) throw new GatehouseError('not_found', NO_SUCH_USER);
  await audit(ctx, actor, orgId, 'scim.user.delete', userId, undefined);
  await endUserAccess(ctx, actor, orgId, userId);
  await syncMembership(ctx, actor, orgId, userId);
}

async function groupRecord(ctx: ScimContext, orgId: string, id: string, input: ScimInput, createdAt: string): Promise<ScimGroupRecord> {
  const displayName = text(input, 'displayName');
  if (displayName === null || displayName.length > 256) throw new GatehouseError('bad_request', 'displayName must be 1 to 256 characters');
  const raw = Array.isArray(input.members) ? (input.members as unknown[]) : [];
  const members = [...new Set(raw.map((m) => (m as { value?: unknown } | null)?.value))];
  const known = new Set((await ctx.store.scim.listUsers(orgId)).map((u) => u.userId));
  for (const m of members) {
    // Another organisation's user is as unknown here as one that does not exist.
    if (typeof m !== 'string' || !known.has(m)) throw new GatehouseError('bad_request', 'A member is not a provisioned user of this organisation');
  }
  return { id, orgId, displayName, externalId: text(input, 'externalId'), members: members as string[], createdAt, updatedAt: new Date().toISOString() };
}

async function syncAll(ctx: ScimContext, actor: Actor, orgId: string, userIds: Iterable<string>): Promise<void> {
  for (const userId of new Set(userIds)) await syncMembership(ctx, actor, orgId, userId);
}

function uniqueName<T>(p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    throw err instanceof DuplicateError ? new GatehouseError('conflict', 'A group with that displayName already exists') : err;
  });
}

export async function createGroup(ctx: ScimContext, actor: Actor, orgId: string, input: ScimInput): Promise<ScimGroupRecord> {
  const record = await groupRecord(ctx, orgId, newId('grp'), input, new Date().toISOString());
  await uniqueName(ctx.store.scim.insertGroup(record));
  await audit(ctx, actor, orgId, 'scim.group.create', record.id, { displayName: record.displayName, members: record.members });
  await syncAll(ctx, actor, orgId, record.members);
  return record;
}

/** PUT, and PATCH once SCIMMY has applied the operations (members added or removed): the whole group is replaced. */
export async function replaceGroup(ctx: ScimContext, actor: Actor, orgId: string, id: string, input: ScimInput): Promise<ScimGroupRecord> {
  const existing = await ctx.store.scim.getGroup(orgId, id);
  if (existing === undefined) throw new GatehouseError('not_found', NO_SUCH_GROUP);
  const record = await groupRecord(ctx, orgId, id, input, existing.createdAt);
  if (!(await uniqueName(ctx.store.scim.updateGroup(record)))) throw new GatehouseError('not_found', NO_SUCH_GROUP);
  const added = record.members.filter((m) => !existing.members.includes(m));
  const removed = existing.members.filter((m) => !record.members.includes(m));
  await audit(ctx, actor, orgId, 'scim.group.update', id, { displayName: record.displayName, added, removed });
  await syncAll(ctx, actor, orgId, [...existing.members, ...record.members]);
  return record;
}

export async function deleteGroup(ctx: ScimContext, actor: Actor, orgId: string, id: string): Promise<void> {
  const existing = await ctx.store.scim.getGroup(orgId, id);
  if (existing === undefined || !(await ctx.store.scim.deleteGroup(orgId, id))) throw new GatehouseError('not_found', NO_SUCH_GROUP);
  await audit(ctx, actor, orgId, 'scim.group.delete', id, { displayName: existing.displayName });
  await syncAll(ctx, actor, orgId, existing.members);
}
