import type { Row } from './rows.ts';
import type { BrowserSessionRecord, OidcFlowRecord, OrgSignInSettings, PasswordCredential, SessionStage, SignInMethod, TotpFactor } from './sign-in-types.ts';

/** Row <-> record mapping of the sign-in tables, shared by both dialects (booleans are 0/1 in SQLite). */
const str = (v: unknown): string => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : JSON.stringify(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));
const bool = (v: unknown): boolean => v === true || v === 1 || v === 1n;

export function toPassword(r: Row): PasswordCredential {
  return {
    userId: str(r.user_id),
    passwordHash: str(r.password_hash),
    failedCount: Number(r.failed_count),
    lockedUntil: strOrNull(r.locked_until),
    updatedAt: str(r.updated_at),
  };
}

export function toTotp(r: Row): TotpFactor {
  return {
    userId: str(r.user_id),
    secretSealed: str(r.secret_sealed),
    confirmedAt: strOrNull(r.confirmed_at),
    lastStep: r.last_step === null || r.last_step === undefined ? null : Number(r.last_step),
    createdAt: str(r.created_at),
  };
}

export function toSession(r: Row): BrowserSessionRecord {
  return {
    idHash: str(r.id_hash),
    orgId: str(r.org_id),
    userId: str(r.user_id),
    stage: str(r.stage) as SessionStage,
    mfa: bool(r.mfa),
    method: str(r.method) as SignInMethod,
    createdAt: str(r.created_at),
    lastSeenAt: str(r.last_seen_at),
    expiresAt: str(r.expires_at),
    endedAt: strOrNull(r.ended_at),
  };
}

export function toSettings(r: Row): OrgSignInSettings {
  const issuer = strOrNull(r.oidc_issuer);
  return {
    orgId: str(r.org_id),
    sessionIdleMinutes: Number(r.session_idle_minutes),
    sessionMaxHours: Number(r.session_max_hours),
    requireMfa: bool(r.require_mfa),
    passwordLogin: bool(r.password_login),
    oidc:
      issuer === null
        ? null
        : { issuer, clientId: str(r.oidc_client_id), clientSecretSealed: str(r.oidc_client_secret), allowJit: bool(r.oidc_jit) },
    updatedAt: str(r.updated_at),
  };
}

export function toOidcFlow(r: Row): OidcFlowRecord {
  return {
    idHash: str(r.id_hash),
    orgId: str(r.org_id),
    state: str(r.state),
    nonce: str(r.nonce),
    codeVerifierSealed: str(r.code_verifier),
    createdAt: str(r.created_at),
    expiresAt: str(r.expires_at),
  };
}

export const SESSION_COLUMNS = 'id_hash, org_id, user_id, stage, mfa, method, created_at, last_seen_at, expires_at, ended_at';
export const SETTINGS_COLUMNS =
  'org_id, session_idle_minutes, session_max_hours, require_mfa, password_login, oidc_issuer, oidc_client_id, oidc_client_secret, oidc_jit, updated_at';

export function settingsValues(s: OrgSignInSettings, boolean: (b: boolean) => unknown): unknown[] {
  return [
    s.orgId, s.sessionIdleMinutes, s.sessionMaxHours, boolean(s.requireMfa), boolean(s.passwordLogin),
    s.oidc?.issuer ?? null, s.oidc?.clientId ?? null, s.oidc?.clientSecretSealed ?? null, boolean(s.oidc?.allowJit ?? false), s.updatedAt,
  ];
}

export function sessionValues(s: BrowserSessionRecord, boolean: (b: boolean) => unknown): unknown[] {
  return [s.idHash, s.orgId, s.userId, s.stage, boolean(s.mfa), s.method, s.createdAt, s.lastSeenAt, s.expiresAt, s.endedAt];
}
