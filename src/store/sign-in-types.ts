/**
 * The storage contract for people signing in: passwords, second factors, browser sessions, the organisation's
 * sign-in settings and OIDC sign-ins in progress. Secrets arrive here already hashed or sealed; the store never sees
 * a password, a TOTP seed, a session id or a client secret in the clear.
 */

/** A local password: an Argon2id PHC string, and the failures counted towards a lockout. */
export interface PasswordCredential {
  readonly userId: string;
  readonly passwordHash: string;
  readonly failedCount: number;
  readonly lockedUntil: string | null;
  readonly updatedAt: string;
}

/** A TOTP factor. The seed is sealed by the vault; `lastStep` is the newest time step used, to refuse replays. */
export interface TotpFactor {
  readonly userId: string;
  readonly secretSealed: string;
  readonly confirmedAt: string | null;
  readonly lastStep: number | null;
  readonly createdAt: string;
}

/** `partial`: the password (or IdP) was right but a second factor is still owed; it opens nothing but /auth. */
export type SessionStage = 'partial' | 'full';
export type SignInMethod = 'password' | 'oidc';

export interface BrowserSessionRecord {
  /** SHA-256 of the session id the browser holds. */
  readonly idHash: string;
  readonly orgId: string;
  readonly userId: string;
  readonly stage: SessionStage;
  /** Whether a second factor was shown (local TOTP, or the IdP's amr). */
  readonly mfa: boolean;
  readonly method: SignInMethod;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  /** The absolute end, whatever the activity. */
  readonly expiresAt: string;
  readonly endedAt: string | null;
}

export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecretSealed: string;
  /** Create a `member` for a verified email the organisation does not know yet. Off unless turned on. */
  readonly allowJit: boolean;
}

export interface OrgSignInSettings {
  readonly orgId: string;
  readonly sessionIdleMinutes: number;
  readonly sessionMaxHours: number;
  readonly requireMfa: boolean;
  readonly passwordLogin: boolean;
  readonly oidc: OidcSettings | null;
  readonly updatedAt: string;
}

/** An OIDC sign-in between its start and its callback, keyed by the hash of the id in the browser's flow cookie. */
export interface OidcFlowRecord {
  readonly idHash: string;
  readonly orgId: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifierSealed: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

export interface SignInStore {
  getPassword(userId: string): Promise<PasswordCredential | undefined>;
  /** Sets (or replaces) a password and clears failures and any lockout. */
  setPassword(userId: string, passwordHash: string, at: string): Promise<void>;
  /**
   * Counts one failure atomically; when the count reaches `maxFailures` the account is locked until `lockUntil`.
   * Returns the new state; undefined when the user has no password.
   */
  recordPasswordFailure(userId: string, maxFailures: number, lockUntil: string): Promise<{ failedCount: number; lockedUntil: string | null } | undefined>;
  clearPasswordFailures(userId: string): Promise<void>;

  getTotp(userId: string): Promise<TotpFactor | undefined>;
  /** Stores a new, unconfirmed factor, replacing an unconfirmed one; false when a confirmed factor exists. */
  putPendingTotp(userId: string, secretSealed: string, at: string): Promise<boolean>;
  /** Confirms the pending factor with the step of its first code; false when there is none pending. */
  confirmTotp(userId: string, step: number, at: string): Promise<boolean>;
  /** Records a used step if it is newer than every step used before; false for a replay (or no confirmed factor). */
  useTotpStep(userId: string, step: number): Promise<boolean>;
  deleteTotp(userId: string): Promise<void>;

  /** Replaces the user's recovery codes (hashes) with a new set. */
  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], at: string): Promise<void>;
  /** Spends one unused code; false when it is unknown or spent. */
  useRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean>;
  countRecoveryCodes(userId: string): Promise<number>;

  insertSession(s: BrowserSessionRecord): Promise<void>;
  getSession(idHash: string): Promise<BrowserSessionRecord | undefined>;
  touchSession(idHash: string, at: string): Promise<void>;
  /** Ends a live session; false when it was not live. */
  endSession(idHash: string, at: string): Promise<boolean>;
  /** Ends `oldIdHash` and inserts `replacement` in one transaction; false (nothing written) when the old one is not live. */
  rotateSession(oldIdHash: string, replacement: BrowserSessionRecord, at: string): Promise<boolean>;
  /** Ends every live session of a user (in one organisation, or everywhere); returns how many. */
  endUserSessions(userId: string, orgId: string | null, at: string): Promise<number>;

  getSettings(orgId: string): Promise<OrgSignInSettings | undefined>;
  putSettings(s: OrgSignInSettings): Promise<void>;

  insertOidcFlow(f: OidcFlowRecord): Promise<void>;
  /** Removes and returns a flow: each is used at most once. */
  takeOidcFlow(idHash: string): Promise<OidcFlowRecord | undefined>;
}
