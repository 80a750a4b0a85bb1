import type { BrowserSessionRecord, SessionStage, SignInMethod } from '../store/sign-in-types.ts';
import type { KeyRole, Store } from '../store/types.ts';
import { hashSessionToken, newSessionToken } from './session-cookie.ts';
import { effectiveSignInSettings } from './sign-in-defaults.ts';

/** A person signed in through a browser, in one organisation. The role is the membership's, read on every request. */
export interface SessionPrincipal {
  readonly token: string;
  readonly idHash: string;
  readonly orgId: string;
  readonly userId: string;
  readonly role: KeyRole;
  readonly stage: SessionStage;
  readonly mfa: boolean;
  readonly method: SignInMethod;
  readonly createdAt: string;
  readonly expiresAt: string;
  /** When the session ends unless used before. */
  readonly idleExpiresAt: string;
}

export type SessionFailure = 'missing' | 'unknown' | 'ended' | 'expired' | 'idle' | 'not_a_member' | 'mfa_required';

export type SessionResult =
  | { readonly ok: true; readonly principal: SessionPrincipal }
  | { readonly ok: false; readonly reason: SessionFailure; readonly orgId?: string; readonly userId?: string };

export interface SessionDeps {
  readonly store: Pick<Store, 'signIn' | 'getMember' | 'getOrganisation'>;
  /** The clock, injectable so tests can pass an idle timeout without waiting for it. */
  readonly now: () => number;
}

/** Writes of last-seen are spaced out: the idle timeout is in minutes, a write per request would buy nothing. */
const TOUCH_EVERY_MS = 15_000;

export interface NewSession {
  readonly orgId: string;
  readonly userId: string;
  readonly stage: SessionStage;
  readonly mfa: boolean;
  readonly method: SignInMethod;
}

/**
 * Browser sessions: create (always with a fresh id, ending whatever session the browser held, so a planted or stolen
 * pre-login id is worthless after sign-in), authenticate, step up (a fresh id again) and end.
 */
export function createSessions(deps: SessionDeps) {
  const iso = (ms: number) => new Date(ms).toISOString();

  async function start(s: NewSession, previousToken: string | undefined, keepExpiry?: string): Promise<string | undefined> {
    const now = deps.now();
    const settings = await effectiveSignInSettings(deps.store, s.orgId);
    const token = newSessionToken();
    const maxEnd = now + settings.sessionMaxHours * 3_600_000;
    const record: BrowserSessionRecord = {
      idHash: hashSessionToken(token),
      ...s,
      createdAt: iso(now),
      lastSeenAt: iso(now),
      expiresAt: keepExpiry === undefined ? iso(maxEnd) : iso(Math.min(maxEnd, Date.parse(keepExpiry))),
      endedAt: null,
    };
    const rotated = previousToken !== undefined && (await deps.store.signIn.rotateSession(hashSessionToken(previousToken), record, iso(now)));
    // A step-up must replace the session it raises: if that one ended meanwhile (logout, a race), nothing is raised.
    if (!rotated && keepExpiry !== undefined) return undefined;
    if (!rotated) await deps.store.signIn.insertSession(record);
    return token;
  }

  async function authenticate(token: string | undefined, options: { allowPartial?: boolean } = {}): Promise<SessionResult> {
    if (token === undefined) return { ok: false, reason: 'missing' };
    const idHash = hashSessionToken(token);
    const s = await deps.store.signIn.getSession(idHash);
    if (s === undefined) return { ok: false, reason: 'unknown' };
    const who = { orgId: s.orgId, userId: s.userId };
    if (s.endedAt !== null) return { ok: false, reason: 'ended', ...who };
    const now = deps.now();
    const settings = await effectiveSignInSettings(deps.store, s.orgId);
    const idleEnd = Date.parse(s.lastSeenAt) + settings.sessionIdleMinutes * 60_000;
    if (now >= Date.parse(s.expiresAt) || now >= idleEnd) {
      await deps.store.signIn.endSession(idHash, iso(now));
      return { ok: false, reason: now >= Date.parse(s.expiresAt) ? 'expired' : 'idle', ...who };
    }
    const org = await deps.store.getOrganisation(s.orgId);
    const member = org === undefined || org.deletedAt !== null ? undefined : await deps.store.getMember(s.orgId, s.userId);
    if (member === undefined) return { ok: false, reason: 'not_a_member', ...who };
    // An organisation that starts requiring MFA ends the standing of sessions that never showed a second factor.
    if (s.stage === 'partial' ? options.allowPartial !== true : settings.requireMfa && !s.mfa) return { ok: false, reason: 'mfa_required', ...who };
    if (now - Date.parse(s.lastSeenAt) >= TOUCH_EVERY_MS) await deps.store.signIn.touchSession(idHash, iso(now));
    return {
      ok: true,
      principal: {
        token, idHash, orgId: s.orgId, userId: s.userId, role: member.role, stage: s.stage, mfa: s.mfa, method: s.method,
        createdAt: s.createdAt, expiresAt: s.expiresAt, idleExpiresAt: iso(Math.max(now, Date.parse(s.lastSeenAt)) + settings.sessionIdleMinutes * 60_000),
      },
    };
  }

  /** After a second factor: a fresh id, full standing, and no later end than the session it replaces. */
  function stepUp(p: SessionPrincipal): Promise<string | undefined> {
    return start({ orgId: p.orgId, userId: p.userId, stage: 'full', mfa: true, method: p.method }, p.token, p.expiresAt);
  }

  async function end(token: string): Promise<boolean> {
    return deps.store.signIn.endSession(hashSessionToken(token), iso(deps.now()));
  }

  return { start, authenticate, stepUp, end };
}

export type Sessions = ReturnType<typeof createSessions>;
