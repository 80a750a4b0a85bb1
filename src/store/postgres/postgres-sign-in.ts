import type { PoolClient } from 'pg';
import { SESSION_COLUMNS, sessionValues, SETTINGS_COLUMNS, settingsValues, toOidcFlow, toPassword, toSession, toSettings, toTotp } from '../sign-in-rows.ts';
import type { BrowserSessionRecord, OidcFlowRecord, OrgSignInSettings, PasswordCredential, SignInStore, TotpFactor } from '../sign-in-types.ts';
import { query, type Queryable } from './query.ts';

type Transaction = <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>;
const same = (b: boolean) => b;
const placeholders = (n: number) => Array.from({ length: n }, (_, i) => `$${String(i + 1)}`).join(', ');

/** The PostgreSQL half of the sign-in tables. */
export class PostgresSignIn implements SignInStore {
  readonly #pool: Queryable;
  readonly #transaction: Transaction;

  constructor(pool: Queryable, transaction: Transaction) {
    this.#pool = pool;
    this.#transaction = transaction;
  }

  async #count(sql: string, values: unknown[], on: Queryable = this.#pool): Promise<number> {
    return (await query(on, sql, values)).rowCount ?? 0;
  }

  async getPassword(userId: string): Promise<PasswordCredential | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM password_credentials WHERE user_id = $1', [userId]);
    return rows[0] && toPassword(rows[0]);
  }

  async setPassword(userId: string, passwordHash: string, at: string): Promise<void> {
    await query(
      this.#pool,
      `INSERT INTO password_credentials (user_id, password_hash, failed_count, locked_until, updated_at) VALUES ($1, $2, 0, NULL, $3)
       ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, failed_count = 0, locked_until = NULL, updated_at = excluded.updated_at`,
      [userId, passwordHash, at],
    );
  }

  async recordPasswordFailure(userId: string, maxFailures: number, lockUntil: string): Promise<{ failedCount: number; lockedUntil: string | null } | undefined> {
    const { rows } = await query(
      this.#pool,
      `UPDATE password_credentials SET failed_count = failed_count + 1,
         locked_until = CASE WHEN failed_count + 1 >= $1 THEN $2::timestamptz ELSE locked_until END
       WHERE user_id = $3 RETURNING failed_count, locked_until`,
      [maxFailures, lockUntil, userId],
    );
    const r = rows[0];
    return r && { failedCount: Number(r.failed_count), lockedUntil: r.locked_until instanceof Date ? r.locked_until.toISOString() : null };
  }

  async clearPasswordFailures(userId: string): Promise<void> {
    await query(this.#pool, 'UPDATE password_credentials SET failed_count = 0, locked_until = NULL WHERE user_id = $1', [userId]);
  }

  async getTotp(userId: string): Promise<TotpFactor | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM totp_factors WHERE user_id = $1', [userId]);
    return rows[0] && toTotp(rows[0]);
  }

  async putPendingTotp(userId: string, secretSealed: string, at: string): Promise<boolean> {
    const n = await this.#count(
      `INSERT INTO totp_factors (user_id, secret_sealed, confirmed_at, last_step, created_at) VALUES ($1, $2, NULL, NULL, $3)
       ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at = excluded.created_at
       WHERE totp_factors.confirmed_at IS NULL`,
      [userId, secretSealed, at],
    );
    return n === 1;
  }

  async confirmTotp(userId: string, step: number, at: string): Promise<boolean> {
    return (await this.#count('UPDATE totp_factors SET confirmed_at = $1, last_step = $2 WHERE user_id = $3 AND confirmed_at IS NULL', [at, step, userId])) === 1;
  }

  async useTotpStep(userId: string, step: number): Promise<boolean> {
    const n = await this.#count(
      'UPDATE totp_factors SET last_step = $1 WHERE user_id = $2 AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)',
      [step, userId],
    );
    return n === 1;
  }

  deleteTotp(userId: string): Promise<void> {
    return this.#transaction(async (c) => {
      await query(c, 'DELETE FROM totp_factors WHERE user_id = $1', [userId]);
      await query(c, 'DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
    });
  }

  replaceRecoveryCodes(userId: string, codeHashes: readonly string[], at: string): Promise<void> {
    return this.#transaction(async (c) => {
      await query(c, 'DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
      for (const h of codeHashes) await query(c, 'INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)', [userId, h, at]);
    });
  }

  async useRecoveryCode(userId: string, codeHash: string, at: string): Promise<boolean> {
    return (await this.#count('UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL', [at, userId, codeHash])) === 1;
  }

  async countRecoveryCodes(userId: string): Promise<number> {
    const { rows } = await query(this.#pool, 'SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
    return Number(rows[0]?.n ?? 0);
  }

  async insertSession(s: BrowserSessionRecord, on: Queryable = this.#pool): Promise<void> {
    await query(on, `INSERT INTO browser_sessions (${SESSION_COLUMNS}) VALUES (${placeholders(10)})`, sessionValues(s, same));
  }

  async getSession(idHash: string): Promise<BrowserSessionRecord | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM browser_sessions WHERE id_hash = $1', [idHash]);
    return rows[0] && toSession(rows[0]);
  }

  async touchSession(idHash: string, at: string): Promise<void> {
    await query(this.#pool, 'UPDATE browser_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND ended_at IS NULL AND last_seen_at < $1', [at, idHash]);
  }

  async endSession(idHash: string, at: string): Promise<boolean> {
    return (await this.#count('UPDATE browser_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL', [at, idHash])) === 1;
  }

  rotateSession(oldIdHash: string, replacement: BrowserSessionRecord, at: string): Promise<boolean> {
    return this.#transaction(async (c) => {
      if ((await this.#count('UPDATE browser_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL', [at, oldIdHash], c)) !== 1) return false;
      await this.insertSession(replacement, c);
      return true;
    });
  }

  endUserSessions(userId: string, orgId: string | null, at: string): Promise<number> {
    return orgId === null
      ? this.#count('UPDATE browser_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL', [at, userId])
      : this.#count('UPDATE browser_sessions SET ended_at = $1 WHERE user_id = $2 AND org_id = $3 AND ended_at IS NULL', [at, userId, orgId]);
  }

  async getSettings(orgId: string): Promise<OrgSignInSettings | undefined> {
    const { rows } = await query(this.#pool, 'SELECT * FROM org_sign_in WHERE org_id = $1', [orgId]);
    return rows[0] && toSettings(rows[0]);
  }

  async putSettings(s: OrgSignInSettings): Promise<void> {
    const updates = SETTINGS_COLUMNS.split(', ').slice(1).map((c) => `${c} = excluded.${c}`).join(', ');
    await query(
      this.#pool,
      `INSERT INTO org_sign_in (${SETTINGS_COLUMNS}) VALUES (${placeholders(10)}) ON CONFLICT (org_id) DO UPDATE SET ${updates}`,
      settingsValues(s, same),
    );
  }

  async insertOidcFlow(f: OidcFlowRecord): Promise<void> {
    await query(
      this.#pool,
      'INSERT INTO oidc_flows (id_hash, org_id, state, nonce, code_verifier, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [f.idHash, f.orgId, f.state, f.nonce, f.codeVerifierSealed, f.createdAt, f.expiresAt],
    );
    // Abandoned sign-ins are swept as new ones start.
    await query(this.#pool, 'DELETE FROM oidc_flows WHERE expires_at < $1', [f.createdAt]);
  }

  async takeOidcFlow(idHash: string): Promise<OidcFlowRecord | undefined> {
    const { rows } = await query(this.#pool, 'DELETE FROM oidc_flows WHERE id_hash = $1 RETURNING *', [idHash]);
    return rows[0] && toOidcFlow(rows[0]);
  }
}
