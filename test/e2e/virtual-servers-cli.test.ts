// `gatehouse servers` and `keys create --server` through the real CLI, each command its own process on one data
// directory: the round trip, the refusals (exit code and message, nothing half done), and organisations kept apart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { VirtualServerRecord } from '../../src/store/types.ts';
import { runCli } from './harness.ts';

type ServerJson = VirtualServerRecord & { endpoint: string };

describe('gatehouse servers', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-servers-'));
  const cli = { env: { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_HOST: '127.0.0.1', GATEHOUSE_PORT: '8080' } };
  const run = (...args: string[]) => runCli(cli, args);
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const json = async <T>(...args: string[]): Promise<T> => JSON.parse((await ok(...args, '--json')).stdout) as T;

  before(async () => {
    const store = SqliteStore.openInDataDir(dataDir);
    await store.migrate();
    await store.createOrganisation({ id: 'org_other', slug: 'other', name: 'Other', createdAt: new Date().toISOString(), deletedAt: null });
    await store.close();
    // The first command creates the default organisation and prints its owner key; the tests start after that.
    await ok('servers', 'list');
  });
  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('add, list, show, update and remove, each change audited', async () => {
    const added = await ok('servers', 'add', 'docs', '--tools', 'fx/read_*', '--tools', 'fx/list', '--resources', 'fx', '--unprefixed', '--description', 'Docs only');
    assert.match(added.stdout, /Added virtual server docs \(vs_[\w-]+\)/);
    assert.match(added.stdout, /Endpoint: \/servers\/docs\/mcp {2}\(http:\/\/127\.0\.0\.1:8080\/servers\/docs\/mcp\)/);
    assert.match(added.stderr, /WARNING: no connector 'fx' in organisation 'default' yet/);
    await ok('servers', 'add', 'ops', '--prompts', '*');

    const listed = await json<ServerJson[]>('servers', 'list');
    assert.deepEqual(listed.map((s) => [s.name, s.endpoint]), [['docs', '/servers/docs/mcp'], ['ops', '/servers/ops/mcp']]);
    const table = (await ok('servers', 'list')).stdout;
    assert.match(table, /^NAME\s+ENDPOINT\s+TOOLS\s+PROMPTS\s+RESOURCES\s+NAMES\s+DESCRIPTION$/m);
    assert.match(table, /^docs\s+\/servers\/docs\/mcp\s+fx\/read_\* fx\/list\s+fx\s+unprefixed\s+Docs only$/m);

    const docs = await json<ServerJson>('servers', 'show', 'docs');
    assert.deepEqual(
      { ...docs, id: '', createdAt: '', updatedAt: '', orgId: '' },
      { id: '', orgId: '', name: 'docs', description: 'Docs only', tools: ['fx/read_*', 'fx/list'], prompts: [], resources: ['fx'], unprefixed: true, createdAt: '', updatedAt: '', endpoint: '/servers/docs/mcp' },
    );
    assert.match((await ok('servers', 'show', 'docs')).stdout, /tools: {8}fx\/read_\* fx\/list\n {2}prompts: {6}\(none\)\n/);

    const updated = await ok('servers', 'update', 'docs', '--tools', 'fx/search', '--clear', 'resources', '--prefixed');
    assert.match(updated.stdout, /Updated virtual server docs/);
    const after = await json<ServerJson>('servers', 'show', 'docs');
    assert.deepEqual(after, { ...docs, tools: ['fx/search'], resources: [], unprefixed: false, updatedAt: after.updatedAt });
    assert.ok(after.updatedAt >= docs.updatedAt);

    const key = await json<{ id: string; servers: string[] | null }>('keys', 'create', '--name', 'docs-only', '--server', 'docs');
    assert.deepEqual(key.servers, ['docs']);
    const keys = await json<{ id: string; servers: string[] | null }[]>('keys', 'list');
    assert.deepEqual(keys.map((k) => k.servers), [null, ['docs']], 'the owner key is unrestricted');
    assert.match((await ok('keys', 'list')).stdout, new RegExp(`^${key.id}\\s.*\\s\\*\\s+docs\\s+active\\s`, 'm'));
    const human = await ok('keys', 'create', '--name', 'laptop', '--server', 'docs');
    assert.match(human.stdout, /servers: docs, expires: never/);
    assert.match(human.stdout, /"url": "http:\/\/127\.0\.0\.1:8080\/servers\/docs\/mcp"/, 'the client configuration points at its server');
    const connect = JSON.parse((await ok('connect', '--server', 'docs', '--json')).stdout) as { url: string };
    assert.equal(connect.url, 'http://127.0.0.1:8080/servers/docs/mcp');

    const removed = await ok('servers', 'remove', 'docs');
    assert.equal(removed.stdout, 'Removed virtual server docs\n');
    assert.match(removed.stderr, /WARNING: 2 active key\(s\) restricted to docs now reach nothing through it: key_\S+ key_\S+\n/);
    assert.ok(removed.stderr.includes(key.id));
    const gone = await run('servers', 'show', 'docs');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No virtual server 'docs' in organisation 'default'/);
    assert.deepEqual((await json<ServerJson[]>('servers', 'list')).map((s) => s.name), ['ops']);

    const store = SqliteStore.openInDataDir(dataDir);
    try {
      const org = await store.getOrganisationBySlug('default');
      const actions = (await store.listAudit(org?.id ?? '', 0, 1000)).map((r) => `${r.action} ${r.targetName ?? ''}`);
      for (const a of ['virtual_server.create docs', 'virtual_server.create ops', 'virtual_server.update docs', 'virtual_server.delete docs']) {
        assert.ok(actions.includes(a), a);
      }
    } finally {
      await store.close();
    }
  });

  test('refusals exit non-zero with a clear message and change nothing', async () => {
    const cases: [string[], number, RegExp][] = [
      [['servers', 'add', 'Bad_Name', '--tools', '*'], 1, /Virtual server name must be 1-32 lowercase letters/],
      [['servers', 'add', 'x', '--tools', 'Git Hub/create'], 1, /Invalid tools pattern 'Git Hub\/create': 'Git Hub' is not a valid connector name/],
      [['servers', 'add', 'x', '--prompts', 'fx/a*b'], 1, /Invalid prompts pattern 'fx\/a\*b'/],
      [['servers', 'add', 'x', '--resources', 'fx/readme'], 1, /Invalid resources entry 'fx\/readme': give a connector name or \*/],
      [['servers', 'add', 'x'], 1, /A virtual server must select something/],
      [['servers', 'add', 'ops', '--tools', '*'], 1, /A virtual server named 'ops' already exists/],
      [['servers', 'update', 'ops'], 1, /Nothing to change/],
      [['servers', 'update', 'ops', '--clear', 'prompts'], 1, /A virtual server must select something/],
      [['servers', 'update', 'nope', '--tools', '*'], 1, /No virtual server 'nope'/],
      [['servers', 'remove', 'nope'], 1, /No virtual server 'nope'/],
      [['servers', 'show', 'nope'], 1, /No virtual server 'nope' in organisation 'default'/],
      [['keys', 'create', '--name', 'k', '--server', 'ops', '--server', 'nope'], 1, /No virtual server 'nope' in this organisation/],
      [['servers', 'update', 'ops', '--clear', 'everything'], 2, /--clear takes tools, prompts or resources/],
      [['servers', 'update', 'ops', '--prefixed', '--unprefixed'], 2, /at most one of --unprefixed and --prefixed/],
      [['servers', 'add', 'x', '--tools', '*', '--clear', 'tools'], 2, /--clear and --prefixed are for servers update/],
      [['servers', 'show', 'ops', '--tools', '*'], 2, /servers show takes no definition options/],
      [['servers', 'add'], 2, /gatehouse servers add NAME/],
      [['servers', 'frobnicate', 'x'], 2, /gatehouse servers add NAME/],
    ];
    const before = await json<ServerJson[]>('servers', 'list');
    const keysBefore = (await json<unknown[]>('keys', 'list')).length;
    const results = await Promise.all(cases.map(([args]) => run(...args)));
    results.forEach((r, i) => {
      const [args, code, message] = cases[i]!;
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '', `${args.join(' ')} printed a result`);
    });
    assert.deepEqual(await json<ServerJson[]>('servers', 'list'), before);
    assert.equal((await json<unknown[]>('keys', 'list')).length, keysBefore);
  });

  test("organisations are kept apart: one never sees, changes, removes or grants another's servers", async () => {
    await ok('servers', 'add', 'shared', '--tools', '*', '--org', 'other');
    await ok('servers', 'add', 'ops', '--tools', 'fx', '--org', 'other');
    assert.deepEqual((await json<ServerJson[]>('servers', 'list', '--org', 'other')).map((s) => [s.name, s.tools]), [['ops', ['fx']], ['shared', ['*']]]);
    assert.deepEqual((await json<ServerJson[]>('servers', 'list')).map((s) => s.name), ['ops']);

    const refused: [string[], RegExp][] = [
      [['servers', 'show', 'shared'], /No virtual server 'shared' in organisation 'default'/],
      [['servers', 'update', 'shared', '--tools', 'fx'], /No virtual server 'shared'/],
      [['servers', 'remove', 'shared'], /No virtual server 'shared'/],
      [['keys', 'create', '--name', 'k', '--server', 'shared'], /No virtual server 'shared' in this organisation/],
      [['connect', '--server', 'shared'], /No virtual server 'shared' in organisation 'default'/],
    ];
    for (const [args, message] of refused) {
      const r = await run(...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.deepEqual((await json<ServerJson>('servers', 'show', 'shared', '--org', 'other')).tools, ['*']);
    assert.deepEqual((await json<ServerJson>('servers', 'show', 'ops')).prompts, ['*'], "the default organisation's ops is its own");

    const key = await json<{ servers: string[] }>('keys', 'create', '--name', 'k', '--server', 'shared', '--org', 'other');
    assert.deepEqual(key.servers, ['shared']);
    await ok('connect', '--server', 'shared', '--org', 'other');
    await ok('servers', 'remove', 'ops', '--org', 'other');
    assert.deepEqual((await json<ServerJson>('servers', 'show', 'ops')).prompts, ['*']);
  });
});
