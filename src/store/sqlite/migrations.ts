/** SQLite schema, one entry per version. Applied in order inside a transaction; never edit a shipped entry. */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    scopes TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
  ) STRICT;
  CREATE INDEX api_keys_org ON api_keys(org_id);

  CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    transport TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_id, name)
  ) STRICT;

  CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) STRICT;
  INSERT INTO counters (name, value) VALUES ('connectors_revision', 0);

  CREATE TRIGGER connectors_revision_insert AFTER INSERT ON connectors
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'connectors_revision'; END;
  CREATE TRIGGER connectors_revision_update AFTER UPDATE ON connectors
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'connectors_revision'; END;
  CREATE TRIGGER connectors_revision_delete AFTER DELETE ON connectors
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'connectors_revision'; END;

  CREATE TABLE audit_events (
    org_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts TEXT NOT NULL,
    actor_key_id TEXT,
    actor_user TEXT,
    client_ip TEXT,
    action TEXT NOT NULL,
    target_connector TEXT,
    target_name TEXT,
    decision TEXT NOT NULL,
    reason TEXT,
    latency_ms REAL,
    correlation_id TEXT,
    args TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
  ) STRICT;

  CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
  CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
  `,
  `
  ALTER TABLE api_keys ADD COLUMN servers TEXT;

  CREATE TABLE virtual_servers (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    tools TEXT NOT NULL,
    prompts TEXT NOT NULL,
    resources TEXT NOT NULL,
    unprefixed INTEGER NOT NULL CHECK (unprefixed IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_id, name)
  ) STRICT;

  INSERT INTO counters (name, value) VALUES ('virtual_servers_revision', 0);

  CREATE TRIGGER virtual_servers_revision_insert AFTER INSERT ON virtual_servers
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'virtual_servers_revision'; END;
  CREATE TRIGGER virtual_servers_revision_update AFTER UPDATE ON virtual_servers
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'virtual_servers_revision'; END;
  CREATE TRIGGER virtual_servers_revision_delete AFTER DELETE ON virtual_servers
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'virtual_servers_revision'; END;
  `,
  // 3: people and their organisations; keys may act for a user; organisations can be deleted; audit lookups by hash.
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE memberships (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id)
  ) STRICT;
  CREATE INDEX memberships_user ON memberships(user_id);

  ALTER TABLE api_keys ADD COLUMN user_id TEXT REFERENCES users(id);
  CREATE INDEX api_keys_user ON api_keys(org_id, user_id);

  ALTER TABLE organisations ADD COLUMN deleted_at TEXT;

  CREATE INDEX audit_events_hash ON audit_events(org_id, hash);
  `,
  // 4: people sign in: local passwords with lockout, TOTP factors and recovery codes, browser sessions, an
  // organisation's sign-in settings (timeouts, MFA, OIDC), and OIDC sign-ins in progress.
  `
  CREATE TABLE password_credentials (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    password_hash TEXT NOT NULL,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT,
    updated_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE totp_factors (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    secret_sealed TEXT NOT NULL,
    confirmed_at TEXT,
    last_step INTEGER,
    created_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT,
    PRIMARY KEY (user_id, code_hash)
  ) STRICT;

  CREATE TABLE browser_sessions (
    id_hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    stage TEXT NOT NULL CHECK (stage IN ('partial', 'full')),
    mfa INTEGER NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('password', 'oidc')),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT
  ) STRICT;
  CREATE INDEX browser_sessions_user ON browser_sessions(user_id);

  CREATE TABLE org_sign_in (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    session_idle_minutes INTEGER NOT NULL CHECK (session_idle_minutes BETWEEN 15 AND 480),
    session_max_hours INTEGER NOT NULL,
    require_mfa INTEGER NOT NULL,
    password_login INTEGER NOT NULL,
    oidc_issuer TEXT,
    oidc_client_id TEXT,
    oidc_client_secret TEXT,
    oidc_jit INTEGER NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE oidc_flows (
    id_hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    state TEXT NOT NULL,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
  ) STRICT;
  `,
  // 5: SCIM provisioning: one bearer token per organisation, IdP group -> role mappings, provisioned users and groups.
  `
  CREATE TABLE scim_tokens (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    id TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;

  CREATE TABLE scim_role_mappings (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    idp_group TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    PRIMARY KEY (org_id, idp_group)
  ) STRICT;

  CREATE TABLE scim_users (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id TEXT,
    active INTEGER NOT NULL,
    resource TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id),
    UNIQUE (org_id, user_name_key)
  ) STRICT;

  CREATE TABLE scim_groups (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    display_name TEXT NOT NULL,
    external_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (org_id, display_name)
  ) STRICT;

  CREATE TABLE scim_group_members (
    org_id TEXT NOT NULL,
    group_id TEXT NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (org_id, user_id) REFERENCES scim_users(org_id, user_id) ON DELETE CASCADE
  ) STRICT;
  CREATE INDEX scim_group_members_user ON scim_group_members(org_id, user_id);
  `,
  // 6: OAuth access tokens from an organisation's IdP (issuers), per-organisation IP allowlists per plane, per-key CIDRs.
  `
  ALTER TABLE api_keys ADD COLUMN cidrs TEXT;

  CREATE TABLE oauth_issuers (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    issuer TEXT NOT NULL UNIQUE,
    audience TEXT NOT NULL,
    algorithms TEXT NOT NULL,
    jwks_uri TEXT NOT NULL,
    scope_map TEXT NOT NULL,
    required_scopes TEXT NOT NULL,
    servers TEXT,
    require_at_jwt INTEGER NOT NULL CHECK (require_at_jwt IN (0, 1)),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX oauth_issuers_org ON oauth_issuers(org_id);

  CREATE TABLE network_allowlists (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    plane TEXT NOT NULL CHECK (plane IN ('mcp', 'api')),
    cidrs TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, plane)
  ) STRICT;
  `,
  // 7: the audit lookup by hash indexes the first 8 bytes of the hash alone instead of (org_id, hash) in full. Every
  // append puts one entry at a random place in this index, so each group commit rewrites about one index page per
  // record: entries of ~15 bytes instead of ~120 make the index several times smaller, and with it the pages each
  // commit writes to the WAL. getAuditByHash still compares org_id and the full hash on the row.
  `
  DROP INDEX audit_events_hash;
  CREATE INDEX audit_events_hash_prefix ON audit_events(unhex(substr(hash, 1, 16)));
  `,
  // 8: one revision for what decides access on every request (keys, memberships, network allowlists): the data path
  // keeps them in memory and reads this one counter per request instead of the rows.
  `
  INSERT INTO counters (name, value) VALUES ('access_revision', 0);
  CREATE TRIGGER api_keys_access_revision_insert AFTER INSERT ON api_keys
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER api_keys_access_revision_update AFTER UPDATE ON api_keys
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER api_keys_access_revision_delete AFTER DELETE ON api_keys
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER memberships_access_revision_insert AFTER INSERT ON memberships
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER memberships_access_revision_update AFTER UPDATE ON memberships
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER memberships_access_revision_delete AFTER DELETE ON memberships
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER network_allowlists_access_revision_insert AFTER INSERT ON network_allowlists
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER network_allowlists_access_revision_update AFTER UPDATE ON network_allowlists
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER network_allowlists_access_revision_delete AFTER DELETE ON network_allowlists
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  `,
  // 9: what the stages found and decided beyond allow/deny (guardrail findings, policies, limits), as JSON text.
  `
  ALTER TABLE audit_events ADD COLUMN detail TEXT;
  `,
  // 10: traffic settings (org limit, tool limits, key tiers, deny lists), one JSON document per organisation. They
  // bump the access revision, which authentication reads on every request already, so the data path's cache of them
  // costs no second read.
  `
  CREATE TABLE traffic_settings (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE TRIGGER traffic_settings_access_revision_insert AFTER INSERT ON traffic_settings
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER traffic_settings_access_revision_update AFTER UPDATE ON traffic_settings
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER traffic_settings_access_revision_delete AFTER DELETE ON traffic_settings
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  `,
  // 11: idempotency keys (tools/call and the admin API's creating POSTs): the primary key makes the first claim win;
  // results are sealed; expired rows are purged by the server.
  `
  CREATE TABLE idempotency_keys (
    org_id TEXT NOT NULL,
    principal TEXT NOT NULL,
    plane TEXT NOT NULL CHECK (plane IN ('mcp', 'api')),
    idem_key TEXT NOT NULL,
    claim_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    result TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (org_id, principal, plane, idem_key)
  ) STRICT;
  CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);
  `,
  // 12: tool pinning (approved and pending tool definitions per organisation and connector) and read-only connectors;
  // pinning_revision moves with every write so the data path reloads its cache only then.
  `
  CREATE TABLE tool_pins (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    tool TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('approved', 'pending', 'rejected')),
    approved_fingerprint TEXT,
    approved_definition TEXT,
    pending_fingerprint TEXT,
    pending_definition TEXT,
    findings TEXT,
    classification TEXT CHECK (classification IN ('read', 'write')),
    reviewed_by TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, connector_id, tool)
  ) STRICT;
  CREATE TABLE pin_settings (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    connector_id TEXT NOT NULL,
    read_only INTEGER NOT NULL,
    auto_approve INTEGER,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, connector_id)
  ) STRICT;
  INSERT INTO counters (name, value) VALUES ('pinning_revision', 0);
  CREATE TRIGGER tool_pins_revision_insert AFTER INSERT ON tool_pins
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'pinning_revision'; END;
  CREATE TRIGGER tool_pins_revision_update AFTER UPDATE ON tool_pins
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'pinning_revision'; END;
  CREATE TRIGGER tool_pins_revision_delete AFTER DELETE ON tool_pins
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'pinning_revision'; END;
  CREATE TRIGGER pin_settings_revision_insert AFTER INSERT ON pin_settings
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'pinning_revision'; END;
  CREATE TRIGGER pin_settings_revision_update AFTER UPDATE ON pin_settings
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'pinning_revision'; END;
  CREATE TRIGGER pin_settings_revision_delete AFTER DELETE ON pin_settings
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'pinning_revision'; END;
  `,
  // 13: per-organisation Cedar policy sets, versioned (the newest row is in force; a NULL text clears the set). A
  // change moves the access revision the data path already reads per request, so its cached policies reload for free.
  `
  CREATE TABLE policy_sets (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    version INTEGER NOT NULL CHECK (version > 0),
    text TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, version)
  ) STRICT;
  CREATE TRIGGER policy_sets_access_revision_insert AFTER INSERT ON policy_sets
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER policy_sets_access_revision_delete AFTER DELETE ON policy_sets
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  `,
  // 14: guardrail settings (schema checks, deny rules, PII and secret detection, output cap), one JSON document per
  // organisation with its connector and tool overrides. They bump the access revision the data path already reads.
  `
  CREATE TABLE guardrail_settings (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    settings TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT;
  CREATE TRIGGER guardrail_settings_access_revision_insert AFTER INSERT ON guardrail_settings
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER guardrail_settings_access_revision_update AFTER UPDATE ON guardrail_settings
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  CREATE TRIGGER guardrail_settings_access_revision_delete AFTER DELETE ON guardrail_settings
  BEGIN UPDATE counters SET value = value + 1 WHERE name = 'access_revision'; END;
  `,
  // 15: human approval of tool calls: a pending row per call awaiting an admin (bound to a digest of the exact call),
  // approved or denied once, consumed once by the retry it approves. Expired rows stay for the record.
  `
  CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    key_id TEXT NOT NULL,
    connector TEXT NOT NULL,
    tool TEXT NOT NULL,
    digest TEXT NOT NULL,
    args_preview TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'used')),
    requested_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT
  ) STRICT;
  CREATE INDEX approvals_digest ON approvals(org_id, digest);
  CREATE INDEX approvals_pending ON approvals(org_id, status, requested_at);
  `,
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
];
