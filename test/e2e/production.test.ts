// The production profile and TLS termination against real gateway processes: GATEHOUSE_ENV=production refuses to
// start, before listening and naming the setting, on weak secrets (the master key, an organisation's stored OIDC
// client secret), a non-loopback bind without TLS or a trusted proxy, and debug logs; a sound production
// configuration starts with TLS 1.3 only, reloads its certificate on SIGHUP and keeps the old one when the new files
// are broken; TLS 1.2 is accepted only when chosen.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type SecureVersion } from 'node:tls';
import { CLI, freePort, NODE, ROOT, startGateway, stop, waitFor, type Gateway } from './harness.ts';

const MAIN = join(ROOT, 'src/main.ts');

/** A fresh self-signed certificate for 127.0.0.1 and localhost, written as PEM files (key 0600). */
function makeCertificate(dir: string, name: string): { cert: string; key: string; fingerprint: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert],
    { stdio: 'ignore', timeout: 30_000 },
  );
  chmodSync(key, 0o600);
  return { cert, key, fingerprint: new X509Certificate(readFileSync(cert)).fingerprint256 };
}

/** The certificate the server presents, or the handshake's error code, for a client limited to the given versions. */
function handshake(port: number, ca: string, maxVersion: SecureVersion = 'TLSv1.3'): Promise<{ fingerprint?: string; protocol?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(ca), servername: 'localhost', minVersion: 'TLSv1.2', maxVersion, timeout: 10_000 }, () => {
      const result = { fingerprint: socket.getPeerCertificate().fingerprint256, protocol: socket.getProtocol() ?? undefined };
      socket.end();
      resolve(result);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      resolve({ error: e.code ?? e.message });
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve({ error: 'timeout' });
    });
  });
}

function httpsGet(url: string, ca: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(ca), timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `npm start`'s entry to its end (a refusal), bounded in time. */
function runMain(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('production profile', () => {
  let dir: string;
  const strongKey = randomBytes(32).toString('base64');

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-prod-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('refuses to start on weak secrets and settings, naming each, and never listens', async () => {
    const port = await freePort();
    const base = { GATEHOUSE_ENV: 'production', GATEHOUSE_DATA_DIR: join(dir, 'refused'), GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: '127.0.0.1' };
    const cases: [string, Record<string, string>, RegExp][] = [
      ['no master key', {}, /GATEHOUSE_MASTER_KEY is not set/],
      ['empty master key', { GATEHOUSE_MASTER_KEY: '' }, /GATEHOUSE_MASTER_KEY is not set/],
      ['short master key', { GATEHOUSE_MASTER_KEY: randomBytes(16).toString('base64') }, /GATEHOUSE_MASTER_KEY is too short/],
      ['patterned master key', { GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 1).toString('base64') }, /GATEHOUSE_MASTER_KEY (is a well-known default|has too little entropy)/],
      ['debug logs', { GATEHOUSE_MASTER_KEY: strongKey, GATEHOUSE_LOG_LEVEL: 'debug' }, /GATEHOUSE_LOG_LEVEL=debug is refused in production/],
      ['open bind without TLS', { GATEHOUSE_MASTER_KEY: strongKey, GATEHOUSE_HOST: '0.0.0.0' }, /GATEHOUSE_HOST=0\.0\.0\.0 is not loopback.*GATEHOUSE_TLS_CERT/],
      ['weak database password', { GATEHOUSE_MASTER_KEY: strongKey, GATEHOUSE_DATABASE_URL: 'postgres://gatehouse:changeme@127.0.0.1:1/x' }, /password in GATEHOUSE_DATABASE_URL is a well-known default/],
    ];
    for (const [what, env, expected] of cases) {
      const run = await runMain({ ...base, ...env });
      assert.equal(run.code, 1, `${what}: ${run.stderr}`);
      assert.match(run.stderr, /refusing to start/, what);
      assert.match(run.stderr, expected, what);
      assert.ok(!run.stdout.includes('gatehouse listening'), `${what}: it listened`);
      for (const value of Object.values(env)) if (value.length > 8) assert.ok(!run.stderr.includes(value), `${what}: a value was echoed`);
    }
  });

  test('an organisation’s weak OIDC client secret in the store refuses production too', async () => {
    const dataDir = join(dir, 'oidc');
    const env = { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_MASTER_KEY: strongKey, GATEHOUSE_LOG_LEVEL: 'warn', WEAK_SECRET: 'hunter2' };
    const cli = (args: string[], extra: Record<string, string> = {}) =>
      new Promise<Run>((resolve, reject) => {
        const child = spawn(NODE, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => {
          resolve({ code, stdout, stderr });
        });
      });
    const signIn = ['orgs', 'sign-in', 'default', '--oidc-issuer', 'http://127.0.0.1:9/idp', '--oidc-client-id', 'gatehouse', '--oidc-client-secret-env', 'WEAK_SECRET'];
    // In production the weak secret is refused when it is set, where it can be fixed.
    const refused = await cli(signIn, { GATEHOUSE_ENV: 'production' });
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /The OIDC client secret is too short/);
    // Set in development (or before this check existed), it refuses the production start.
    const set = await cli(signIn);
    assert.equal(set.code, 0, set.stderr);
    const port = await freePort();
    const run = await runMain({ ...env, GATEHOUSE_ENV: 'production', GATEHOUSE_PORT: String(port) });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /refusing to start: gatehouse orgs sign-in default --oidc-client-secret-env VAR: organisation default: the OIDC client secret is too short/);
    assert.ok(!run.stderr.includes('hunter2') && !run.stdout.includes('hunter2'));
    assert.ok(!run.stdout.includes('gatehouse listening'));
  });
});

