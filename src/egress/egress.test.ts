// Egress refusals. Nothing here connects anywhere but loopback: refusals of other addresses are decided before a
// socket exists (parse, check, or the agent's lookup called directly), and the one real connection test resolves
// names to 127.0.0.x only, so a broken check could at worst reach loopback.
import assert from 'node:assert/strict';
import { createServer, get, type Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { GatehouseError } from '../errors.ts';
import { forbiddenReason } from './addresses.ts';
import { createEgress, type Resolver } from './egress.ts';

const refused = (e: unknown) => e instanceof GatehouseError && e.code === 'egress_refused';
const fixed = (...addresses: string[]): Resolver => () => Promise.resolve(addresses);
const strict = (resolver: Resolver = fixed('93.184.215.14')) => createEgress({ allowPlainHttp: false, allowCidrs: [] }, resolver);

describe('egress: addresses', () => {
  const forbidden = [
    '127.0.0.1', '127.255.255.254', '0.0.0.0', '0.1.2.3', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1',
    '169.254.169.254', '100.64.0.1', '100.127.255.255', '192.0.2.1', '198.51.100.7', '203.0.113.9', '198.18.0.1', '198.19.255.1',
    '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', '192.0.0.8',
    '::', '::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254', '::ffff:7f00:1', '::127.0.0.1', '::a9fe:a9fe',
    '64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe', '64:ff9b::10.0.0.1', '64:ff9b:1::1', '2002:7f00:1::', '2002:a9fe:a9fe::1',
    'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'ff02::1', '2001:db8::1', 'fec0::1', '100::1',
  ];
  for (const a of forbidden) test(`refuses ${a}`, () => { assert.notEqual(forbiddenReason(a), undefined, a); });
  const allowed = ['93.184.215.14', '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '64:ff9b::808:808', '::ffff:8.8.8.8', '100.128.0.1', '172.32.0.1'];
  for (const a of allowed) test(`allows ${a}`, () => { assert.equal(forbiddenReason(a), undefined, a); });
  test('refuses what is not an address', () => { assert.equal(forbiddenReason('example.com'), 'not an address'); });
});

describe('egress: URLs, whatever notation they are written in', () => {
  const e = strict();
  const refusedUrls = [
    'https://127.0.0.1/', 'https://127.1/', 'https://2130706433/', 'https://0177.0.0.1/', 'https://0x7f.1/', 'https://0x7f000001/',
    'https://127.0.0.1./', 'https://①②⑦.⓪.⓪.①/', 'https://１２７.０.０.１/', 'https://169.254.169.254/latest/meta-data/',
    'https://0251.0376.0251.0376/', 'https://[::1]/', 'https://[::ffff:127.0.0.1]/', 'https://[::ffff:a9fe:a9fe]/', 'https://[64:ff9b::a9fe:a9fe]/',
    'https://[fe80::1]/', 'https://10.0.0.1/', 'https://0/', 'https://0.0.0.0/', 'https://100.64.0.1/', 'https://[fd00::1]/',
    // Not https, credentials, or forms a parser may read two ways.
    'http://example.com/', 'ftp://example.com/', 'file:///etc/passwd', 'gopher://example.com/', 'ws://example.com/',
    'https://user:pw@example.com/', 'https://user@example.com/', 'https://example.com\\@127.0.0.1/', ' https://example.com/',
    'https://exa mple.com/', 'https://example.com/\n', 'not a url', 'https:///path', 'https:/example.com/', 'https:example.com/',
  ];
  for (const u of refusedUrls) test(`refuses ${JSON.stringify(u)}`, () => { assert.throws(() => e.parse(u), refused); });
  test('a refusal says why and carries no secret', () => {
    assert.throws(() => e.parse('https://user:hunter2@example.com/'), (err: Error) => refused(err) && !err.message.includes('hunter2'));
    assert.throws(() => e.parse('https://169.254.169.254/'), (err: Error) => /link-local/.test(err.message));
  });
  test('accepts a public https URL', () => { assert.equal(e.parse('https://example.com/mcp').href, 'https://example.com/mcp'); });
  test('plain http only when the operator allows it', () => {
    const plain = createEgress({ allowPlainHttp: true, allowCidrs: [] }, fixed('93.184.215.14'));
    assert.equal(plain.parse('http://example.com/mcp').protocol, 'http:');
    assert.throws(() => plain.parse('http://127.0.0.1/'), refused);
  });
});

describe('egress: resolution', () => {
  test('every address is checked: one private among public ones refuses', async () => {
    await assert.rejects(strict(fixed('93.184.215.14', '10.0.0.1')).check('https://mixed.example/'), refused);
    await assert.rejects(strict(fixed('::ffff:169.254.169.254')).check('https://metadata.example/'), refused);
    await assert.rejects(strict(fixed()).check('https://nothing.example/'), refused);
    await assert.rejects(strict(() => Promise.reject(new Error('ENOTFOUND'))).check('https://gone.example/'), refused);
    const ok = await strict(fixed('93.184.215.14', '2606:4700:4700::1111')).check('https://public.example/');
    assert.deepEqual(ok.addresses.map((a) => a.allowance), [undefined, undefined]);
  });
  test('the name is resolved without its trailing dot', async () => {
    const asked: string[] = [];
    await strict((h) => {
      asked.push(h);
      return Promise.resolve(['93.184.215.14']);
    }).check('https://public.example./');
    assert.deepEqual(asked, ['public.example']);
  });
  test('the operator allowances admit, and say which admitted', async () => {
    const cidr = createEgress({ allowPlainHttp: false, allowCidrs: ['10.0.0.0/8'] }, fixed('10.1.2.3'));
    assert.equal((await cidr.check('https://internal.example/')).addresses[0]?.allowance, 'egress_allow_cidrs');
    await assert.rejects(cidr.check('https://172.16.0.1/'), refused);
    const flag = strict(fixed('192.168.1.10'));
    await assert.rejects(flag.check('https://lan.example/'), refused);
    assert.equal((await flag.check('https://lan.example/', { allowPrivateNetwork: true })).addresses[0]?.allowance, 'connector_allow_private_network');
  });
});

type Lookup = (host: string, options: { all?: boolean }, cb: (err: Error | null, address?: unknown, family?: number) => void) => void;
const lookupOf = (agent: Agent) => (agent as unknown as { options: { lookup: Lookup } }).options.lookup;
function lookup(agent: Agent, all = false): Promise<unknown> {
  return new Promise((resolve, reject) => {
    lookupOf(agent)('ignored', { all }, (err, address) => {
      if (err === null) resolve(address);
      else reject(err);
    });
  });
}

describe('egress: pinned connections', () => {
  test('each new socket re-resolves and re-checks; a rebound name is refused before any connect', async () => {
    let answer = '93.184.215.14';
    const e = strict(() => Promise.resolve([answer]));
    const agent = e.agent(new URL('https://rebind.example/mcp'));
    assert.equal(await lookup(agent), '93.184.215.14');
    assert.deepEqual(await lookup(agent, true), [{ address: '93.184.215.14', family: 4 }]);
    answer = '10.0.0.1';
    await assert.rejects(lookup(agent), refused);
    answer = '169.254.169.254';
    await assert.rejects(lookup(agent, true), refused);
    agent.destroy();
  });

  test('a real loopback connection pins the checked address; rebinding to another loopback address is refused', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    let answer = '127.0.0.1';
    const pinned: string[] = [];
    const e = createEgress({ allowPlainHttp: true, allowCidrs: ['127.0.0.1/32'] }, () => Promise.resolve([answer]));
    const url = new URL(`http://upstream.test:${String(port)}/`);
    const agent = e.agent(url, {}, (p) => pinned.push(`${p.address}:${p.allowance ?? '-'}`));
    const fetchOnce = () =>
      new Promise<string>((resolve, reject) => {
        get(url, { agent }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => { resolve(body); });
        }).on('error', reject);
      });
    try {
      assert.equal(await fetchOnce(), 'ok');
      assert.deepEqual(pinned, ['127.0.0.1:egress_allow_cidrs']);
      // Kept alive: the second request reuses the socket, no second lookup.
      assert.equal(await fetchOnce(), 'ok');
      assert.equal(pinned.length, 1);
      server.closeAllConnections();
      await new Promise((r) => setTimeout(r, 20));
      answer = '127.0.0.2'; // loopback, but outside the allowance: a broken check would still only reach loopback
      await assert.rejects(fetchOnce(), refused);
      assert.equal(pinned.length, 1);
    } finally {
      agent.destroy();
      server.close();
    }
  });

  test('the egress fetch refuses before connecting and does not follow redirects', async () => {
    await assert.rejects(strict(fixed('169.254.169.254')).fetch('https://metadata.example/'), refused);
    await assert.rejects(strict().fetch('http://example.com/'), refused);
    const server = createServer((_req, res) => {
      res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const e = createEgress({ allowPlainHttp: true, allowCidrs: ['127.0.0.0/8'] }, fixed('127.0.0.1'));
      const res = await e.fetch(`http://idp.test:${String((server.address() as AddressInfo).port)}/.well-known/openid-configuration`);
      assert.equal(res.status, 302);
    } finally {
      server.close();
    }
  });
});
