import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { OrgCatalog, type CatalogSource } from './catalog.ts';
import { compileScopes } from '../access/scopes.ts';

const tool = (name: string): Tool => ({ name, inputSchema: { type: 'object' } });

function source(name: string, tools: string[], extra: Partial<CatalogSource['listing']> = {}): CatalogSource {
  return { name, listing: { tools: tools.map(tool), resources: [], resourceTemplates: [], prompts: [], ...extra } };
}

test('tools of two connectors are namespaced and routed back to their own connector', () => {
  const c = new OrgCatalog();
  c.rebuild([source('beta', ['echo']), source('alpha', ['echo', 'add'])]);
  const all = c.listTools(compileScopes(['*']), undefined).items.map((t) => t.name);
  assert.deepEqual(all, ['alpha__echo', 'alpha__add', 'beta__echo']);
  assert.deepEqual(c.tool('beta__echo') && { connector: c.tool('beta__echo')?.connector, original: c.tool('beta__echo')?.original }, {
    connector: 'beta',
    original: 'echo',
  });
  assert.equal(c.tool('gamma__echo'), undefined);
  assert.equal(c.tool('echo'), undefined);
});

test('listing hides what the scopes do not grant', () => {
  const c = new OrgCatalog();
  c.rebuild([
    source('alpha', ['echo', 'add'], { prompts: [{ name: 'greet' }], resources: [{ uri: 'x://1', name: 'one' }] }),
    source('beta', ['echo']),
  ]);
  const scoped = compileScopes(['alpha/echo', 'beta']);
  assert.deepEqual(c.listTools(scoped, undefined).items.map((t) => t.name), ['alpha__echo', 'beta__echo']);
  assert.deepEqual(c.listPrompts(scoped, undefined).items, []);
  assert.deepEqual(c.listResources(scoped, undefined).items, []);
  assert.deepEqual(c.listResources(compileScopes(['alpha']), undefined).items.map((r) => r.uri), ['alpha+x://1']);
});

test('pagination walks every tool exactly once and refuses a forged cursor', () => {
  const c = new OrgCatalog(3);
  c.rebuild([source('alpha', ['a', 'b', 'c', 'd', 'e', 'f', 'g'])]);
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = c.listTools(compileScopes(['*']), cursor);
    seen.push(...page.items.map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  assert.equal(seen.length, 7);
  assert.equal(new Set(seen).size, 7);
  assert.throws(() => c.listTools(compileScopes(['*']), 'bm9wZQ'), /Invalid cursor/);
  assert.throws(() => c.listTools(compileScopes(['*']), 42), /Invalid cursor/);
});

test('names that collide after sanitising keep the first and never misroute', () => {
  const c = new OrgCatalog();
  c.rebuild([source('alpha', ['bad name', 'bad name'])]);
  const names = c.listTools(compileScopes(['*']), undefined).items.map((t) => t.name);
  assert.equal(names.length, 1);
  assert.equal(c.tool(names[0]!)?.original, 'bad name');
});
