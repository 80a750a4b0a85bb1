import { readFileSync, statSync } from 'node:fs';
import * as z from 'zod';
import { GatehouseError } from '../errors.ts';
import { configSchema, type Config } from './schema.ts';

const ENV_KEYS: Readonly<Record<string, keyof Config>> = {
  GATEHOUSE_ENV: 'env',
  GATEHOUSE_HOST: 'host',
  GATEHOUSE_PORT: 'port',
  GATEHOUSE_DATA_DIR: 'dataDir',
  GATEHOUSE_DATABASE_URL: 'databaseUrl',
  GATEHOUSE_DATABASE_MIGRATOR_URL: 'databaseMigratorUrl',
  GATEHOUSE_PUBLIC_URL: 'publicUrl',
  GATEHOUSE_UPSTREAM_OAUTH_CLIENT_METADATA_URL: 'upstreamOAuthClientMetadataUrl',
  GATEHOUSE_LOG_LEVEL: 'logLevel',
  GATEHOUSE_ALLOWED_ORIGINS: 'allowedOrigins',
  GATEHOUSE_ALLOWED_HOSTS: 'allowedHosts',
  GATEHOUSE_TRUSTED_PROXIES: 'trustedProxies',
  GATEHOUSE_MASTER_KEY: 'masterKey',
  GATEHOUSE_VAULT_PROVIDER: 'vaultProvider',
  GATEHOUSE_PKCS11_LIBRARY: 'pkcs11Library',
  GATEHOUSE_PKCS11_TOKEN_LABEL: 'pkcs11TokenLabel',
  GATEHOUSE_PKCS11_PIN: 'pkcs11Pin',
  GATEHOUSE_PKCS11_KEY_LABEL: 'pkcs11KeyLabel',
  GATEHOUSE_VAULT_KEY_CACHE_SECONDS: 'vaultKeyCacheSeconds',
  GATEHOUSE_VAULT_KEY_CACHE_SIZE: 'vaultKeyCacheSize',
  GATEHOUSE_MAX_BODY_BYTES: 'maxBodyBytes',
  GATEHOUSE_MAX_JSON_DEPTH: 'maxJsonDepth',
  GATEHOUSE_SESSION_IDLE_SECONDS: 'sessionIdleSeconds',
  GATEHOUSE_MAX_SESSIONS_PER_KEY: 'maxSessionsPerKey',
  GATEHOUSE_MAX_SESSIONS_PER_ORG: 'maxSessionsPerOrg',
  GATEHOUSE_APPROVAL_TTL_SECONDS: 'approvalTtlSeconds',
  GATEHOUSE_MAX_STREAMS_PER_KEY: 'maxStreamsPerKey',
  GATEHOUSE_MAX_STREAMS_PER_ORG: 'maxStreamsPerOrg',
  GATEHOUSE_MAX_SESSION_UPSTREAMS_PER_KEY: 'maxSessionUpstreamsPerKey',
  GATEHOUSE_MAX_SESSION_UPSTREAMS_PER_ORG: 'maxSessionUpstreamsPerOrg',
  GATEHOUSE_MAX_PROCESSES_PER_KEY: 'maxProcessesPerKey',
  GATEHOUSE_MAX_PROCESSES_PER_ORG: 'maxProcessesPerOrg',
  GATEHOUSE_IDEMPOTENCY_RETENTION_SECONDS: 'idempotencyRetentionSeconds',
  GATEHOUSE_KEY_ROTATION_CHECK_SECONDS: 'keyRotationCheckSeconds',
  GATEHOUSE_SESSION_UPSTREAM_IDLE_SECONDS: 'sessionUpstreamIdleSeconds',
  GATEHOUSE_UPSTREAM_TIMEOUT_MS: 'upstreamTimeoutMs',
  GATEHOUSE_UPSTREAM_MAX_CALL_MS: 'upstreamMaxCallMs',
  GATEHOUSE_UPSTREAM_MAX_CONCURRENT: 'upstreamMaxConcurrent',
  GATEHOUSE_UPSTREAM_BREAKER_FAILURES: 'upstreamBreakerFailures',
  GATEHOUSE_UPSTREAM_BREAKER_OPEN_MS: 'upstreamBreakerOpenMs',
  GATEHOUSE_UPSTREAM_CONNECT_TIMEOUT_MS: 'upstreamConnectTimeoutMs',
  GATEHOUSE_CONNECTOR_POLL_MS: 'connectorPollMs',
  GATEHOUSE_RATE_LIMIT_ADDRESS: 'rateLimitAddress',
  GATEHOUSE_RATE_LIMIT_AUTH: 'rateLimitAuth',
  GATEHOUSE_RATE_LIMIT_KEY: 'rateLimitKey',
  GATEHOUSE_RATE_LIMIT_AUDIT_WINDOW_MS: 'rateLimitAuditWindowMs',
  GATEHOUSE_DENY_CIDRS: 'denyCidrs',
  GATEHOUSE_GUARDRAIL_TIMEOUT_MS: 'guardrailTimeoutMs',
  GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS: 'allowPlainHttpUpstreams',
  GATEHOUSE_EGRESS_ALLOW_CIDRS: 'egressAllowCidrs',
  GATEHOUSE_STDIO_SANDBOX: 'stdioSandbox',
  GATEHOUSE_STDIO_MEMORY_MB: 'stdioMemoryMb',
  GATEHOUSE_STDIO_CPU_SECONDS: 'stdioCpuSeconds',
  GATEHOUSE_STDIO_MAX_FILES: 'stdioMaxFiles',
  GATEHOUSE_SIEM_SYSLOG_URL: 'siemSyslogUrl',
  GATEHOUSE_SIEM_SYSLOG_CA_FILE: 'siemSyslogCaFile',
  GATEHOUSE_SIEM_SYSLOG_CERT_FILE: 'siemSyslogCertFile',
  GATEHOUSE_SIEM_SYSLOG_KEY_FILE: 'siemSyslogKeyFile',
  GATEHOUSE_SIEM_SYSLOG_SETTLE_MS: 'siemSyslogSettleMs',
  GATEHOUSE_SIEM_WEBHOOK_URL: 'siemWebhookUrl',
  GATEHOUSE_SIEM_WEBHOOK_SECRET: 'siemWebhookSecret',
  GATEHOUSE_SIEM_OTLP_URL: 'siemOtlpUrl',
  GATEHOUSE_SIEM_OTLP_HEADERS: 'siemOtlpHeaders',
  GATEHOUSE_SIEM_BATCH_SIZE: 'siemBatchSize',
  GATEHOUSE_SIEM_POLL_MS: 'siemPollMs',
  GATEHOUSE_SIEM_RETRY_MAX_MS: 'siemRetryMaxMs',
  GATEHOUSE_TLS_CERT: 'tlsCert',
  GATEHOUSE_TLS_KEY: 'tlsKey',
  GATEHOUSE_TLS_MIN_VERSION: 'tlsMinVersion',
  GATEHOUSE_AUDIT_CHECKPOINT_EVERY: 'auditCheckpointEvery',
  GATEHOUSE_AUDIT_CHECKPOINT_SECONDS: 'auditCheckpointSeconds',
  GATEHOUSE_AUDIT_ANCHOR_FILE: 'auditAnchorFile',
  GATEHOUSE_METRICS_TOKEN: 'metricsToken',
  GATEHOUSE_METRICS_ALLOW_CIDRS: 'metricsAllowCidrs',
  GATEHOUSE_OTLP_ENDPOINT: 'otlpEndpoint',
  GATEHOUSE_OTLP_SERVICE_NAME: 'otlpServiceName',
};

