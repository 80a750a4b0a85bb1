import type { SQLInputValue } from 'node:sqlite';
import type { Row } from '../rows.ts';
import { SESSION_COLUMNS, sessionValues, SETTINGS_COLUMNS, settingsValues, toOidcFlow, toPassword, toSession, toSettings, toTotp } from '../sign-in-rows.ts';
import type { BrowserSessionRecord, OidcFlowRecord, OrgSignInSettings, PasswordCredential, SignInStore, TotpFactor } from '../sign-in-types.ts';
import type { SqliteRunner } from './sqlite-identity.ts';

const bit = (b: boolean) => (b ? 1 : 0);
const args = (values: unknown[]) => values as SQLInputValue[];

/** The SQLite half of the sign-in tables. node:sqlite is synchronous; each method answers a settled promise. */
export class SqliteSignIn implements SignInStore {
  readonly #db: SqliteRunner;
  readonly #run: <T>(fn: () => T) => Promise<T>;

  constructor(db: SqliteRunner, run: <T>(fn: () => T) => Promise<T>) {
    this.#db = db;
    this.#run = run;
  }

  #one(sql: string, ...values: SQLInputValue[]): Row | undefined {
    const row: Row | undefined = this.#db.stmt(sql).get(...values);
    return row;
  }

  #changes(sql: string, ...values: SQLInputValue[]): number {
    return Number(this.#db.stmt(sql).run(...values).changes);
  }

  getPassword(userId: string): Promise<PasswordCredential | undefined> {
    return this.#run(() => {
      const r = this.#one('SELECT * FROM password_credentials WHERE user_id = ?', userId);
      return r && toPassword(r);
    });
  }

  setPassword(userId: string, passwordHash: string, at: string): Promise<void> {
    return this.#run(() => {
      this.#changes(
        `INSERT INTO password_credentials (user_id, password_hash, failed_count, locked_until, updated_at) VALUES (?, ?, 0, NULL, ?)
         ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, failed_count = 0, locked_until = NULL, updated_at = excluded.updated_at`,
        userId, passwordHash, at,
      );
    });
  }

  recordPasswordFailure(userId: string, maxFailures: number, lockUntil: string): Promise<{ failedCount: number; lockedUntil: string | null } | undefined> {
    return this.#run(() => {
      const r = this.#one(
        `UPDATE password_credentials SET failed_count = failed_count + 1,
           locked_until = CASE WHEN failed_count + 1 >= ? THEN ? ELSE locked_until END
         WHERE user_id = ? RETURNING failed_count, locked_until`,
        maxFailures, lockUntil, userId,
      );
      return r && { failedCount: Number(r.failed_count), lockedUntil: typeof r.locked_until === 'string' ? r.locked_until : null };
    });
  }

  clearPasswordFailures(userId: string): Promise<void> {
    return this.#run(() => {
      this.#changes('UPDATE password_credentials SET failed_count = 0, locked_until = NULL WHERE user_id = ?', userId);
    });
  }

  getTotp(userId: string): Promise<TotpFactor | undefined> {
    return this.#run(() => {
      const r = this.#one('SELECT * FROM totp_factors WHERE user_id = ?', userId);
      return r && toTotp(r);
    });
  }

  putPendingTotp(userId: string, secretSealed: string, at: string): Promise<boolean> {
    return this.#run(
      () =>
        this.#changes(
          `INSERT INTO totp_factors (user_id, secret_sealed, confirmed_at, last_step, created_at) VALUES (?, ?, NULL, NULL, ?)
           ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at
           WHERE totp_factors.confirmed_at IS NULL`,
          userId, secretSealed, at,
        ) === 1,
    );
  }

  confirmTotp(userId: string, step: number, at: string): Promise<boolean> {
    return this.#run(
      () => this.#changes('UPDATE totp_factors SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND confirmed_at IS NULL', at, step, userId) === 1,
    );
  }

  useTotpStep(userId: string, step: number): Promise<boolean> {
    return this.#run(
      () =>
        this.#changes(
          'UPDATE totp_factors SET last_step = ? WHERE user_id = ? AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < ?)',
          step, userId, step,
        ) === 1,
    );
  }

  deleteTotp(userId: string): Promise<void> {
    return this.#run(() => {
      this.#db.transaction(() => {
        this.#changes('DELETE FROM totp_factors WHERE user_id = ?', userId);
        this.#changes('DELETE FROM recovery_codes WHERE user_id = ?', userId);
      });
    });
  }

  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], at: string): Promise<void> {
    return this.#run(() => {
      this.#db.transaction(() => {
        this.#changes('DELETE FROM recovery_codes WHERE user_id = ?', userId);
        for (const h of codeHashes) this.#changes('INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)', userId, h, at);
      });
    });
  }

  useRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean> {
    return this.#run(
      () => this.#changes('UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL', at, userId, codeHash) === 1,
    );
  }

  countRecoveryCodes(userId: string): Promise<number> {
    return this.#run(() => Number(this.#one('SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ? AND used_at IS NULL', userId)?.n ?? 0));
  }

  #insertSession(s: BrowserSessionRecord): void {
    this.#changes(`INSERT INTO browser_sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ...args(sessionValues(s, bit)));
  }

  insertSession(s: BrowserSessionRecord): Promise<void> {
    return this.#run(() => {
      this.#insertSession(s);
    });
  }

  getSession(idHash: string): Promise<BrowserSessionRecord | undefined> {
    return this.#run(() => {
      const r = this.#one('SELECT * FROM browser_sessions WHERE id_hash = ?', idHash);
      return r && toSession(r);
    });
  }

  touchSession(idHash: string, at: string): Promise<void> {
    return this.#run(() => {
      this.#changes('UPDATE browser_sessions SET last_seen_at = ? WHERE id_hash = ? AND ended_at IS NULL AND last_seen_at < ?', at, idHash, at);
    });
  }

  endSession(idHash: string, at: string): Promise<boolean> {
    return this.#run(() => this.#changes('UPDATE browser_sessions SET ended_at = ? WHERE id_hash = ? AND ended_at IS NULL', at, idHash) === 1);
  }

  rotateSession(oldIdHash: string, replacement: BrowserSessionRecord, at: string): Promise<boolean> {
    return this.#run(() =>
      this.#db.transaction(() => {
        if (this.#changes('UPDATE browser_sessions SET ended_at = ? WHERE id_hash = ? AND ended_at IS NULL', at, oldIdHash) !== 1) return false;
        this.#insertSession(replacement);
        return true;
      }),
    );
  }

  endUserSessions(userId: string, orgId: string | null, at: string): Promise<number> {
    return this.#run(() =>
      orgId === null
        ? this.#changes('UPDATE browser_sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL', at, userId)
        : this.#changes('UPDATE browser_sessions SET ended_at = ? WHERE user_id = ? AND org_id = ? AND ended_at IS NULL', at, userId, orgId),
    );
  }

  getSettings(orgId: string): Promise<OrgSignInSettings | undefined> {
    return this.#run(() => {
      const r = this.#one('SELECT * FROM org_sign_in WHERE org_id = ?', orgId);
      return r && toSettings(r);
    });
  }

  putSettings(s: OrgSignInSettings): Promise<void> {
    const updates = SETTINGS_COLUMNS.split(', ').slice(1).map((c) => `${c} = excluded.${c}`).join(', ');
    return this.#run(() => {
      this.#changes(
        `INSERT INTO org_sign_in (${SETTINGS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (org_id) DO UPDATE SET ${updates}`,
        ...args(settingsValues(s, bit)),
      );
    });
  }

  insertOidcFlow(f: OidcFlowRecord): Promise<void> {
    return this.#run(() => {
      this.#changes(
        'INSERT INTO oidc_flows (id_hash, org_id, state, nonce, code_verifier, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        f.idHash, f.orgId, f.state, f.nonce, f.codeVerifierSealed, f.createdAt, f.expiresAt,
      );
      // Abandoned sign-ins are swept as new ones start.
      this.#changes('DELETE FROM oidc_flows WHERE expires_at < ?', f.createdAt);
    });
  }

  takeOidcFlow(idHash: string): Promise<OidcFlowRecord | undefined> {
    return this.#run(() => {
      const r = this.#one('DELETE FROM oidc_flows WHERE id_hash = ? RETURNING *', idHash);
      return r && toOidcFlow(r);
    });
  }
}
