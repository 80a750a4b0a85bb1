// Security headers, CORS, Host/Origin checks and refused methods, route family by route family, against a running
// gateway over real HTTP: every answer (successes, refusals, 404s, errors, the ones node:http writes itself) carries
// the headers; every endpoint but /healthz refuses a foreign Host or Origin; TRACE and TRACK are refused everywhere.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect as connectSocket } from 'node:net';
import { startGateway, type Gateway } from './harness.ts';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** What every answer must carry, written out here rather than imported: the test states the requirement. */
const REQUIRED: Readonly<Record<string, RegExp>> = {
  'content-security-policy': /frame-ancestors 'none'/,
  'strict-transport-security': /^max-age=31536000; includeSubDomains$/,
  'x-content-type-options': /^nosniff$/,
  'referrer-policy': /^no-referrer$/,
  'permissions-policy': /camera=\(\).*microphone=\(\).*geolocation=\(\).*payment=\(\)/,
  'cross-origin-resource-policy': /^same-origin$/,
  vary: /\bOrigin\b/,
};

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

/** One route of each family, with a request that reaches it (answered with success or a refusal: both count). */
const ROUTES: readonly { readonly name: string; readonly method: string; readonly path: string; readonly body?: unknown; readonly auth?: boolean }[] = [
  { name: 'mcp', method: 'POST', path: '/mcp', body: INIT, auth: true },
  { name: 'mcp unauthenticated', method: 'POST', path: '/mcp', body: INIT },
  { name: 'virtual server', method: 'POST', path: '/servers/nowhere/mcp', body: INIT, auth: true },
  { name: 'admin api', method: 'GET', path: '/api/v1/keys', auth: true },
  { name: 'admin api unauthenticated', method: 'GET', path: '/api/v1/keys' },
  { name: 'openapi', method: 'GET', path: '/api/v1/openapi.json' },
  { name: 'scim', method: 'GET', path: '/scim/v2/Users' },
  { name: 'auth', method: 'GET', path: '/auth/session' },
  { name: 'auth unknown', method: 'GET', path: '/auth/nothing-here' },
  { name: 'well-known', method: 'GET', path: '/.well-known/oauth-protected-resource' },
  { name: 'well-known of /mcp', method: 'GET', path: '/.well-known/oauth-protected-resource/mcp' },
  { name: 'readyz', method: 'GET', path: '/readyz' },
  { name: 'healthz', method: 'GET', path: '/healthz' },
  { name: '404', method: 'GET', path: '/no/such/route' },
  { name: 'method not allowed', method: 'PUT', path: '/readyz' },
  { name: 'bad json on /mcp', method: 'POST', path: '/mcp', body: '{"jsonrpc":', auth: true },
];