/** The environment variable of each setting, for messages that must name what to change. */
export const SETTING_ENV: Readonly<Partial<Record<keyof Config, string>>> = Object.fromEntries(Object.entries(ENV_KEYS).map(([name, key]) => [key, name]));
const LIST_KEYS = new Set<keyof Config>(['allowedOrigins', 'allowedHosts', 'trustedProxies', 'denyCidrs', 'egressAllowCidrs', 'metricsAllowCidrs']);
const SECRET_KEYS = new Set<keyof Config>(['masterKey', 'databaseUrl', 'pkcs11Pin', 'databaseMigratorUrl', 'metricsToken', 'siemWebhookSecret', 'siemOtlpHeaders']);
/** Secrets that may be written `@env:VAR`: the value is read from that variable (a config file then holds none). */
const ENV_REFERENCE_KEYS = new Set<keyof Config>(['siemWebhookSecret', 'siemOtlpHeaders']);

/** Reads the optional config file and the environment, validates once, and freezes the result. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  const file = env.GATEHOUSE_CONFIG;
  if (file !== undefined && file !== '') Object.assign(raw, resolveEnvReferences(readConfigFile(file), env, file));
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    raw[key] = LIST_KEYS.has(key)
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : value;
  }
  for (const key of ENV_REFERENCE_KEYS) {
    const value = raw[key];
    if (typeof value !== 'string' || !value.startsWith('@env:')) continue;
    const name = value.slice('@env:'.length);
    const referenced = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? env[name] : undefined;
    if (referenced === undefined || referenced === '') throw new GatehouseError('config_invalid', `Invalid configuration: ${key}: the variable it names (${name}) is not set`);
    raw[key] = referenced;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    // Name the offending settings but never echo a value: some of them are secrets.
    const problems = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      // A custom issue is one of the schema's own fixed sentences (a setting missing beside another), never a value.
      return SECRET_KEYS.has(key as keyof Config) && i.code !== 'custom' ? `${key}: invalid` : `${i.path.join('.')}: ${i.message}`;
    });
    throw new GatehouseError('config_invalid', `Invalid configuration: ${problems.join('; ')}`);
  }
  const { allowedOrigins, allowedHosts, trustedProxies, denyCidrs, egressAllowCidrs, metricsAllowCidrs } = parsed.data;
  return Object.freeze({
    ...parsed.data,
    allowedOrigins: Object.freeze([...allowedOrigins]),
    allowedHosts: Object.freeze([...allowedHosts]),
    trustedProxies: Object.freeze([...trustedProxies]),
    denyCidrs: Object.freeze([...denyCidrs]),
    egressAllowCidrs: Object.freeze([...egressAllowCidrs]),
    metricsAllowCidrs: Object.freeze([...metricsAllowCidrs]),
  }) as Config;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GatehouseError('config_invalid', `Cannot read config file ${path}`, { cause: err });
  }
  const mode = statSync(path).mode & 0o077;
  const parsed = z.record(z.string(), z.unknown()).safeParse(safeJson(text));
  if (!parsed.success) throw new GatehouseError('config_invalid', `Config file ${path} is not a JSON object`);
  const literalSecret = [...SECRET_KEYS].some((k) => typeof parsed.data[k] === 'string' && !parsed.data[k].startsWith(ENV_REFERENCE));
  if (mode !== 0 && literalSecret) {
    throw new GatehouseError('config_invalid', `Config file ${path} holds a secret and must not be readable by group or others (chmod 600)`);
  }
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A config file value `@env:NAME` is the environment variable NAME, so the file can stay in version control while
 * its secrets do not. A reference to a variable that is unset or empty is refused, naming the setting: an empty
 * secret is never what was meant.
 */
function resolveEnvReferences(doc: Record<string, unknown>, env: NodeJS.ProcessEnv, file: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (typeof value === 'string' && value.startsWith(ENV_REFERENCE)) {
      const name = value.slice(ENV_REFERENCE.length);
      const resolved = env[name];
      if (resolved === undefined || resolved.trim() === '') {
        throw new GatehouseError('config_invalid', `Config file ${file}: ${key} refers to @env:${name}, which is ${resolved === undefined ? 'not set' : 'empty'}`);
      }
      out[key] = LIST_KEYS.has(key as keyof Config) ? resolved.split(',').map((s) => s.trim()).filter(Boolean) : resolved;
    } else out[key] = value;
  }
  return out;
}
const ENV_REFERENCE = '@env:';

export { isLoopbackHost } from './loopback.ts';
export { checkPosture } from './posture.ts';
