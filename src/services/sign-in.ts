import { GatehouseError } from '../errors.ts';
import { SYSTEM_CHAIN } from '../gateway/audit/audit-log.ts';
import { auditEvent, auditJson } from '../gateway/audit/event.ts';
import type { Sessions } from '../identity/browser-session.ts';
import { hashPassword, needsRehash, verifyPassword } from '../identity/password-hash.ts';
import { checkPassword, passwordProblemMessage } from '../identity/password-policy.ts';
import { effectiveSignInSettings } from '../identity/sign-in-defaults.ts';
import type { AuditDecision } from '../store/types.ts';
import { authorize, changeEvent, type Actor, type ServiceContext } from './context.ts';

/** Failures before an account is locked, and for how long. */
export const LOCKOUT = { failures: 5, minutes: 15 } as const;

export interface SignInEnv {
  readonly services: ServiceContext;
  readonly sessions: Sessions;
  readonly now: () => number;
  /** A hash of a random password: verified for unknown accounts, so they take as long to refuse as known ones. */
  readonly dummyHash: string;
}

/** Where a sign-in came from, for the audit record. */
export interface ClientInfo {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly correlationId: string;
}

/** One answer for every failed sign-in: whether the account exists, is locked or had a typo is for the audit log. */
export const SIGN_IN_FAILED = 'Sign-in failed: check the organisation, email and password';

export async function auditSignIn(
  env: Pick<SignInEnv, 'services'>,
  e: { orgId: string | null; userId: string | null; action: string; decision: AuditDecision; reason: string | null; target?: string | null; extra?: Record<string, unknown> },
  client: ClientInfo,
): Promise<void> {
  await env.services.audit.record(
    auditEvent({
      orgId: e.orgId ?? SYSTEM_CHAIN,
      actor: { keyId: null, user: e.userId },
      clientIp: client.ip,
      action: e.action,
      target: e.target ?? e.userId,
      decision: e.decision,
      reason: e.reason,
      correlationId: client.correlationId,
      args: auditJson({ userAgent: client.userAgent?.slice(0, 256) ?? null, ...e.extra }),
    }),
  );
}

export type LoginOutcome = { readonly token: string; readonly next: 'done' | 'totp' | 'enrol_totp' };

/**
 * Password sign-in to one organisation. Every refusal answers the same and costs about one Argon2id verification,
 * known account or not; a run of failures locks the account for a while (even the right password is refused then).
 * A person with TOTP, or in an organisation that requires MFA, gets a partial session that opens only /auth until a
 * second factor is shown (or, when required and not yet set up, enrolled).
 */
export async function passwordLogin(
  env: SignInEnv,
  input: { org: string; email: string; password: string },
  client: ClientInfo,
  previousToken: string | undefined,
): Promise<LoginOutcome> {
  const { store } = env.services;
  const email = input.email.trim().toLowerCase();
  const org = await store.getOrganisationBySlug(input.org);
  const orgId = org === undefined || org.deletedAt !== null ? null : org.id;
  const settings = orgId === null ? undefined : await effectiveSignInSettings(store, orgId);
  const user = orgId === null ? undefined : await store.getUserByEmail(email);
  const member = orgId === null || user === undefined ? undefined : await store.getMember(orgId, user.id);
  const credential = member === undefined ? undefined : await store.signIn.getPassword(member.userId);
  const refuse = async (reason: string, userId: string | null): Promise<never> => {
    await auditSignIn(env, { orgId, userId, action: 'auth.login', decision: 'deny', reason, target: userId ?? email.slice(0, 256) }, client);
    throw new GatehouseError('unauthenticated', SIGN_IN_FAILED);
  };

  if (settings === undefined || !settings.passwordLogin || user === undefined || credential === undefined) {
    await verifyPassword(input.password, env.dummyHash);
    return refuse(orgId === null ? 'unknown_org' : settings?.passwordLogin === false ? 'password_login_disabled' : 'unknown_account', member?.userId ?? null);
  }
  const now = env.now();
  const ok = await verifyPassword(input.password, credential.passwordHash);
  if (credential.lockedUntil !== null && Date.parse(credential.lockedUntil) > now) return refuse('locked', user.id);
  if (!ok) {
    const state = await store.signIn.recordPasswordFailure(user.id, LOCKOUT.failures, new Date(now + LOCKOUT.minutes * 60_000).toISOString());
    return refuse(state?.lockedUntil !== null && state?.lockedUntil !== undefined && Date.parse(state.lockedUntil) > now ? 'bad_password_locked' : 'bad_password', user.id);
  }
  await store.signIn.clearPasswordFailures(user.id);
  if (needsRehash(credential.passwordHash)) await store.signIn.setPassword(user.id, await hashPassword(input.password), new Date(now).toISOString());

  const totp = await store.signIn.getTotp(user.id);
  const hasTotp = totp?.confirmedAt !== null && totp !== undefined;
  const next = hasTotp ? 'totp' : settings.requireMfa ? 'enrol_totp' : 'done';
  const token = await env.sessions.start({ orgId: settings.orgId, userId: user.id, stage: next === 'done' ? 'full' : 'partial', mfa: false, method: 'password' }, previousToken);
  if (token === undefined) throw new GatehouseError('internal', 'The session could not be started');
  // A password alone where MFA is required is a refused login: the partial session can only enrol a factor.
  const decision = next === 'enrol_totp' ? 'deny' : 'allow';
  const reason = next === 'done' ? null : next === 'totp' ? 'second_factor_pending' : 'mfa_required';
  await auditSignIn(env, { orgId: settings.orgId, userId: user.id, action: 'auth.login', decision, reason, extra: { method: 'password' } }, client);
  return { token, next };
}

