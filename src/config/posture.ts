import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isLoopbackHost } from './loopback.ts';
import type { Config } from './schema.ts';
import { masterKeyWeakness, secretWeakness } from './secret-strength.ts';

export type PostureStatus = 'pass' | 'warn' | 'fail';

/** One finding about how the gateway is set up: what was checked, the verdict, the setting, and what to change. */
export interface PostureCheck {
  readonly id: string;
  readonly status: PostureStatus;
  /** The environment variable (or command) the finding is about, so the message names what to change. */
  readonly setting: string;
  readonly message: string;
  /** What to do about a warn or a fail. */
  readonly fix?: string;
}

/** A database password shorter than this is refused in production (a generated one is 24 or more). */
const MIN_DATABASE_PASSWORD = 12;
/** A certificate expiring sooner than this is worth a warning. */
const CERT_WARN_DAYS = 14;

/**
 * The posture of a configuration, check by check. What production requires is a fail there and a warning in
 * development (where the key file, loopback and debug logs are the point); a wildcard origin fails in both.
 * Reads the TLS files it is given, nothing else.
 */
export function postureChecks(config: Config): PostureCheck[] {
  const production = config.env === 'production';
  const required: PostureStatus = production ? 'fail' : 'warn';
  const checks: PostureCheck[] = [];
  const add = (c: PostureCheck) => checks.push(c);

  if (config.masterKey === undefined) {
    add(
      production
        ? {
            id: 'master-key',
            status: 'fail',
            setting: 'GATEHOUSE_MASTER_KEY',
            message: 'GATEHOUSE_MASTER_KEY is not set; the key file in the data directory is for one machine in development',
            fix: 'set GATEHOUSE_MASTER_KEY to the output of: openssl rand -base64 32',
          }
        : { id: 'master-key', status: 'pass', setting: 'GATEHOUSE_MASTER_KEY', message: 'the master key is the key file in the data directory (development)' },
    );
  } else {
    const weakness = masterKeyWeakness(config.masterKey.reveal());
    add(
      weakness === undefined
        ? { id: 'master-key', status: 'pass', setting: 'GATEHOUSE_MASTER_KEY', message: 'the master key is 32 random-looking bytes' }
        : { id: 'master-key', status: required, setting: 'GATEHOUSE_MASTER_KEY', message: `GATEHOUSE_MASTER_KEY ${weakness}`, fix: 'generate one with: openssl rand -base64 32' },
    );
  }

  if (config.databaseUrl !== undefined) {
    const password = databasePassword(config.databaseUrl.reveal());
    const weakness = password === undefined ? undefined : secretWeakness(password, MIN_DATABASE_PASSWORD);
    add(
      weakness === undefined
        ? {
            id: 'database-password',
            status: 'pass',
            setting: 'GATEHOUSE_DATABASE_URL',
            message: password === undefined ? 'the database URL carries no password (peer, certificate or PGPASSWORD authentication)' : 'the database password looks generated',
          }
        : {
            id: 'database-password',
            status: required,
            setting: 'GATEHOUSE_DATABASE_URL',
            message: `the password in GATEHOUSE_DATABASE_URL ${weakness}`,
            fix: `give the database role a generated password of ${MIN_DATABASE_PASSWORD} or more characters (openssl rand -base64 24)`,
          },
    );
  }

  const tls = config.tlsCert !== undefined && config.tlsKey !== undefined;
  if (isLoopbackHost(config.host)) {
    add({ id: 'bind', status: 'pass', setting: 'GATEHOUSE_HOST', message: `bound to loopback (${config.host}): only this machine can connect` });
  } else if (tls) {
    add({ id: 'bind', status: 'pass', setting: 'GATEHOUSE_HOST', message: `bound to ${config.host} with TLS terminated by the gateway` });
  } else if (config.trustedProxies.length > 0) {
    add(
      config.publicUrl?.startsWith('https://') === true
        ? { id: 'bind', status: 'pass', setting: 'GATEHOUSE_HOST', message: `bound to ${config.host} behind trusted proxies that terminate TLS (${config.publicUrl})` }
        : {
            id: 'bind',
            status: 'warn',
            setting: 'GATEHOUSE_PUBLIC_URL',
            message: `bound to ${config.host} behind trusted proxies, but GATEHOUSE_PUBLIC_URL is not an https:// URL`,
            fix: 'set GATEHOUSE_PUBLIC_URL to the https:// URL the proxy serves, so issued tokens and metadata name it',
          },
    );
  } else {
    add({
      id: 'bind',
      status: required,
      setting: 'GATEHOUSE_HOST',
      message: `GATEHOUSE_HOST=${config.host} is not loopback, and neither GATEHOUSE_TLS_CERT/GATEHOUSE_TLS_KEY nor GATEHOUSE_TRUSTED_PROXIES is set: keys would cross the network in clear text`,
      fix: 'set GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY, or declare the TLS-terminating proxy in GATEHOUSE_TRUSTED_PROXIES, or bind to 127.0.0.1',
    });
  }
  if (production && config.publicUrl?.startsWith('http://') === true) {
    add({ id: 'public-url', status: 'fail', setting: 'GATEHOUSE_PUBLIC_URL', message: 'GATEHOUSE_PUBLIC_URL is plain http:// in production', fix: 'use the https:// URL clients reach' });
  }
  if (tls) checks.push(...tlsChecks(config.tlsCert ?? '', config.tlsKey ?? '', config.tlsMinVersion));

  add(
    (config.logLevel === 'debug' || config.logLevel === 'trace') && production
      ? { id: 'log-level', status: 'fail', setting: 'GATEHOUSE_LOG_LEVEL', message: `GATEHOUSE_LOG_LEVEL=${config.logLevel} is refused in production`, fix: 'use info (the default) or warn' }
      : { id: 'log-level', status: 'pass', setting: 'GATEHOUSE_LOG_LEVEL', message: `log level ${config.logLevel}` },
  );
  add(
    config.allowedOrigins.includes('*')
      ? { id: 'allowed-origins', status: 'fail', setting: 'GATEHOUSE_ALLOWED_ORIGINS', message: 'GATEHOUSE_ALLOWED_ORIGINS must not contain "*"', fix: 'list the browser origins that may call the gateway' }
      : { id: 'allowed-origins', status: 'pass', setting: 'GATEHOUSE_ALLOWED_ORIGINS', message: `${config.allowedOrigins.length} browser origin(s) allowed besides the public URL` },
  );
  if (production && (config.allowPlainHttpUpstreams || config.egressAllowCidrs.length > 0)) {
    add({
      id: 'egress',
      status: 'warn',
      setting: config.allowPlainHttpUpstreams ? 'GATEHOUSE_ALLOW_PLAIN_HTTP_UPSTREAMS' : 'GATEHOUSE_EGRESS_ALLOW_CIDRS',
      message: 'egress allowances are on in production (plain http upstreams or private ranges)',
      fix: 'keep them to the upstreams that need them',
    });
  }
  return checks;
}

