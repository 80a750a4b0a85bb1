import { toAuditCheckpoint, toAuditSigningKey, type Row } from '../rows.ts';
import type { AuditAnchorStore, AuditCheckpoint, AuditHead, AuditSigningKeyRecord } from '../types.ts';
import type { SqliteAccess } from './access-rules.ts';

/** audit_checkpoints and audit_signing_keys on SQLite. */
export class SqliteAuditAnchors implements AuditAnchorStore {
  readonly #db: SqliteAccess;

  constructor(db: SqliteAccess) {
    this.#db = db;
  }

  insertCheckpoint(cp: AuditCheckpoint): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt('INSERT INTO audit_checkpoints (org_id, seq, hash, ts, key_id, signature) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING')
        .run(cp.orgId, cp.seq, cp.hash, cp.ts, cp.keyId, cp.signature),
    );
  }

  listCheckpoints(orgId: string, afterSeq = 0): Promise<AuditCheckpoint[]> {
    const rows = this.#db.stmt('SELECT * FROM audit_checkpoints WHERE org_id = ? AND seq > ? ORDER BY seq').all(orgId, afterSeq) as Row[];
    return Promise.resolve(rows.map(toAuditCheckpoint));
  }

  head(orgId: string): Promise<AuditHead | undefined> {
    const row = this.#db.stmt('SELECT seq, hash FROM audit_events WHERE org_id = ? ORDER BY seq DESC LIMIT 1').get(orgId) as Row | undefined;
    return Promise.resolve(row && { seq: Number(row.seq), hash: String(row.hash) });
  }

  currentSigningKey(): Promise<AuditSigningKeyRecord | undefined> {
    const row = this.#db.stmt('SELECT * FROM audit_signing_keys ORDER BY created_at DESC, id DESC LIMIT 1').get() as Row | undefined;
    return Promise.resolve(row && toAuditSigningKey(row));
  }

  listSigningKeys(): Promise<AuditSigningKeyRecord[]> {
    return Promise.resolve((this.#db.stmt('SELECT * FROM audit_signing_keys ORDER BY created_at, id').all() as Row[]).map(toAuditSigningKey));
  }

  insertSigningKey(key: AuditSigningKeyRecord): Promise<void> {
    return this.#db.write(() =>
      this.#db
        .stmt('INSERT INTO audit_signing_keys (id, public_key, sealed_private_key, created_at) VALUES (?, ?, ?, ?)')
        .run(key.id, key.publicKey, key.sealedPrivateKey, key.createdAt),
    );
  }
}