describe('TLS termination', () => {
  let dir: string;
  let first: ReturnType<typeof makeCertificate>;
  let gw: Gateway | undefined;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
    first = makeCertificate(dir, 'first');
  });
  after(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves https with TLS 1.3 only by default, and the security headers', async () => {
    gw = await startGateway({ GATEHOUSE_TLS_CERT: first.cert, GATEHOUSE_TLS_KEY: first.key });
    assert.match(gw.url, /^https:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const port = Number(new URL(gw.url).port);
    const ok = await handshake(port, first.cert);
    assert.equal(ok.protocol, 'TLSv1.3');
    assert.equal(ok.fingerprint, first.fingerprint);
    const old = await handshake(port, first.cert, 'TLSv1.2');
    assert.ok(old.error !== undefined, 'a TLS 1.2 client is refused by default');
    const health = await httpsGet(new URL('/healthz', gw.url).toString(), first.cert);
    assert.equal(health.status, 200);
    assert.equal(health.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    // Plain http on the TLS port gets nothing useful.
    const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.notEqual(plain, 200);
    await gw.close();
    gw = undefined;
  });

  test('accepts TLS 1.2 only when the operator chooses it', async () => {
    gw = await startGateway({ GATEHOUSE_TLS_CERT: first.cert, GATEHOUSE_TLS_KEY: first.key, GATEHOUSE_TLS_MIN_VERSION: 'TLSv1.2' });
    const tls12 = await handshake(Number(new URL(gw.url).port), first.cert, 'TLSv1.2');
    assert.equal(tls12.protocol, 'TLSv1.2');
    await gw.close();
    gw = undefined;
  });

  test('a mismatched certificate and key refuse to start, naming the settings', async () => {
    const other = makeCertificate(dir, 'other');
    await assert.rejects(startGateway({ GATEHOUSE_TLS_CERT: first.cert, GATEHOUSE_TLS_KEY: other.key }), /GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY do not form/);
  });

  test('a production gateway reloads its certificate on SIGHUP and keeps it when the new files are broken', async () => {
    const live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    writeFileSync(live.cert, readFileSync(first.cert));
    writeFileSync(live.key, readFileSync(first.key), { mode: 0o600 });
    const port = await freePort();
    const child: ChildProcess = spawn(NODE, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        GATEHOUSE_ENV: 'production',
        GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'),
        GATEHOUSE_DATA_DIR: join(dir, 'data'),
        GATEHOUSE_PORT: String(port),
        GATEHOUSE_TLS_CERT: live.cert,
        GATEHOUSE_TLS_KEY: live.key,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await waitFor(() => output.includes('gatehouse listening'), 30_000, `the gateway to listen: ${output.slice(0, 500)}`);
      assert.equal((await handshake(port, first.cert)).fingerprint, first.fingerprint);

      const second = makeCertificate(dir, 'second');
      writeFileSync(live.cert, readFileSync(second.cert));
      writeFileSync(live.key, readFileSync(second.key));
      child.kill('SIGHUP');
      await waitFor(() => output.includes('TLS certificate and key reloaded'), 10_000, 'the reload');
      assert.equal((await handshake(port, second.cert)).fingerprint, second.fingerprint);

      writeFileSync(live.key, 'not a key');
      child.kill('SIGHUP');
      await waitFor(() => output.includes('TLS reload refused'), 10_000, 'the refused reload');
      assert.equal((await handshake(port, second.cert)).fingerprint, second.fingerprint, 'the certificate in service stays');
      assert.equal(child.exitCode, null, 'still running');
    } finally {
      await stop(child);
    }
  });
});