function assertAcceptable(password: string, email: string): void {
  const problem = checkPassword(password, email);
  if (problem !== undefined) throw new GatehouseError('bad_request', passwordProblemMessage(problem));
}

/** The operator sets a person's password (CLI). Their other sessions end: whoever had the old one is out. */
export async function setUserPassword(ctx: ServiceContext, actor: Actor, email: string, password: string): Promise<void> {
  authorize(actor, 'user.set_password');
  const user = await ctx.store.getUserByEmail(email.trim().toLowerCase());
  if (user === undefined) throw new GatehouseError('not_found', 'No such person: add them to an organisation first');
  assertAcceptable(password, user.email);
  const at = new Date().toISOString();
  await ctx.store.signIn.setPassword(user.id, await hashPassword(password), at);
  await ctx.store.signIn.endUserSessions(user.id, null, at);
  const memberships = (await ctx.store.listOrganisations()).filter((o) => o.deletedAt === null);
  for (const org of memberships) {
    if ((await ctx.store.getMember(org.id, user.id)) !== undefined) {
      await ctx.audit.record(changeEvent(org.id, actor, 'user.set_password', { name: user.id }, undefined));
    }
  }
}

/** A signed-in person changes their own password, proving the current one; their other sessions end. */
export async function changeOwnPassword(
  env: SignInEnv,
  who: { orgId: string; userId: string; mfa: boolean },
  input: { currentPassword: string; newPassword: string },
  client: ClientInfo,
): Promise<string> {
  const { store } = env.services;
  const user = await store.getUser(who.userId);
  const credential = await store.signIn.getPassword(who.userId);
  const ok = await verifyPassword(input.currentPassword, credential?.passwordHash ?? env.dummyHash);
  if (user === undefined || credential === undefined || !ok) {
    await auditSignIn(env, { orgId: who.orgId, userId: who.userId, action: 'auth.password.change', decision: 'deny', reason: 'bad_password' }, client);
    throw new GatehouseError('forbidden', 'The current password is not right');
  }
  assertAcceptable(input.newPassword, user.email);
  const at = new Date(env.now()).toISOString();
  await store.signIn.setPassword(who.userId, await hashPassword(input.newPassword), at);
  await store.signIn.endUserSessions(who.userId, null, at);
  const token = await env.sessions.start({ orgId: who.orgId, userId: who.userId, stage: 'full', mfa: who.mfa, method: 'password' }, undefined);
  if (token === undefined) throw new GatehouseError('internal', 'The session could not be started');
  await auditSignIn(env, { orgId: who.orgId, userId: who.userId, action: 'auth.password.change', decision: 'allow', reason: null }, client);
  return token;
}
