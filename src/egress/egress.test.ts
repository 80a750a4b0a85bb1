import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'node:http';
import { GatehouseError } from '../errors.ts';
import { checkUrl, egressPolicy, pinnedLookup, resolveChecked } from './egress.ts';

const strict = egressPolicy({ allowPlainHttp: true, allowCidrs: [], resolve: () => Promise.reject(new Error('no DNS in this test')) });

async function refusedReason(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof GatehouseError && err.code === 'egress_refused', `expected a refusal, got ${String(err)}`);
  return err.message;
}

test('internal destinations are refused in whatever notation they are written, before any packet', async () => {
  const internal = [
    'http://127.0.0.1/', 'http://127.1/', 'http://2130706433/', 'http://0177.0.0.1/', 'http://0x7f.1/', 'http://①②⑦.⓪.⓪.①/',
    'http://127.0.0.1./', 'http://[::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:7f00:1]/', 'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/', 'http://172.16.5.4/', 'http://192.168.1.1/', 'http://100.64.0.1/', 'http://0.0.0.0/', 'http://[::]/',
    'http://[fe80::1]/', 'http://[fc00::1]/', 'http://[fd12:3456::1]/', 'http://224.0.0.1/', 'http://255.255.255.255/', 'http://192.0.2.1/',
    'http://198.51.100.7/', 'http://203.0.113.9/', 'http://198.18.0.1/', 'http://240.0.0.1/', 'http://[2001:db8::1]/', 'http://[64:ff9b::a00:1]/',
    'http://[64:ff9b:1::a00:1]/', 'http://[2002:7f00:1::1]/', 'http://[2001::1]/',
  ];
  for (const u of internal) {
    const url = checkUrl(u, strict);
    assert.match(await refusedReason(resolveChecked(url.hostname, strict)), /is a \w+ address/, u);
  }
  // Public addresses, written as literals, pass without a lookup.
  for (const u of ['http://8.8.8.8/', 'http://[2606:4700::1111]/', 'https://1.1.1.1:8443/']) assert.ok(await resolveChecked(checkUrl(u, strict).hostname, strict));
});

test('a name is judged by every address it resolves to; one internal address refuses it', async () => {
  const policy = (addresses: string[]) => egressPolicy({ allowPlainHttp: false, allowCidrs: [], resolve: () => Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))) });
  assert.deepEqual(await resolveChecked('api.example.com', policy(['93.184.216.34'])), { address: '93.184.216.34', family: 4 });
  assert.match(await refusedReason(resolveChecked('api.example.com', policy(['93.184.216.34', '10.1.2.3']))), /resolves to a private address/);
  assert.match(await refusedReason(resolveChecked('metadata.internal', policy(['169.254.169.254']))), /linkLocal/);
  assert.match(await refusedReason(resolveChecked('nothing.example', policy([]))), /does not resolve/);
});

test('URL forms are refused: schemes, plain http by default, userinfo, whitespace and backslashes', () => {
  const secure = { allowPlainHttp: false };
  for (const [u, why] of [
    ['http://api.example.com/', /plain http/],
    ['ftp://api.example.com/', /scheme ftp:/],
    ['file:///etc/passwd', /scheme file:/],
    ['https://user:pw@api.example.com/', /credentials in the URL/],
    ['https://api.example.com\\@10.0.0.1/', /backslashes/],
    ['https://api.example.com /x', /whitespace/],
    ['https://api.exa\tmple.com/', /whitespace|control/],
    ['not a url', /whitespace|not a valid URL/],
  ] as const) {
    assert.throws(() => checkUrl(u, secure), (e: unknown) => e instanceof GatehouseError && e.code === 'egress_refused' && why.test(e.message), u);
  }
  assert.equal(checkUrl('https://API.Example.com:443/mcp', secure).host, 'api.example.com');
});

test('the operator may allow ranges; nothing else widens', async () => {
  const allowed = egressPolicy({ allowPlainHttp: true, allowCidrs: ['10.20.0.0/16'], resolve: () => Promise.resolve([{ address: '10.20.1.2', family: 4 }]) });
  assert.ok(await resolveChecked('internal.corp', allowed));
  assert.match(await refusedReason(resolveChecked('10.21.0.1', allowed)), /private/);
});

test('a connection is made to the address that was checked, and a name that rebinds to an internal address is refused on the next connection', async () => {
  const server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  let answers = ['127.0.0.1', '10.0.0.1'];
  const policy = egressPolicy({
    allowPlainHttp: true,
    allowCidrs: ['127.0.0.0/8'],
    resolve: () => {
      const [first, ...rest] = answers;
      answers = rest;
      return Promise.resolve([{ address: first ?? '10.0.0.1', family: 4 }]);
    },
  });
  const get = () =>
    new Promise<string>((resolve, reject) => {
      // A fresh agent without keep-alive: every request is a new connection, so a new lookup.
      const req = request({ host: 'rebind.test', port, path: '/', agent: new Agent({ keepAlive: false, lookup: pinnedLookup(policy) }) }, (res) => {
        res.setEncoding('utf8');
        let body = '';
        res.on('data', (c: string) => (body += c));
        res.on('end', () => { resolve(body); });
      });
      req.on('error', reject);
      req.end();
    });
  try {
    assert.equal(await get(), 'ok', 'the first answer is allowed loopback');
    const err = await get().then(
      () => undefined,
      (e: unknown) => e as Error & { cause?: unknown },
    );
    assert.ok(err !== undefined && err.cause instanceof GatehouseError && err.cause.code === 'egress_refused', 'the rebinding answer never gets a socket');
  } finally {
    server.close();
  }
});
