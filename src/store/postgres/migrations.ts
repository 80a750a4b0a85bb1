/**
 * PostgreSQL schema, one entry per version. Each is applied in its own transaction under an advisory lock; never edit
 * a shipped entry. Tables and columns mirror the SQLite schema so rows.ts maps both. Times are TIMESTAMPTZ (read back
 * as Date, written from ISO strings); JSON documents are JSONB, read back as text so both dialects parse alike.
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
  );

  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    scopes JSONB NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
  );
  CREATE INDEX api_keys_org ON api_keys(org_id);

  CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    transport JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, name)
  );

  CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
  );
  INSERT INTO counters (name, value) VALUES ('connectors_revision', 0);

  -- search_path is pinned at creation so the trigger finds this schema's counters whatever the caller's path.
  CREATE FUNCTION connectors_bump_revision() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
  BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'connectors_revision';
    RETURN NULL;
  END $$;
  CREATE TRIGGER connectors_revision AFTER INSERT OR UPDATE OR DELETE ON connectors
    FOR EACH ROW EXECUTE FUNCTION connectors_bump_revision();

  CREATE TABLE audit_events (
    org_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    actor_key_id TEXT,
    actor_user TEXT,
    client_ip TEXT,
    action TEXT NOT NULL,
    target_connector TEXT,
    target_name TEXT,
    decision TEXT NOT NULL,
    reason TEXT,
    latency_ms DOUBLE PRECISION,
    correlation_id TEXT,
    args TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
  );

  -- Statement-level, so even an UPDATE or DELETE that matches no row is refused.
  CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
  END $$;
  CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();
  `,
  `
  ALTER TABLE api_keys ADD COLUMN servers JSONB;

  CREATE TABLE virtual_servers (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    tools JSONB NOT NULL,
    prompts JSONB NOT NULL,
    resources JSONB NOT NULL,
    unprefixed BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, name)
  );

  INSERT INTO counters (name, value) VALUES ('virtual_servers_revision', 0);

  CREATE FUNCTION virtual_servers_bump_revision() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
  BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'virtual_servers_revision';
    RETURN NULL;
  END $$;
  CREATE TRIGGER virtual_servers_revision AFTER INSERT OR UPDATE OR DELETE ON virtual_servers
    FOR EACH ROW EXECUTE FUNCTION virtual_servers_bump_revision();
  `,
  `
  ALTER TABLE api_keys ADD COLUMN cidrs JSONB;

  CREATE TABLE oauth_issuers (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    issuer TEXT NOT NULL UNIQUE,
    audience TEXT NOT NULL,
    algorithms JSONB NOT NULL,
    jwks_uri TEXT NOT NULL,
    scope_map JSONB NOT NULL,
    required_scopes JSONB NOT NULL,
    servers JSONB,
    require_at_jwt BOOLEAN NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
  );
  CREATE INDEX oauth_issuers_org ON oauth_issuers(org_id);

  CREATE TABLE network_allowlists (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    plane TEXT NOT NULL CHECK (plane IN ('mcp', 'api')),
    cidrs JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, plane)
  );
  `,
];
