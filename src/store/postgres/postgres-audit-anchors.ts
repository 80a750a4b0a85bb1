import { toAuditCheckpoint, toAuditSigningKey } from '../rows.ts';
import type { AuditAnchorStore, AuditCheckpoint, AuditHead, AuditSigningKeyRecord } from '../types.ts';
import type { PgQuery } from './access-rules.ts';

/** audit_checkpoints and audit_signing_keys on PostgreSQL (the application role may insert and read, nothing more). */
export class PostgresAuditAnchors implements AuditAnchorStore {
  readonly #query: PgQuery;

  constructor(query: PgQuery) {
    this.#query = query;
  }

  async insertCheckpoint(cp: AuditCheckpoint): Promise<void> {
    await this.#query(
      'INSERT INTO audit_checkpoints (org_id, seq, hash, ts, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING',
      [cp.orgId, cp.seq, cp.hash, cp.ts, cp.keyId, cp.signature],
    );
  }

  async listCheckpoints(orgId: string, afterSeq = 0): Promise<AuditCheckpoint[]> {
    const { rows } = await this.#query('SELECT * FROM audit_checkpoints WHERE org_id = $1 AND seq > $2 ORDER BY seq', [orgId, afterSeq]);
    return rows.map(toAuditCheckpoint);
  }

  async head(orgId: string): Promise<AuditHead | undefined> {
    const { rows } = await this.#query('SELECT seq, hash FROM audit_events WHERE org_id = $1 ORDER BY seq DESC LIMIT 1', [orgId]);
    const row = rows[0];
    return row && { seq: Number(row.seq), hash: String(row.hash) };
  }

  async currentSigningKey(): Promise<AuditSigningKeyRecord | undefined> {
    const { rows } = await this.#query('SELECT * FROM audit_signing_keys ORDER BY created_at DESC, id DESC LIMIT 1');
    return rows[0] && toAuditSigningKey(rows[0]);
  }

  async listSigningKeys(): Promise<AuditSigningKeyRecord[]> {
    const { rows } = await this.#query('SELECT * FROM audit_signing_keys ORDER BY created_at, id');
    return rows.map(toAuditSigningKey);
  }

  async insertSigningKey(key: AuditSigningKeyRecord): Promise<void> {
    await this.#query('INSERT INTO audit_signing_keys (id, public_key, sealed_private_key, created_at) VALUES ($1, $2, $3, $4)', [
      key.id, key.publicKey, key.sealedPrivateKey, key.createdAt,
    ]);
  }
}
