import { createHmac, randomBytes } from 'node:crypto';
import { GatehouseError } from '../errors.ts';
import type { SessionPrincipal } from '../identity/browser-session.ts';
import { base32Encode, newTotpSecret, otpauthUri, verifyTotp } from '../identity/totp.ts';
import { auditSignIn, LOCKOUT, type ClientInfo, type SignInEnv } from './sign-in.ts';

export const RECOVERY_CODE_COUNT = 10;

/** Where a TOTP seed is sealed: bound to its person, so a ciphertext moved to another row does not open. */
export function totpBinding(userId: string): string {
  return `user:${userId}/totp`;
}

/**
 * Recovery codes have 50 random bits: too few to store under a plain hash, so they are kept as an HMAC under the
 * server's pepper, and a stolen table cannot be searched.
 */
function hashRecoveryCode(env: Pick<SignInEnv, 'services'>, code: string): string {
  return createHmac('sha256', env.services.pepper).update(`recovery/v1:${code.replace(/[\s-]/g, '').toUpperCase()}`).digest('hex');
}

function newRecoveryCode(): string {
  const raw = base32Encode(randomBytes(7)).slice(0, 10);
  return `${raw.slice(0, 5)}-${raw.slice(5)}`;
}

/** Starts (or restarts) TOTP enrolment: a new seed, sealed in the vault, shown this once to be scanned. */
export async function enrolTotp(env: SignInEnv, p: SessionPrincipal, client: ClientInfo): Promise<{ secret: string; otpauthUri: string }> {
  const { store, box } = env.services;
  const user = await store.getUser(p.userId);
  const org = await store.getOrganisation(p.orgId);
  if (user === undefined || org === undefined) throw new GatehouseError('unauthenticated', 'Sign in again');
  const secret = newTotpSecret();
  const stored = await store.signIn.putPendingTotp(p.userId, box.seal(secret, totpBinding(p.userId)), new Date(env.now()).toISOString());
  if (!stored) {
    // Replacing a confirmed factor would let a stolen password take the account: that is an operator's act.
    await auditSignIn(env, { orgId: p.orgId, userId: p.userId, action: 'auth.totp.enrol', decision: 'deny', reason: 'already_enrolled' }, client);
    throw new GatehouseError('conflict', 'A second factor is already set up');
  }
  await auditSignIn(env, { orgId: p.orgId, userId: p.userId, action: 'auth.totp.enrol', decision: 'allow', reason: null }, client);
  return { secret, otpauthUri: otpauthUri(secret, `Gatehouse (${org.slug})`, user.email) };
}

async function countFailure(env: SignInEnv, p: SessionPrincipal, action: string, reason: string, client: ClientInfo): Promise<never> {
  const now = env.now();
  // Wrong codes count towards the same lockout as wrong passwords: six digits are not to be guessed at leisure.
  await env.services.store.signIn.recordPasswordFailure(p.userId, LOCKOUT.failures, new Date(now + LOCKOUT.minutes * 60_000).toISOString());
  await auditSignIn(env, { orgId: p.orgId, userId: p.userId, action, decision: 'deny', reason }, client);
  throw new GatehouseError('unauthenticated', 'That code is not valid');
}

async function assertNotLocked(env: SignInEnv, p: SessionPrincipal, action: string, client: ClientInfo): Promise<void> {
  const credential = await env.services.store.signIn.getPassword(p.userId);
  if (credential?.lockedUntil != null && Date.parse(credential.lockedUntil) > env.now()) {
    await auditSignIn(env, { orgId: p.orgId, userId: p.userId, action, decision: 'deny', reason: 'locked' }, client);
    throw new GatehouseError('unauthenticated', 'That code is not valid');
  }
}

function openSecret(env: SignInEnv, userId: string, sealed: string): string {
  return env.services.box.open(sealed, totpBinding(userId));
}

/**
 * Confirms enrolment with a first code from the app, which proves the seed was stored. Returns recovery codes, shown
 * this once (only their keyed hashes are kept), and a stepped-up session.
 */
export async function confirmTotp(env: SignInEnv, p: SessionPrincipal, code: string, client: ClientInfo): Promise<{ token: string; recoveryCodes: string[] }> {
  const { store } = env.services;
  await assertNotLocked(env, p, 'auth.totp.confirm', client);
  const factor = await store.signIn.getTotp(p.userId);
  if (factor === undefined || factor.confirmedAt !== null) throw new GatehouseError('conflict', 'There is no second factor waiting to be confirmed');
  const step = verifyTotp(openSecret(env, p.userId, factor.secretSealed), code.trim(), env.now());
  if (step === undefined) return countFailure(env, p, 'auth.totp.confirm', 'bad_code', client);
  const at = new Date(env.now()).toISOString();
  if (!(await store.signIn.confirmTotp(p.userId, step, at))) throw new GatehouseError('conflict', 'There is no second factor waiting to be confirmed');
  const recoveryCodes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await store.signIn.replaceRecoveryCodes(p.userId, recoveryCodes.map((c) => hashRecoveryCode(env, c)), at);
  await store.signIn.clearPasswordFailures(p.userId);
  const token = await env.sessions.stepUp(p);
  if (token === undefined) throw new GatehouseError('unauthenticated', 'Sign in again');
  await auditSignIn(env, { orgId: p.orgId, userId: p.userId, action: 'auth.totp.confirm', decision: 'allow', reason: null }, client);
  return { token, recoveryCodes };
}

/** The second step of a sign-in: a TOTP code (each time step usable once) or an unused recovery code. */
export async function verifySecondFactor(env: SignInEnv, p: SessionPrincipal, input: { code?: string | undefined; recoveryCode?: string | undefined }, client: ClientInfo): Promise<string> {
  const { store } = env.services;
  const action = 'auth.totp.verify';
  await assertNotLocked(env, p, action, client);
  const factor = await store.signIn.getTotp(p.userId);
  if (factor === undefined || factor.confirmedAt === null) throw new GatehouseError('conflict', 'No second factor is set up: enrol one');
  if (input.recoveryCode !== undefined) {
    const used = await store.signIn.useRecoveryCode(p.userId, hashRecoveryCode(env, input.recoveryCode), new Date(env.now()).toISOString());
    if (!used) return countFailure(env, p, action, 'bad_recovery_code', client);
  } else {
    const step = verifyTotp(openSecret(env, p.userId, factor.secretSealed), (input.code ?? '').trim(), env.now());
    if (step === undefined) return countFailure(env, p, action, 'bad_code', client);
    if (!(await store.signIn.useTotpStep(p.userId, step))) return countFailure(env, p, action, 'replayed_code', client);
  }
  await store.signIn.clearPasswordFailures(p.userId);
  const token = await env.sessions.stepUp(p);
  if (token === undefined) throw new GatehouseError('unauthenticated', 'Sign in again');
  const reason = input.recoveryCode !== undefined ? 'recovery_code' : null;
  await auditSignIn(env, { orgId: p.orgId, userId: p.userId, action, decision: 'allow', reason }, client);
  return token;
}