function tlsChecks(certPath: string, keyPath: string, minVersion: Config['tlsMinVersion']): PostureCheck[] {
  const checks: PostureCheck[] = [];
  try {
    const cert = new X509Certificate(readFileSync(certPath));
    const daysLeft = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    checks.push(
      daysLeft <= 0
        ? { id: 'tls-cert', status: 'fail', setting: 'GATEHOUSE_TLS_CERT', message: `the certificate in ${certPath} expired on ${cert.validTo}`, fix: 'renew it, then send the gateway SIGHUP' }
        : daysLeft < CERT_WARN_DAYS
          ? { id: 'tls-cert', status: 'warn', setting: 'GATEHOUSE_TLS_CERT', message: `the certificate expires in ${Math.floor(daysLeft)} day(s)`, fix: 'renew it, then send the gateway SIGHUP' }
          : { id: 'tls-cert', status: 'pass', setting: 'GATEHOUSE_TLS_CERT', message: `certificate for ${cert.subject.replace(/\n/g, ', ')}, valid until ${cert.validTo}` },
    );
  } catch {
    checks.push({ id: 'tls-cert', status: 'fail', setting: 'GATEHOUSE_TLS_CERT', message: `${certPath} cannot be read as a PEM certificate`, fix: 'point GATEHOUSE_TLS_CERT at a PEM file' });
  }
  try {
    const mode = statSync(keyPath).mode & 0o077;
    checks.push(
      mode === 0
        ? { id: 'tls-key', status: 'pass', setting: 'GATEHOUSE_TLS_KEY', message: 'the private key file is readable by its owner only' }
        : { id: 'tls-key', status: 'fail', setting: 'GATEHOUSE_TLS_KEY', message: `${keyPath} is readable by group or others`, fix: `chmod 600 ${keyPath}` },
    );
  } catch {
    checks.push({ id: 'tls-key', status: 'fail', setting: 'GATEHOUSE_TLS_KEY', message: `${keyPath} cannot be read`, fix: 'point GATEHOUSE_TLS_KEY at the PEM private key' });
  }
  checks.push(
    minVersion === 'TLSv1.2'
      ? { id: 'tls-version', status: 'warn', setting: 'GATEHOUSE_TLS_MIN_VERSION', message: 'TLS 1.2 is accepted besides 1.3', fix: 'unset GATEHOUSE_TLS_MIN_VERSION once no client needs 1.2' }
      : { id: 'tls-version', status: 'pass', setting: 'GATEHOUSE_TLS_MIN_VERSION', message: 'TLS 1.3 only' },
  );
  return checks;
}

function databasePassword(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password === '' ? undefined : password;
  } catch {
    return undefined;
  }
}

/** One line per finding that is not a pass: what serve logs (development) or refuses to start on (production). */
export function describeCheck(c: PostureCheck): string {
  const what = c.message.includes(c.setting) ? c.message : `${c.setting}: ${c.message}`;
  return c.fix === undefined ? what : `${what} (${c.fix})`;
}

/**
 * The findings that are not passes, as lines. Production refuses to start on any of them that fails (see
 * `postureChecks` for which do); development logs them.
 */
export function checkPosture(config: Config): string[] {
  return postureChecks(config)
    .filter((c) => c.status !== 'pass')
    .map(describeCheck);
}