describe('security headers, CORS, Host/Origin and methods on every route', () => {
  let gw: Gateway;
  let port: number;
  const allowedOrigin = 'https://app.example.com';

  before(async () => {
    gw = await startGateway({ GATEHOUSE_ALLOWED_ORIGINS: allowedOrigin });
    port = Number(new URL(gw.url).port);
  });
  after(async () => {
    await gw.close();
  });

  function send(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: {
            host: `127.0.0.1:${port}`,
            accept: 'application/json, text/event-stream',
            ...(text === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
          },
          timeout: 10_000,
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (data += d));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(text);
    });
  }

  function assertSecurityHeaders(a: Answer, what: string): void {
    for (const [name, pattern] of Object.entries(REQUIRED)) {
      const value = a.headers[name];
      assert.ok(typeof value === 'string' && pattern.test(value), `${what} (${a.status}): ${name} is ${JSON.stringify(value)}`);
    }
  }

  const auth = (r: { auth?: boolean }): Record<string, string> => (r.auth === true ? { authorization: `Bearer ${gw.ownerKey}` } : {});

  test('every route family answers with the security headers, successes and errors alike', async () => {
    const statuses = new Set<number>();
    for (const r of ROUTES) {
      const a = await send(r.method, r.path, auth(r), r.body);
      statuses.add(a.status);
      assertSecurityHeaders(a, `${r.method} ${r.path}`);
    }
    // The table reaches successes, refusals and errors, or it tests less than it claims.
    for (const s of [200, 400, 401, 404, 405]) assert.ok(statuses.has(s), `no route answered ${s}: ${[...statuses].join(', ')}`);
  });

  test('a foreign Host is refused on every endpoint but /healthz', async () => {
    for (const r of ROUTES) {
      const a = await send(r.method, r.path, { ...auth(r), host: 'evil.example' }, r.body);
      assertSecurityHeaders(a, `Host evil.example ${r.path}`);
      if (r.path === '/healthz') assert.equal(a.status, 200);
      else assert.equal(a.status, 403, `${r.method} ${r.path} with a foreign Host answered ${a.status}`);
    }
  });

  test('a foreign Origin is refused on every endpoint but /healthz; an allowed one gets CORS with Vary: Origin', async () => {
    for (const r of ROUTES) {
      const a = await send(r.method, r.path, { ...auth(r), origin: 'https://evil.example' }, r.body);
      assertSecurityHeaders(a, `Origin evil ${r.path}`);
      if (r.path === '/healthz') assert.equal(a.status, 200);
      else {
        assert.equal(a.status, 403, `${r.method} ${r.path} with a foreign Origin answered ${a.status}`);
        assert.equal(a.headers['access-control-allow-origin'], undefined);
      }
    }
    for (const path of ['/mcp', '/.well-known/oauth-protected-resource']) {
      const pre = await send('OPTIONS', path, { origin: allowedOrigin, 'access-control-request-method': path === '/mcp' ? 'POST' : 'GET' });
      assert.equal(pre.status, 204, path);
      assert.equal(pre.headers['access-control-allow-origin'], allowedOrigin, path);
      assertSecurityHeaders(pre, `preflight ${path}`);
    }
    const meta = await send('GET', '/.well-known/oauth-protected-resource/mcp', { origin: allowedOrigin });
    assert.equal(meta.status, 200);
    assert.equal(meta.headers['access-control-allow-origin'], allowedOrigin);
    const evilPreflight = await send('OPTIONS', '/mcp', { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
    assert.equal(evilPreflight.status, 403);
  });

  test('TRACE is refused on every route, TRACK too (which node:http cannot even parse), both with the headers', async () => {
    for (const r of ROUTES) {
      const a = await send('TRACE', r.path, { ...auth(r), cookie: 'gh_session=secret-cookie' });
      assert.equal(a.status, 405, `TRACE ${r.path}`);
      assert.ok(!a.body.includes('secret-cookie'), 'TRACE echoes nothing');
      assertSecurityHeaders(a, `TRACE ${r.path}`);
    }
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connectSocket(port, '127.0.0.1', () => {
        socket.write(`TRACK /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      });
      let data = '';
      socket.setEncoding('utf8');
      socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
      socket.on('data', (d: string) => (data += d));
      socket.on('end', () => {
        resolve(data);
      });
      socket.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 405 /);
    for (const [name, pattern] of Object.entries(REQUIRED)) {
      const line = new RegExp(`^${name}: (.*)$`, 'mi').exec(raw);
      assert.ok(line?.[1] !== undefined && pattern.test(line[1].trim()), `TRACK answer lacks ${name}`);
    }
  });

  test('a request node:http cannot parse still gets the security headers', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connectSocket(port, '127.0.0.1', () => {
        socket.write('GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nBroken Header\r\n\r\n');
      });
      let data = '';
      socket.setEncoding('utf8');
      socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
      socket.on('data', (d: string) => (data += d));
      socket.on('end', () => {
        resolve(data);
      });
      socket.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /^strict-transport-security: max-age=31536000; includeSubDomains/im);
    assert.match(raw, /^content-security-policy: .*frame-ancestors 'none'/im);
  });
});
