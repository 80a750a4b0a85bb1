import { GatehouseError } from '../errors.ts';
import { roleWithin } from '../gateway/access/permissions.ts';
import { newId } from '../ids.ts';
import { DuplicateError, type KeyRole, type MemberRecord, type UserRecord } from '../store/types.ts';
import { authorize, changeEvent, requireSameOrg, type Actor, type ServiceContext } from './context.ts';
import { endUpstreamTokens } from './upstream-oauth.ts';

/** A member as it may be shown. */
export interface MemberView {
  readonly userId: string;
  readonly email: string;
  readonly role: KeyRole;
  readonly createdAt: string;
  readonly updatedAt: string;
}

const NO_SUCH_MEMBER = 'No such member';
/** Deliberately loose: the identity provider or the person's inbox is the real check; this refuses obvious junk. */
export const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

function viewMember(m: MemberRecord): MemberView {
  return { userId: m.userId, email: m.email, role: m.role, createdAt: m.createdAt, updatedAt: m.updatedAt };
}

export async function listMembers(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string): Promise<MemberView[]> {
  authorize(actor, 'member.read');
  requireSameOrg(actor, orgId, NO_SUCH_MEMBER);
  return (await ctx.store.listMembers(orgId)).map(viewMember);
}

async function requireMember(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, userId: string): Promise<MemberRecord> {
  requireSameOrg(actor, orgId, NO_SUCH_MEMBER);
  const member = await ctx.store.getMember(orgId, userId);
  if (member === undefined) throw new GatehouseError('not_found', NO_SUCH_MEMBER);
  return member;
}

export async function getMember(ctx: Pick<ServiceContext, 'store'>, actor: Actor, orgId: string, userId: string): Promise<MemberView> {
  authorize(actor, 'member.read');
  return viewMember(await requireMember(ctx, actor, orgId, userId));
}

function assertRoleGrantable(actor: Actor, role: KeyRole): void {
  if (!roleWithin(role, actor.role)) throw new GatehouseError('forbidden', `You cannot give a role with more rights than yours (${role})`);
}

/** Adds a person, by email, to the organisation with a role no wider than the actor's. */
export async function addMember(ctx: ServiceContext, actor: Actor, orgId: string, input: { email: string; role: KeyRole }): Promise<MemberView> {
  authorize(actor, 'member.add');
  requireSameOrg(actor, orgId, NO_SUCH_MEMBER);
  const email = input.email.trim().toLowerCase();
  if (!EMAIL.test(email)) throw new GatehouseError('bad_request', 'Not an email address');
  assertRoleGrantable(actor, input.role);
  const user = await findOrCreateUser(ctx, email);
  const now = new Date().toISOString();
  try {
    await ctx.store.insertMembership({ orgId, userId: user.id, role: input.role, createdAt: now, updatedAt: now });
  } catch (err) {
    if (err instanceof DuplicateError) throw new GatehouseError('conflict', 'That person is already a member');
    throw err;
  }
  await ctx.audit.record(changeEvent(orgId, actor, 'member.add', { name: user.id }, { role: input.role }));
  return { userId: user.id, email, role: input.role, createdAt: now, updatedAt: now };
}

export async function findOrCreateUser(ctx: Pick<ServiceContext, 'store'>, email: string): Promise<UserRecord> {
  const existing = await ctx.store.getUserByEmail(email);
  if (existing !== undefined) return existing;
  const user: UserRecord = { id: newId('usr'), email, createdAt: new Date().toISOString() };
  try {
    await ctx.store.insertUser(user);
    return user;
  } catch (err) {
    // Another request created the same person a moment ago.
    const raced = err instanceof DuplicateError ? await ctx.store.getUserByEmail(email) : undefined;
    if (raced === undefined) throw err;
    return raced;
  }
}

export async function setMemberRole(ctx: ServiceContext, actor: Actor, orgId: string, userId: string, role: KeyRole): Promise<MemberView> {
  authorize(actor, 'member.update');
  const member = await requireMember(ctx, actor, orgId, userId);
  if (!roleWithin(member.role, actor.role)) throw new GatehouseError('forbidden', 'You cannot change a member with more rights than yours');
  assertRoleGrantable(actor, role);
  const at = new Date().toISOString();
  if (!(await ctx.store.setMemberRole(orgId, userId, role, at))) throw new GatehouseError('not_found', NO_SUCH_MEMBER);
  await ctx.audit.record(changeEvent(orgId, actor, 'member.update', { name: userId }, { from: member.role, role }));
  return viewMember({ ...member, role, updatedAt: at });
}

/** Removes a member and, in the same transaction, revokes their keys in this organisation. */
export async function removeMember(ctx: ServiceContext, actor: Actor, orgId: string, userId: string): Promise<void> {
  authorize(actor, 'member.remove');
  const member = await requireMember(ctx, actor, orgId, userId);
  if (!roleWithin(member.role, actor.role)) throw new GatehouseError('forbidden', 'You cannot remove a member with more rights than yours');
  if (!(await ctx.store.deleteMembership(orgId, userId, new Date().toISOString()))) throw new GatehouseError('not_found', NO_SUCH_MEMBER);
  await ctx.audit.record(changeEvent(orgId, actor, 'member.remove', { name: userId }, undefined));
  // Their own accounts at upstreams (OAuth per user) go with them: revoked where the server allows, and deleted.
  await endUpstreamTokens(ctx, actor, orgId, userId, 'member.remove');
}

/** The CLI names people by email. */
export async function memberIdByEmail(ctx: Pick<ServiceContext, 'store'>, orgId: string, email: string): Promise<string> {
  const user = await ctx.store.getUserByEmail(email.trim().toLowerCase());
  const member = user === undefined ? undefined : await ctx.store.getMember(orgId, user.id);
  if (member === undefined) throw new GatehouseError('not_found', `No member '${email}'`);
  return member.userId;
}
