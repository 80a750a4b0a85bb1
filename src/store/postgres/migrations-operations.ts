/** PostgreSQL schema versions of the SIEM delivery, key policies, the vault, audit checkpoints and signing: a slice of POSTGRES_MIGRATIONS (migrations.ts), in order. Never edit a shipped entry. */
export const POSTGRES_OPERATIONS: readonly string[] = [
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
  // audit retention and export grant (issue 11): per-organisation settings; tombstones, signed, append-only.
  // audit_prune(), owned by the migrator and SECURITY DEFINER, is the only way records are removed: under the chain's
  // lock it refuses unless the tombstone continues the last one, a checkpoint at its last record names its hash, a
  // record stays after it, its range is whole and older than the organisation's retention; then it stores the
  // tombstone and deletes that range. The append-only trigger lets a DELETE through only while it runs.
  `
  CREATE TABLE audit_settings (
    org_id TEXT PRIMARY KEY,
    retention_days INTEGER CHECK (retention_days IS NULL OR retention_days >= 1),
    viewer_export BOOLEAN NOT NULL DEFAULT false,
    updated_at TIMESTAMPTZ NOT NULL
  );

  CREATE TABLE audit_tombstones (
    org_id TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    count BIGINT NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (org_id, last_seq)
  );
  CREATE TRIGGER audit_tombstones_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_tombstones
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

  ALTER TABLE audit_settings ENABLE ROW LEVEL SECURITY;
  CREATE POLICY tenant_wall ON audit_settings USING (current_setting('gatehouse.org_id', true) IN ('*', org_id))
    WITH CHECK (current_setting('gatehouse.org_id', true) IN ('*', org_id));
  ALTER TABLE audit_tombstones ENABLE ROW LEVEL SECURITY;
  CREATE POLICY tenant_wall ON audit_tombstones USING (current_setting('gatehouse.org_id', true) IN ('*', org_id))
    WITH CHECK (current_setting('gatehouse.org_id', true) IN ('*', org_id));

  CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'DELETE' AND current_setting('gatehouse.audit_prune', true) = 'on' THEN
      RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only';
  END $$;

  CREATE FUNCTION audit_prune(
    p_org_id TEXT, p_first_seq BIGINT, p_last_seq BIGINT, p_head_hash TEXT, p_count BIGINT, p_ts TIMESTAMPTZ,
    p_actor TEXT, p_key_id TEXT, p_signature TEXT
  ) RETURNS BIGINT
  LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
  DECLARE
    v_days INTEGER;
    v_prev BIGINT;
    v_removed BIGINT;
  BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('gatehouse:audit:' || p_org_id, 0));
    SELECT s.retention_days INTO v_days FROM audit_settings s WHERE s.org_id = p_org_id;
    IF v_days IS NULL THEN
      RAISE EXCEPTION 'audit_prune: the organisation has no audit retention set';
    END IF;
    SELECT COALESCE(MAX(t.last_seq), 0) INTO v_prev FROM audit_tombstones t WHERE t.org_id = p_org_id;
    IF p_first_seq <> v_prev + 1 OR p_last_seq < p_first_seq OR p_count <> p_last_seq - p_first_seq + 1 THEN
      RAISE EXCEPTION 'audit_prune: the tombstone does not continue the previous one';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_checkpoints c WHERE c.org_id = p_org_id AND c.seq = p_last_seq AND c.hash = p_head_hash)
       OR NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.org_id = p_org_id AND e.seq = p_last_seq AND e.hash = p_head_hash) THEN
      RAISE EXCEPTION 'audit_prune: no signed checkpoint of that record ends the segment';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.org_id = p_org_id AND e.seq > p_last_seq) THEN
      RAISE EXCEPTION 'audit_prune: the chain head is never removed';
    END IF;
    IF (SELECT COUNT(*) FROM audit_events e WHERE e.org_id = p_org_id AND e.seq BETWEEN p_first_seq AND p_last_seq) <> p_count THEN
      RAISE EXCEPTION 'audit_prune: the segment is not whole';
    END IF;
    IF EXISTS (SELECT 1 FROM audit_events e WHERE e.org_id = p_org_id AND e.seq BETWEEN p_first_seq AND p_last_seq
        AND e.ts >= now() - make_interval(days => v_days)) THEN
      RAISE EXCEPTION 'audit_prune: the segment holds records younger than the retention';
    END IF;
    INSERT INTO audit_tombstones (org_id, first_seq, last_seq, head_hash, count, ts, actor, key_id, signature)
    VALUES (p_org_id, p_first_seq, p_last_seq, p_head_hash, p_count, p_ts, p_actor, p_key_id, p_signature);
    PERFORM set_config('gatehouse.audit_prune', 'on', true);
    DELETE FROM audit_events e WHERE e.org_id = p_org_id AND e.seq BETWEEN p_first_seq AND p_last_seq;
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    PERFORM set_config('gatehouse.audit_prune', '', true);
    RETURN v_removed;
  END $$;
  REVOKE ALL ON FUNCTION audit_prune(TEXT, BIGINT, BIGINT, TEXT, BIGINT, TIMESTAMPTZ, TEXT, TEXT, TEXT) FROM PUBLIC;
  `,
  // keys (issue 13): as SQLite's migration of the same name: rotation schedule, reported due date, overlap end, and
  // the first owner key's exemption (backfilled on the earliest key of each organisation when it is that key).
  `
  ALTER TABLE api_keys ADD COLUMN rotation_days INTEGER CHECK (rotation_days IN (30, 60, 90, 180));
  ALTER TABLE api_keys ADD COLUMN rotation_due_reported TIMESTAMPTZ;
  ALTER TABLE api_keys ADD COLUMN retires_at TIMESTAMPTZ;
  ALTER TABLE api_keys ADD COLUMN policy_exempt BOOLEAN NOT NULL DEFAULT false;
  UPDATE api_keys SET policy_exempt = true WHERE id IN (
    SELECT k.id FROM api_keys k
    WHERE k.role = 'owner' AND k.scopes = '["*"]'::jsonb AND k.expires_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM api_keys e WHERE e.org_id = k.org_id AND (e.created_at < k.created_at OR (e.created_at = k.created_at AND e.id < k.id))));
  `,
  // vault (issue 13): KEK versions destroyed by `vault destroy-kek`; the vault never uses them again.
  `
  CREATE TABLE vault_destroyed_keks (
    provider TEXT NOT NULL,
    kek_version INTEGER NOT NULL,
    destroyed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (provider, kek_version)
  );
  `,
  // audit group commit: audit_append_batch() links a run of one chain's records under one advisory lock and one
  // commit, as SQLite's group commit does; each record is linked exactly as audit_append() would, in order.
  `
  CREATE FUNCTION audit_append_batch(
    p_org_id TEXT, p_ts TIMESTAMPTZ[], p_actor_key_id TEXT[], p_actor_user TEXT[], p_client_ip TEXT[], p_action TEXT[],
    p_target_connector TEXT[], p_target_name TEXT[], p_decision TEXT[], p_reason TEXT[], p_latency_ms DOUBLE PRECISION[],
    p_correlation_id TEXT[], p_args TEXT[], p_detail TEXT[], p_salt TEXT[], p_content TEXT[]
  ) RETURNS TABLE (seq BIGINT, prev_hash TEXT, hash TEXT)
  LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
  DECLARE
    v_n INTEGER := COALESCE(cardinality(p_content), 0);
    v_seq BIGINT;
    v_prev TEXT;
    v_hash TEXT;
  BEGIN
    IF v_n = 0 OR v_n > 1000 THEN
      RAISE EXCEPTION 'audit_append_batch takes 1 to 1000 records';
    END IF;
    IF cardinality(p_ts) <> v_n OR cardinality(p_actor_key_id) <> v_n OR cardinality(p_actor_user) <> v_n OR cardinality(p_client_ip) <> v_n
       OR cardinality(p_action) <> v_n OR cardinality(p_target_connector) <> v_n OR cardinality(p_target_name) <> v_n
       OR cardinality(p_decision) <> v_n OR cardinality(p_reason) <> v_n OR cardinality(p_latency_ms) <> v_n
       OR cardinality(p_correlation_id) <> v_n OR cardinality(p_args) <> v_n OR cardinality(p_detail) <> v_n OR cardinality(p_salt) <> v_n THEN
      RAISE EXCEPTION 'audit_append_batch needs one value per record in every field';
    END IF;
    FOR i IN 1..v_n LOOP
      IF p_salt[i] IS NULL OR p_salt[i] !~ '^[0-9a-f]{32}$' OR p_content[i] IS NULL OR p_content[i] !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'audit_append_batch needs version-2 records (salt and content digest)';
      END IF;
    END LOOP;
    PERFORM pg_advisory_xact_lock(hashtextextended('gatehouse:audit:' || p_org_id, 0));
    SELECT e.seq, e.hash INTO v_seq, v_prev FROM audit_events e WHERE e.org_id = p_org_id ORDER BY e.seq DESC LIMIT 1;
    v_seq := COALESCE(v_seq, 0);
    v_prev := COALESCE(v_prev, repeat('0', 64));
    FOR i IN 1..v_n LOOP
      v_seq := v_seq + 1;
      v_hash := encode(sha256(convert_to(v_prev || E'\\n' || v_seq::text || E'\\n' || p_content[i], 'UTF8')), 'hex');
      INSERT INTO audit_events (org_id, seq, ts, actor_key_id, actor_user, client_ip, action, target_connector, target_name,
        decision, reason, latency_ms, correlation_id, args, detail, prev_hash, hash, salt)
      VALUES (p_org_id, v_seq, p_ts[i], p_actor_key_id[i], p_actor_user[i], p_client_ip[i], p_action[i], p_target_connector[i],
        p_target_name[i], p_decision[i], p_reason[i], p_latency_ms[i], p_correlation_id[i], p_args[i], p_detail[i], v_prev, v_hash, p_salt[i]);
      seq := v_seq;
      prev_hash := v_prev;
      hash := v_hash;
      RETURN NEXT;
      v_prev := v_hash;
    END LOOP;
  END $$;
  REVOKE ALL ON FUNCTION audit_append_batch(TEXT, TIMESTAMPTZ[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], DOUBLE PRECISION[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[]) FROM PUBLIC;
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
    expires_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, user_id, connector_id)
  );
  CREATE INDEX upstream_tokens_by_connector ON upstream_tokens (org_id, connector_id, updated_at);
  ALTER TABLE upstream_tokens ENABLE ROW LEVEL SECURITY;
  CREATE POLICY tenant_wall ON upstream_tokens USING (current_setting('gatehouse.org_id', true) IN ('*', org_id))
    WITH CHECK (current_setting('gatehouse.org_id', true) IN ('*', org_id));
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
    expires_at TIMESTAMPTZ NOT NULL
  );
  CREATE INDEX upstream_connects_by_expiry ON upstream_connects (expires_at);
  ALTER TABLE upstream_connects ENABLE ROW LEVEL SECURITY;
  CREATE POLICY tenant_wall ON upstream_connects USING (current_setting('gatehouse.org_id', true) IN ('*', org_id))
    WITH CHECK (current_setting('gatehouse.org_id', true) IN ('*', org_id));
  `,
];
