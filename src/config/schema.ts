import * as z from 'zod';
import { normalizeCidr } from '../cidr.ts';
import { parseLimit } from '../limit-spec.ts';
import { Secret } from './secret.ts';

/** How many records between signed checkpoints unless configured (the bench's checkpointed audit append uses it too). */
export const DEFAULT_AUDIT_CHECKPOINT_EVERY = 100;

const limitSetting = z.string().refine((v) => v === 'off' || parseLimit(v) !== undefined, 'must be off or <n>/<s|m|h>[,burst=<n>]');

/**
 * Everything the gateway can be told, validated once at start-up. Environment variables (`GATEHOUSE_*`) and an
 * optional JSON config file (`GATEHOUSE_CONFIG`) are mapped onto this shape by `load.ts`; unknown keys are refused.
 */
export const configSchema = z.strictObject({
  env: z.enum(['development', 'production']).default('development'),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  dataDir: z.string().min(1).default('./data'),
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .transform((v) => new Secret(v))
    .optional(),
  /**
   * Optional: a second URL, of the role that owns the schema and runs migrations (README "PostgreSQL roles"). When
   * set, `databaseUrl` is the application role's, which cannot change or remove audit records.
   */
  databaseMigratorUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .transform((v) => new Secret(v))
    .optional(),
  /** The URL clients use to reach the gateway, when it differs from http://host:port (a TLS proxy in front). */
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * Upstream OAuth per user: the https URL at which the gateway's client ID metadata document (served at
   * /auth/upstream/client-metadata.json) is published, used as the gateway's client_id with authorization servers
   * that accept such documents. Unset: configured clients or dynamic registration only.
   */
  upstreamOAuthClientMetadataUrl: z.url({ protocol: /^https$/ }).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Browser origins allowed to call /mcp. Loopback origins are always allowed while bound to loopback. */
  allowedOrigins: z.array(z.string().min(1)).default([]),
  /** Host header values accepted besides loopback names (DNS rebinding protection). */
  allowedHosts: z.array(z.string().min(1)).default([]),
  /**
   * Reverse proxies (CIDRs or addresses) whose `X-Forwarded-For` is believed. Empty: the header is ignored and the
   * peer address is the client's.
   */
  trustedProxies: z.array(z.string().refine((c) => normalizeCidr(c) !== undefined, 'each entry must be a CIDR or an IP address')).default([]),
  /** Base64 of 32 bytes; when absent the key lives in `<dataDir>/master.key` (created 0600 on first start). */
  masterKey: z
    .string()
    .min(1)
    .transform((v) => new Secret(v))
    .optional(),
  /**
   * Who holds the key-encryption key that wraps every organisation's data key (src/vault): `local` derives it from
   * the master key; `pkcs11` keeps it on a PKCS#11 token (an HSM, SoftHSM2), where wrapping and unwrapping happen.
   */
  vaultProvider: z.enum(['local', 'pkcs11']).default('local'),
  pkcs11Library: z.string().min(1).optional(),
  pkcs11TokenLabel: z.string().min(1).max(32).optional(),
  pkcs11Pin: z
    .string()
    .min(1)
    .transform((v) => new Secret(v))
    .optional(),
  pkcs11KeyLabel: z.string().min(1).max(64).default('gatehouse-kek'),
  /** Unwrapped data keys are kept in memory this long (and at most this many), so the provider is not asked per call. */
  vaultKeyCacheSeconds: z.coerce.number().int().min(1).max(24 * 3600).default(300),
  vaultKeyCacheSize: z.coerce.number().int().min(1).max(100_000).default(1000),
  maxBodyBytes: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
  maxJsonDepth: z.coerce.number().int().min(8).max(1024).default(64),
  sessionIdleSeconds: z.coerce.number().int().min(10).max(7 * 24 * 3600).default(1800),
  /** Open MCP sessions one key may hold on one replica. */
  maxSessionsPerKey: z.coerce.number().int().min(1).max(100_000).default(100),
  /**
   * What one key, and one organisation, may hold open on one replica (traffic/quotas.ts): sessions (per key: the
   * setting above), long-lived SSE streams, the upstream connections sessions open of their own, and among those
   * the stdio processes.
   */
  maxSessionsPerOrg: z.coerce.number().int().min(1).max(1_000_000).default(2000),
  maxStreamsPerKey: z.coerce.number().int().min(1).max(100_000).default(100),
  maxStreamsPerOrg: z.coerce.number().int().min(1).max(1_000_000).default(2000),
  maxSessionUpstreamsPerKey: z.coerce.number().int().min(0).max(100_000).default(100),
  maxSessionUpstreamsPerOrg: z.coerce.number().int().min(0).max(1_000_000).default(1000),
  maxProcessesPerKey: z.coerce.number().int().min(0).max(10_000).default(32),
  maxProcessesPerOrg: z.coerce.number().int().min(0).max(100_000).default(128),
  /** A session's own upstream connections (opened for sampling, elicitation, roots, logging, subscriptions) close after this long unused. */
  sessionUpstreamIdleSeconds: z.coerce.number().int().min(5).max(24 * 3600).default(300),
  upstreamTimeoutMs: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /**
   * Upstream resilience defaults (gateway/upstream/resilience.ts), each overridable per connector: the hard maximum of
   * one call (progress does not extend it), calls in flight per connector and replica, and the circuit breaker.
   */
  upstreamMaxCallMs: z.coerce.number().int().min(100).max(24 * 3_600_000).default(600_000),
  upstreamMaxConcurrent: z.coerce.number().int().min(1).max(100_000).default(256),
  upstreamBreakerFailures: z.coerce.number().int().min(1).max(1000).default(5),
  upstreamBreakerOpenMs: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  upstreamConnectTimeoutMs: z.coerce.number().int().min(100).max(300_000).default(10_000),
  /** How long a call that needs human approval waits for it: a pending approval's lifetime, or the person asked in the session. */
  approvalTtlSeconds: z.coerce.number().int().min(10).max(7 * 24 * 3600).default(900),
  /** How long the answer to a request with an idempotency key is kept for its retries (default 24 h). */
  idempotencyRetentionSeconds: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600),
  /** How often a running server looks for API keys that have fallen due for rotation (and audits each once). */
  keyRotationCheckSeconds: z.coerce.number().int().min(1).max(24 * 3600).default(3600),
  /** How often a running server looks for connector changes made by the CLI or another replica. */
  connectorPollMs: z.coerce.number().int().min(50).max(60_000).default(1000),
  /**
   * Rate limits (`<n>/<s|m|h>[,burst=<n>]`, or `off`): every request from one client address, whatever it is for
   * (MCP, admin API, SCIM, sign-in; not /healthz or /readyz).
   */
  rateLimitAddress: limitSetting.default('6000/m,burst=600'),
  /** Per address, much stricter: authentication failures anywhere, and every request to /auth (sign-in). */
  rateLimitAuth: limitSetting.default('10/s,burst=30'),
  /** Per API key or token whose organisation assigned it no tier. */
  rateLimitKey: limitSetting.default('off'),
  /** A flood of refusals writes the first per limit and subject in this window, then one record counting the rest. */
  rateLimitAuditWindowMs: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /**
   * Egress (src/egress): connector endpoints, OAuth/OIDC discovery and JWKS fetches must be https:// to public
   * addresses. These switches are the operator's, for upstreams on a private network or loopback.
   */
  allowPlainHttpUpstreams: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .or(z.boolean())
    .default(false),
  egressAllowCidrs: z.array(z.string().refine((c) => normalizeCidr(c) !== undefined, 'each entry must be a CIDR or an IP address')).default([]),
  /**
   * Where stdio connectors run: `auto` in bubblewrap when it works on this host (else unsandboxed, with a warning),
   * `bwrap` only there (a connector does not start without it), `off` never (src/sandbox/sandbox.ts).
   */
  stdioSandbox: z.enum(['auto', 'bwrap', 'off']).default('auto'),
  /** Per stdio process: address space in MiB (Node needs about 2 GiB to start), CPU seconds over its life, open files; 0: no limit. */
  stdioMemoryMb: z.coerce.number().int().min(0).max(1024 * 1024).default(4096),
  stdioCpuSeconds: z.coerce.number().int().min(0).max(365 * 24 * 3600).default(0),
  stdioMaxFiles: z.coerce.number().int().min(16).max(1_048_576).default(1024),
  /** Addresses and ranges refused outright, before authentication, on every endpoint but /healthz and /readyz. */
  denyCidrs: z.array(z.string().refine((c) => normalizeCidr(c) !== undefined, 'each entry must be a CIDR or an IP address')).default([]),
  /** A guardrail's time budget per call; one that takes longer (or throws) refuses the call. */
  guardrailTimeoutMs: z.coerce.number().int().min(1).max(60_000).default(3000),
  /**
   * SIEM sinks (gateway/audit/sinks): every audit record is streamed, after it is committed, to each one configured.
   * Syslog: RFC 5424 over TLS, `tls://host[:port]`, verified against the CA file (system CAs without one), with an
   * optional client certificate. Webhook: JSON batches signed with HMAC-SHA-256 under the secret. OTLP: OTLP/HTTP
   * JSON logs to a collector, with optional headers (`name=value,...`, e.g. its credentials). The secrets may be
   * written `@env:VAR` (read from that variable) so that a config file need not hold them.
   */
  siemSyslogUrl: z.string().min(1).optional(),
  siemSyslogCaFile: z.string().min(1).optional(),
  siemSyslogCertFile: z.string().min(1).optional(),
  siemSyslogKeyFile: z.string().min(1).optional(),
  /** How long a syslog connection must stay up after a batch was written for the batch to count as delivered. */
  siemSyslogSettleMs: z.coerce.number().int().min(0).max(60_000).default(200),
  siemWebhookUrl: z.string().min(1).optional(),
  siemWebhookSecret: z
    .string()
    .min(32, 'must be at least 32 characters')
    .transform((v) => new Secret(v))
    .optional(),
  siemOtlpUrl: z.string().min(1).optional(),
  siemOtlpHeaders: z
    .string()
    .min(1)
    .transform((v) => new Secret(v))
    .optional(),
  siemBatchSize: z.coerce.number().int().min(1).max(10_000).default(200),
  siemPollMs: z.coerce.number().int().min(50).max(60_000).default(1000),
  siemRetryMaxMs: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /**
   * TLS termination in the gateway: PEM files of the certificate (chain) and its private key, both or neither.
   * Re-read on SIGHUP, so a renewed certificate needs no restart.
   */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** The oldest TLS version accepted: 1.3 unless the operator chooses 1.2 for older clients. */
  tlsMinVersion: z.enum(['TLSv1.3', 'TLSv1.2']).default('TLSv1.3'),
  /** Sign each audit chain's head every this many records (0: no checkpoints) ... */
  auditCheckpointEvery: z.coerce.number().int().min(0).max(1_000_000).default(DEFAULT_AUDIT_CHECKPOINT_EVERY),
  /** ... or at most this long after a record, whichever comes first. */
  auditCheckpointSeconds: z.coerce.number().int().min(1).max(24 * 3600).default(10),
  /** Each checkpoint is also appended to this file (JSON lines): the anchor outside the database. */
  auditAnchorFile: z.string().min(1).optional(),
  /**
   * `/metrics` (Prometheus) answers a scraper that sends this bearer token (compared in constant time), or one whose
   * address is in `metricsAllowCidrs`; with neither set it is refused to everyone.
   */
  metricsToken: z
    .string()
    .min(32, 'must be at least 32 characters')
    .transform((v) => new Secret(v))
    .optional(),
  metricsAllowCidrs: z.array(z.string().refine((c) => normalizeCidr(c) !== undefined, 'each entry must be a CIDR or an IP address')).default([]),
  /**
   * OpenTelemetry traces: the OTLP/HTTP traces URL of a collector (e.g. `https://otel.example/v1/traces`); off when
   * absent. It is an outbound destination like any other and passes the egress checks (src/egress).
   */
  otlpEndpoint: z.string().min(1).max(2048).optional(),
  /** The `service.name` the spans carry. */
  otlpServiceName: z.string().min(1).max(128).default('gatehouse'),
}).refine((c) => c.siemWebhookUrl === undefined || c.siemWebhookSecret !== undefined, {
  path: ['siemWebhookSecret'],
  message: 'GATEHOUSE_SIEM_WEBHOOK_SECRET is required with GATEHOUSE_SIEM_WEBHOOK_URL (the receiver checks the signature)',
}).refine((c) => (c.tlsCert === undefined) === (c.tlsKey === undefined), { message: 'GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY go together', path: ['tlsCert'] });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = Readonly<z.output<typeof configSchema>>;
