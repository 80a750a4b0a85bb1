/** PostgreSQL schema versions of the tenancy, keys, connectors, identity, sign-in, SCIM, network rules: a slice of POSTGRES_MIGRATIONS (migrations.ts), in order. Never edit a shipped entry. */
export const POSTGRES_CORE: readonly string[] = [
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
  // 3: people and their organisations; keys may act for a user; organisations can be deleted; audit lookups by hash.
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
  );

  CREATE TABLE memberships (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, user_id)
  );
  CREATE INDEX memberships_user ON memberships(user_id);

  ALTER TABLE api_keys ADD COLUMN user_id TEXT REFERENCES users(id);
  CREATE INDEX api_keys_user ON api_keys(org_id, user_id);

  ALTER TABLE organisations ADD COLUMN deleted_at TIMESTAMPTZ;

  CREATE INDEX audit_events_hash ON audit_events(org_id, hash);
  `,
  // 4: people sign in: local passwords with lockout, TOTP factors and recovery codes, browser sessions, an
  // organisation's sign-in settings (timeouts, MFA, OIDC), and OIDC sign-ins in progress.
  `
  CREATE TABLE password_credentials (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    password_hash TEXT NOT NULL,
    failed_count INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL
  );

  CREATE TABLE totp_factors (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    secret_sealed TEXT NOT NULL,
    confirmed_at TIMESTAMPTZ,
    last_step BIGINT,
    created_at TIMESTAMPTZ NOT NULL
  );

  CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    PRIMARY KEY (user_id, code_hash)
  );

  CREATE TABLE browser_sessions (
    id_hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    stage TEXT NOT NULL CHECK (stage IN ('partial', 'full')),
    mfa BOOLEAN NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('password', 'oidc')),
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ
  );
  CREATE INDEX browser_sessions_user ON browser_sessions(user_id);

  CREATE TABLE org_sign_in (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    session_idle_minutes INTEGER NOT NULL CHECK (session_idle_minutes BETWEEN 15 AND 480),
    session_max_hours INTEGER NOT NULL,
    require_mfa BOOLEAN NOT NULL,
    password_login BOOLEAN NOT NULL,
    oidc_issuer TEXT,
    oidc_client_id TEXT,
    oidc_client_secret TEXT,
    oidc_jit BOOLEAN NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
  );

  CREATE TABLE oidc_flows (
    id_hash TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    state TEXT NOT NULL,
    nonce TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
  );
  `,
  // 5: SCIM provisioning: one bearer token per organisation, IdP group -> role mappings, provisioned users and groups.
  `
  CREATE TABLE scim_tokens (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    id TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
  );

  CREATE TABLE scim_role_mappings (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    idp_group TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
    PRIMARY KEY (org_id, idp_group)
  );

  CREATE TABLE scim_users (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id TEXT,
    active BOOLEAN NOT NULL,
    resource JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, user_id),
    UNIQUE (org_id, user_name_key)
  );

  CREATE TABLE scim_groups (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organisations(id),
    display_name TEXT NOT NULL,
    external_id TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, display_name)
  );

  CREATE TABLE scim_group_members (
    org_id TEXT NOT NULL,
    group_id TEXT NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id),
    FOREIGN KEY (org_id, user_id) REFERENCES scim_users(org_id, user_id) ON DELETE CASCADE
  );
  CREATE INDEX scim_group_members_user ON scim_group_members(org_id, user_id);
  `,
  // 6: OAuth access tokens from an organisation's IdP (issuers), per-organisation IP allowlists per plane, per-key CIDRs.
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
  // 7: one revision for what decides access on every request (keys, memberships, network allowlists): the data path
  // keeps them in memory and reads this one counter per request instead of the rows.
  `
  INSERT INTO counters (name, value) VALUES ('access_revision', 0);
  CREATE FUNCTION access_bump_revision() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
  BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'access_revision';
    RETURN NULL;
  END $$;
  CREATE TRIGGER api_keys_access_revision AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION access_bump_revision();
  CREATE TRIGGER memberships_access_revision AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION access_bump_revision();
  CREATE TRIGGER network_allowlists_access_revision AFTER INSERT OR UPDATE OR DELETE ON network_allowlists
    FOR EACH STATEMENT EXECUTE FUNCTION access_bump_revision();
  `,
  // 8: what the stages found and decided beyond allow/deny (guardrail findings, policies, limits), as JSON text.
  `
  ALTER TABLE audit_events ADD COLUMN detail TEXT;
  `,
];
