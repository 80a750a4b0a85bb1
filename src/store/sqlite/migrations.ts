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
];
