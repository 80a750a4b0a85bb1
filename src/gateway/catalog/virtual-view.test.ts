import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { compileScopes } from '../access/scopes.ts';
import { OrgCatalog, type CatalogSource } from './catalog.ts';
import { templatePattern, VirtualView, type VirtualSelection } from './virtual-view.ts';

const ALL = compileScopes(['*']);
const tool = (name: string): Tool => ({ name, inputSchema: { type: 'object' } });

function source(name: string, tools: string[], extra: Partial<CatalogSource['listing']> = {}): CatalogSource {
  return { name, listing: { tools: tools.map(tool), resources: [], resourceTemplates: [], prompts: [], ...extra } };
}

function catalog(...sources: CatalogSource[]): OrgCatalog {
  const c = new OrgCatalog();
  c.rebuild(sources);
  return c;
}

function select(s: Partial<VirtualSelection>): VirtualSelection {
  return { name: 'v', tools: [], prompts: [], resources: [], unprefixed: false, ...s };
}

test('a virtual server shows only the chosen tools, under the catalog names unless unprefixed', () => {
  const c = catalog(source('alpha', ['echo', 'add', 'secret']), source('beta', ['echo']));
  const prefixed = new VirtualView(c, select({ tools: ['alpha/echo', 'alpha/add'] }));
  assert.deepEqual(prefixed.listTools(ALL, undefined).items.map((t) => t.name), ['alpha__echo', 'alpha__add']);
  assert.equal(prefixed.tool('alpha__secret'), undefined);
  assert.equal(prefixed.tool('beta__echo'), undefined);

  const plain = new VirtualView(c, select({ tools: ['alpha/echo', 'alpha/add'], unprefixed: true }));
  assert.deepEqual(plain.listTools(ALL, undefined).items.map((t) => t.name), ['echo', 'add']);
  assert.deepEqual({ ...plain.tool('echo'), item: undefined }, { connector: 'alpha', original: 'echo', item: undefined });
  assert.equal(plain.tool('alpha__echo'), undefined, 'an unprefixed tool has one name only');
});

test('unprefixed names that collide keep their prefix; unique ones lose it', () => {
  const c = catalog(source('alpha', ['echo', 'add']), source('beta', ['echo', 'mul']));
  const v = new VirtualView(c, select({ tools: ['alpha', 'beta'], unprefixed: true }));
  assert.deepEqual(v.listTools(ALL, undefined).items.map((t) => t.name).sort(), ['add', 'alpha__echo', 'beta__echo', 'mul']);
  assert.equal(v.tool('echo'), undefined);
  assert.equal(v.tool('beta__echo')?.connector, 'beta');
});

test('an upstream name equal to another tool’s namespaced name is namespaced itself, never ambiguous', () => {
  const c = catalog(source('alpha', ['echo']), source('beta', ['alpha__echo']));
  const v = new VirtualView(c, select({ tools: ['*'], unprefixed: true }));
  const names = v.listTools(ALL, undefined).items.map((t) => t.name);
  assert.equal(new Set(names).size, names.length);
  assert.equal(v.tool('echo')?.connector, 'alpha');
  assert.equal(v.tool('alpha__echo'), undefined, 'never routed to beta’s tool of that name, nor to alpha');
  assert.equal(v.tool('beta__alpha__echo')?.connector, 'beta');
});

test('the key’s scopes still apply inside a virtual server', () => {
  const c = catalog(source('alpha', ['echo', 'add']));
  const v = new VirtualView(c, select({ tools: ['alpha'], unprefixed: true }));
  assert.deepEqual(v.listTools(compileScopes(['alpha/add']), undefined).items.map((t) => t.name), ['add']);
});

test('prompts are chosen by pattern and resources by connector', () => {
  const c = catalog(
    source('alpha', [], { prompts: [{ name: 'greet' }, { name: 'hidden' }], resources: [{ uri: 'x://a', name: 'a' }] }),
    source('beta', [], { resources: [{ uri: 'x://b', name: 'b' }] }),
  );
  const v = new VirtualView(c, select({ prompts: ['alpha/greet'], resources: ['beta'], unprefixed: true }));
  assert.deepEqual(v.listPrompts(ALL, undefined).items.map((p) => p.name), ['greet']);
  assert.equal(v.prompt('hidden'), undefined);
  assert.deepEqual(v.listResources(ALL, undefined).items.map((r) => r.uri), ['x://b']);
  assert.deepEqual(v.resolveUri('x://b'), { connector: 'beta', uri: 'x://b' });
  assert.equal(v.exposeUri('beta', 'x://b'), 'x://b');
});

test('unprefixed URIs route to the one connector that lists them or whose template matches', () => {
  const c = catalog(
    source('alpha', [], { resources: [{ uri: 'test://static', name: 's' }], resourceTemplates: [{ uriTemplate: 'test://items/{id}', name: 't' }] }),
    source('beta', [], { resources: [{ uri: 'other://x', name: 'x' }, { uri: 'test://static', name: 'dup' }] }),
  );
  const v = new VirtualView(c, select({ resources: ['alpha', 'beta'], unprefixed: true }));
  assert.deepEqual(v.resolveUri('test://items/42'), { connector: 'alpha', uri: 'test://items/42' });
  assert.deepEqual(v.resolveUri('other://x'), { connector: 'beta', uri: 'other://x' });
  assert.equal(v.resolveUri('test://static'), undefined, 'listed by two connectors: ambiguous, so not found');
  assert.equal(v.resolveUri('nowhere://1'), undefined);
});

test('prefixed virtual servers resolve only URIs of chosen connectors', () => {
  const c = catalog(source('alpha', [], { resources: [{ uri: 'x://a', name: 'a' }] }), source('beta', []));
  const v = new VirtualView(c, select({ resources: ['alpha'] }));
  assert.deepEqual(v.resolveUri('alpha+x://a'), { connector: 'alpha', uri: 'x://a' });
  assert.equal(v.resolveUri('beta+x://a'), undefined);
  assert.equal(v.resolveUri('x://a'), undefined);
});

test('template patterns match what the template can produce and nothing wider', () => {
  assert.ok(templatePattern('test://template/{id}/data').test('test://template/123/data'));
  assert.ok(!templatePattern('test://template/{id}/data').test('test://template/1/2/data'));
  assert.ok(templatePattern('file:///{+path}').test('file:///a/b/c.txt'));
  assert.ok(templatePattern('api://search{?q,limit}').test('api://search?q=x&limit=2'));
  assert.ok(templatePattern('api://search{?q,limit}').test('api://search'));
  assert.ok(!templatePattern('a.b://{x}').test('aXb://y'), 'literal dots are not wildcards');
});
