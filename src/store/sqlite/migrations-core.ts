/** SQLite schema versions of the tenancy, keys, connectors, identity, sign-in, SCIM, network rules: a slice of SQLITE_MIGRATIONS (migrations.ts), in order. Never edit a shipped entry. */
export const SQLITE_CORE: readonly string[] = [
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
];
