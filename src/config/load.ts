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
  GATEHOUSE_PUBLIC_URL: 'publicUrl',
  GATEHOUSE_LOG_LEVEL: 'logLevel',
  GATEHOUSE_ALLOWED_ORIGINS: 'allowedOrigins',
  GATEHOUSE_ALLOWED_HOSTS: 'allowedHosts',
  GATEHOUSE_TRUSTED_PROXIES: 'trustedProxies',
  GATEHOUSE_MASTER_KEY: 'masterKey',
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
  GATEHOUSE_SESSION_UPSTREAM_IDLE_SECONDS: 'sessionUpstreamIdleSeconds',
  GATEHOUSE_UPSTREAM_TIMEOUT_MS: 'upstreamTimeoutMs',
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
  GATEHOUSE_METRICS_TOKEN: 'metricsToken',
  GATEHOUSE_METRICS_ALLOW_CIDRS: 'metricsAllowCidrs',
  GATEHOUSE_OTLP_ENDPOINT: 'otlpEndpoint',
  GATEHOUSE_OTLP_SERVICE_NAME: 'otlpServiceName',
};
const LIST_KEYS = new Set<keyof Config>(['allowedOrigins', 'allowedHosts', 'trustedProxies', 'denyCidrs', 'egressAllowCidrs', 'metricsAllowCidrs']);
const SECRET_KEYS = new Set<keyof Config>(['masterKey', 'databaseUrl', 'metricsToken']);

/** Reads the optional config file and the environment, validates once, and freezes the result. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  const file = env.GATEHOUSE_CONFIG;
  if (file !== undefined && file !== '') Object.assign(raw, readConfigFile(file));
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
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    // Name the offending settings but never echo a value: some of them are secrets.
    const problems = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      return SECRET_KEYS.has(key as keyof Config) ? `${key}: invalid` : `${i.path.join('.')}: ${i.message}`;
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
  if (mode !== 0 && ('masterKey' in parsed.data || 'metricsToken' in parsed.data)) {
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

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Refuses to run production on weak settings. Development gets the same checks as warnings, returned to the
 * caller to log.
 */
export function checkPosture(config: Config): string[] {
  const problems: string[] = [];
  if (config.allowedOrigins.includes('*')) problems.push('allowedOrigins must not contain "*"');
  if (config.env === 'production') {
    if (config.masterKey === undefined) {
      problems.push('GATEHOUSE_MASTER_KEY must be set in production (the key file in the data directory is for one machine in development)');
    }
    if (!isLoopbackHost(config.host) && config.publicUrl?.startsWith('https://') !== true) {
      problems.push('a non-loopback bind address in production needs GATEHOUSE_PUBLIC_URL with https:// (terminate TLS in front of the gateway)');
    }
    if (config.logLevel === 'debug' || config.logLevel === 'trace') problems.push('debug/trace logging is refused in production');
  }
  return problems;
}
