/** PostgreSQL schema versions of the traffic limits, idempotency, tool pinning, policies, guardrails, approvals: a slice of POSTGRES_MIGRATIONS (migrations.ts), in order. Never edit a shipped entry. */
export const POSTGRES_PROTECTIONS: readonly string[] = [
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
];
