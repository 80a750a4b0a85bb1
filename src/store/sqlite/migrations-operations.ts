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
