/** SQLite schema versions of the SIEM delivery, key policies, the vault, audit checkpoints and signing: a slice of SQLITE_MIGRATIONS (migrations.ts), in order. Never edit a shipped entry. */
export const SQLITE_OPERATIONS: readonly string[] = [
  // SIEM delivery (gateway/audit/sinks): per sink and chain, the seq of the last record the sink accepted (it only
  // moves forward), and one deliverer's lease per sink so processes sharing the store do not each send everything.
  `
  CREATE TABLE siem_cursors (
    sink TEXT NOT NULL,
    chain TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 0),
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (sink, chain)
  ) STRICT;
  CREATE TABLE siem_leases (
    sink TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms INTEGER NOT NULL
  ) STRICT;
  `,
  // Key policy per organisation: the longest a key may live and whether `*` scopes are allowed, only with an
  // expiry, or refused; enforced when keys are created and rotated (services/key-policy.ts). No row: the default.
  `
  CREATE TABLE key_policies (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    max_lifetime_days INTEGER CHECK (max_lifetime_days IS NULL OR max_lifetime_days > 0),
    wildcard TEXT NOT NULL CHECK (wildcard IN ('allowed', 'with_expiry', 'refused')),
    updated_at TEXT NOT NULL
  ) STRICT;
  `,
  // vault: the current key-encryption key version (one row) and each organisation's data keys, wrapped by it.
  // One active data key per organisation; retired versions stay until nothing refers to them.
  `
  CREATE TABLE vault_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    provider TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE TABLE vault_data_keys (
    org_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    provider TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, version)
  ) STRICT;
  CREATE UNIQUE INDEX vault_data_keys_active ON vault_data_keys(org_id) WHERE state = 'active';
  `,
  // audit (issue 11): version-2 records carry the seed of their per-field salts; signed checkpoints of the chain heads
  // and the key that signs them (its private half sealed by the vault). Both are append-only, like the records.
  `
  ALTER TABLE audit_events ADD COLUMN salt TEXT;

  CREATE TABLE audit_checkpoints (
    org_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    ts TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
  ) STRICT;
  CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
  CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
  BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;

  CREATE TABLE audit_signing_keys (
    id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE TRIGGER audit_signing_keys_no_update BEFORE UPDATE ON audit_signing_keys
  BEGIN SELECT RAISE(ABORT, 'audit_signing_keys is append-only'); END;
  CREATE TRIGGER audit_signing_keys_no_delete BEFORE DELETE ON audit_signing_keys
  BEGIN SELECT RAISE(ABORT, 'audit_signing_keys is append-only'); END;
  `,
  // audit retention and export grant (issue 11): per-organisation settings; tombstones, signed, append-only, each
  // continuing the last. A record may be deleted only once a tombstone covers it, and a tombstone is accepted only at
  // a checkpointed record matching its hash, with a record after it, every record of its range present and older
  // than the organisation's retention: the database refuses any other cut, whoever asks.
  `
  CREATE TABLE audit_settings (
    org_id TEXT PRIMARY KEY,
    retention_days INTEGER CHECK (retention_days IS NULL OR retention_days >= 1),
    viewer_export INTEGER NOT NULL DEFAULT 0 CHECK (viewer_export IN (0, 1)),
    updated_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE audit_tombstones (
    org_id TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    count INTEGER NOT NULL,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (org_id, last_seq)
  ) STRICT;
  CREATE TRIGGER audit_tombstones_no_update BEFORE UPDATE ON audit_tombstones
  BEGIN SELECT RAISE(ABORT, 'audit_tombstones is append-only'); END;
  CREATE TRIGGER audit_tombstones_no_delete BEFORE DELETE ON audit_tombstones
  BEGIN SELECT RAISE(ABORT, 'audit_tombstones is append-only'); END;
  CREATE TRIGGER audit_tombstones_check BEFORE INSERT ON audit_tombstones
  WHEN NEW.first_seq <> COALESCE((SELECT MAX(last_seq) FROM audit_tombstones WHERE org_id = NEW.org_id), 0) + 1
    OR NEW.last_seq < NEW.first_seq
    OR NEW.count <> NEW.last_seq - NEW.first_seq + 1
    OR NOT EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.org_id = NEW.org_id AND c.seq = NEW.last_seq AND c.hash = NEW.head_hash)
    OR NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.org_id = NEW.org_id AND e.seq = NEW.last_seq AND e.hash = NEW.head_hash)
    OR NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.org_id = NEW.org_id AND e.seq > NEW.last_seq)
    OR (SELECT COUNT(*) FROM audit_events e WHERE e.org_id = NEW.org_id AND e.seq BETWEEN NEW.first_seq AND NEW.last_seq) <> NEW.count
    OR (SELECT retention_days FROM audit_settings s WHERE s.org_id = NEW.org_id) IS NULL
    OR EXISTS (SELECT 1 FROM audit_events e WHERE e.org_id = NEW.org_id AND e.seq BETWEEN NEW.first_seq AND NEW.last_seq
      AND e.ts >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-' || (SELECT retention_days FROM audit_settings s WHERE s.org_id = NEW.org_id) || ' days'))
  BEGIN SELECT RAISE(ABORT, 'audit tombstone refused: not a whole checkpointed segment older than the retention'); END;

  DROP TRIGGER audit_events_no_delete;
  CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  WHEN OLD.seq > COALESCE((SELECT MAX(last_seq) FROM audit_tombstones t WHERE t.org_id = OLD.org_id), 0)
  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
  `,
  // keys (issue 13): a rotation schedule (30, 60, 90 or 180 days) and the due date last reported to the audit log,
  // so each due period is recorded once; the time until which a rotated key still works (rotation with overlap); and
  // the first owner key's exemption from the wildcard-needs-expiry rule, which its replacements inherit. The earliest
  // key of each organisation, when it is an owner key for '*' that never expires, is the first owner key bootstrap made.
  `
  ALTER TABLE api_keys ADD COLUMN rotation_days INTEGER CHECK (rotation_days IN (30, 60, 90, 180));
  ALTER TABLE api_keys ADD COLUMN rotation_due_reported TEXT;
  ALTER TABLE api_keys ADD COLUMN retires_at TEXT;
  ALTER TABLE api_keys ADD COLUMN policy_exempt INTEGER NOT NULL DEFAULT 0 CHECK (policy_exempt IN (0, 1));
  UPDATE api_keys SET policy_exempt = 1 WHERE id IN (
    SELECT k.id FROM api_keys k
    WHERE k.role = 'owner' AND k.scopes = '["*"]' AND k.expires_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM api_keys e WHERE e.org_id = k.org_id AND (e.created_at < k.created_at OR (e.created_at = k.created_at AND e.id < k.id))));
  `,
  // vault (issue 13): KEK versions destroyed by `vault destroy-kek`; the vault never uses them again.
  `
  CREATE TABLE vault_destroyed_keks (
    provider TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    destroyed_at TEXT NOT NULL,
    PRIMARY KEY (provider, kek_version)
  ) STRICT;
  `,
  // Per-user upstream OAuth (gateway/upstream/oauth/user-tokens.ts): each person's own access and refresh tokens
  // for a connector, sealed together under the organisation's data key and bound to (org, user, connector).
  `
  CREATE TABLE upstream_tokens (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    sealed TEXT NOT NULL,
    scope TEXT,
    expires_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id, connector_id)
  ) STRICT;
  CREATE INDEX upstream_tokens_by_connector ON upstream_tokens (org_id, connector_id, updated_at);
  `,
  // OAuth per user: a connect in progress (user-tokens.ts), between the redirect to the authorization server and
  // the callback, so that any replica can finish it; taken (deleted) by the callback, single use.
  `
  CREATE TABLE upstream_connects (
    state_hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    sealed TEXT NOT NULL,
    expires_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX upstream_connects_by_expiry ON upstream_connects (expires_at);
  `,
];
