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
  // 9: traffic settings (org limit, tool limits, key tiers, deny lists), one JSON document per organisation. They
  // bump the access revision, which authentication reads on every request already, so the data path's cache of them
  // costs no second read.
  `
  CREATE TABLE traffic_settings (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    settings JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
  );
  CREATE TRIGGER traffic_settings_access_revision AFTER INSERT OR UPDATE OR DELETE ON traffic_settings
    FOR EACH STATEMENT EXECUTE FUNCTION access_bump_revision();
  `,
  // 10: idempotency keys (tools/call and the admin API's creating POSTs): the primary key makes the first claim win
  // across replicas; results are sealed; expired rows are purged by the servers.
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
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, principal, plane, idem_key)
  );
  CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);
  `,
  // 11: tool pinning (approved and pending tool definitions per organisation and connector) and read-only connectors;
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
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, connector_id, tool)
  );
  CREATE TABLE pin_settings (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    connector_id TEXT NOT NULL,
    read_only BOOLEAN NOT NULL,
    auto_approve BOOLEAN,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, connector_id)
  );
  INSERT INTO counters (name, value) VALUES ('pinning_revision', 0);
  CREATE FUNCTION pinning_bump_revision() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
  BEGIN
    UPDATE counters SET value = value + 1 WHERE name = 'pinning_revision';
    RETURN NULL;
  END $$;
  CREATE TRIGGER tool_pins_revision AFTER INSERT OR UPDATE OR DELETE ON tool_pins
    FOR EACH STATEMENT EXECUTE FUNCTION pinning_bump_revision();
  CREATE TRIGGER pin_settings_revision AFTER INSERT OR UPDATE OR DELETE ON pin_settings
    FOR EACH STATEMENT EXECUTE FUNCTION pinning_bump_revision();
  `,
  // 12: per-organisation Cedar policy sets, versioned (the newest row is in force; a NULL text clears the set). A
  // change moves the access revision the data path already reads per request, so its cached policies reload for free.
  `
  CREATE TABLE policy_sets (
    org_id TEXT NOT NULL REFERENCES organisations(id),
    version INTEGER NOT NULL CHECK (version > 0),
    text TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, version)
  );
  CREATE TRIGGER policy_sets_access_revision AFTER INSERT OR UPDATE OR DELETE ON policy_sets
    FOR EACH STATEMENT EXECUTE FUNCTION access_bump_revision();
  `,
  // 13: guardrail settings (schema checks, deny rules, PII and secret detection, output cap), one JSON document per
  // organisation with its connector and tool overrides. They bump the access revision the data path already reads.
  `
  CREATE TABLE guardrail_settings (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    settings JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
  );
  CREATE TRIGGER guardrail_settings_access_revision AFTER INSERT OR UPDATE OR DELETE ON guardrail_settings
    FOR EACH STATEMENT EXECUTE FUNCTION access_bump_revision();
  `,
  // 14: human approval of tool calls: a pending row per call awaiting an admin (bound to a digest of the exact call),
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
    requested_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    decided_by TEXT,
    decided_at TIMESTAMPTZ
  );
  CREATE INDEX approvals_digest ON approvals(org_id, digest);
  CREATE INDEX approvals_pending ON approvals(org_id, status, requested_at);
  `,
  // SIEM delivery (gateway/audit/sinks): per sink and chain, the seq of the last record the sink accepted (it only
  // moves forward), and one deliverer's lease per sink so replicas do not each send everything.
  `
  CREATE TABLE siem_cursors (
    sink TEXT NOT NULL,
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL CHECK (seq >= 0),
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (sink, chain)
  );
  CREATE TABLE siem_leases (
    sink TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
  );
  `,
  // Key policy per organisation: the longest a key may live and whether `*` scopes are allowed, only with an
  // expiry, or refused; enforced when keys are created and rotated (services/key-policy.ts). No row: the default.
  `
  CREATE TABLE key_policies (
    org_id TEXT PRIMARY KEY REFERENCES organisations(id),
    max_lifetime_days INTEGER CHECK (max_lifetime_days IS NULL OR max_lifetime_days > 0),
    wildcard TEXT NOT NULL CHECK (wildcard IN ('allowed', 'with_expiry', 'refused')),
    updated_at TIMESTAMPTZ NOT NULL
  );
  `,
  // vault: the current key-encryption key version (one row) and each organisation's data keys, wrapped by it.
  // One active data key per organisation; retired versions stay until nothing refers to them.
  `
  CREATE TABLE vault_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    provider TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
  );
  CREATE TABLE vault_data_keys (
    org_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    provider TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, version)
  );
  CREATE UNIQUE INDEX vault_data_keys_active ON vault_data_keys(org_id) WHERE state = 'active';
  `,
  // audit (issue 11): version-2 records (per-field salted digests, seeded by salt); signed checkpoints and the signing
  // key, append-only; audit_append(), the one way records are written: it takes the chain's lock, reads the head and
  // computes the link itself (store/audit-link.ts is the same rule), so the caller never picks seq or prev_hash.
  // Owned by the migrator and SECURITY DEFINER, it is how an application role with no INSERT on audit_events
  // appends. Row-level security on every table with an org_id: rows are visible only when gatehouse.org_id, set per
  // transaction, is their organisation or '*'. The owner (a single-role setup) is not subject to it.
  `
  ALTER TABLE audit_events ADD COLUMN salt TEXT;

  CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
  END $$;

  CREATE TABLE audit_checkpoints (
    org_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (org_id, seq)
  );
  CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

  CREATE TABLE audit_signing_keys (
    id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
  );
  CREATE TRIGGER audit_signing_keys_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

  CREATE FUNCTION audit_append(
    p_org_id TEXT, p_ts TIMESTAMPTZ, p_actor_key_id TEXT, p_actor_user TEXT, p_client_ip TEXT, p_action TEXT,
    p_target_connector TEXT, p_target_name TEXT, p_decision TEXT, p_reason TEXT, p_latency_ms DOUBLE PRECISION,
    p_correlation_id TEXT, p_args TEXT, p_detail TEXT, p_salt TEXT, p_content TEXT
  ) RETURNS TABLE (seq BIGINT, prev_hash TEXT, hash TEXT)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
  DECLARE
    v_seq BIGINT;
    v_prev TEXT;
    v_hash TEXT;
  BEGIN
    IF p_salt IS NULL OR p_salt !~ '^[0-9a-f]{32}$' OR p_content IS NULL OR p_content !~ '^[0-9a-f]{64}$' THEN
      RAISE EXCEPTION 'audit_append needs a version-2 record (salt and content digest)';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('gatehouse:audit:' || p_org_id, 0));
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM audit_events e WHERE e.org_id = p_org_id ORDER BY e.seq DESC LIMIT 1;
    v_seq := COALESCE(v_seq, 0) + 1;
    v_prev := COALESCE(v_prev, repeat('0', 64));
    v_hash := encode(sha256(convert_to(v_prev || E'\\n' || v_seq::text || E'\\n' || p_content, 'UTF8')), 'hex');
    INSERT INTO audit_events (org_id, seq, ts, actor_key_id, actor_user, client_ip, action, target_connector, target_name,
      decision, reason, latency_ms, correlation_id, args, detail, prev_hash, hash, salt)
    VALUES (p_org_id, v_seq, p_ts, p_actor_key_id, p_actor_user, p_client_ip, p_action, p_target_connector, p_target_name,
      p_decision, p_reason, p_latency_ms, p_correlation_id, p_args, p_detail, v_prev, v_hash, p_salt);
    RETURN QUERY SELECT v_seq, v_prev, v_hash;
  END $$;
  REVOKE ALL ON FUNCTION audit_append(TEXT, TIMESTAMPTZ, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, DOUBLE PRECISION, TEXT, TEXT, TEXT, TEXT, TEXT) FROM PUBLIC;

  DO $$
  DECLARE t RECORD;
  BEGIN
    FOR t IN SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables tb
        ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND c.column_name = 'org_id' AND tb.table_type = 'BASE TABLE'
    LOOP
      EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.table_name);
      EXECUTE format(
        'CREATE POLICY tenant_wall ON %I USING (current_setting(''gatehouse.org_id'', true) IN (''*'', org_id)) '
        || 'WITH CHECK (current_setting(''gatehouse.org_id'', true) IN (''*'', org_id))', t.table_name);
    END LOOP;
  END $$;
  `,
];
