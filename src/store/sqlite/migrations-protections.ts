/** SQLite schema versions of the traffic limits, idempotency, tool pinning, policies, guardrails, approvals: a slice of SQLITE_MIGRATIONS (migrations.ts), in order. Never edit a shipped entry. */
export const SQLITE_PROTECTIONS: readonly string[] = [
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
];
