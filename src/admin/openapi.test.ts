import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { isAction } from '../gateway/access/permissions.ts';
import { adminRoutes } from './api.ts';
import { buildOpenApi, inputSchema } from './openapi.ts';

interface Operation {
  operationId: string;
  'x-gatehouse-action': string;
  parameters: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, unknown>;
}

const routes = adminRoutes();
const doc = buildOpenApi(routes, '0.0.0-test') as { openapi: string; paths: Record<string, Record<string, Operation>> };

test('the document is valid OpenAPI 3.1 by the specification’s own schema', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const result = await new Validator().validate(JSON.parse(JSON.stringify(doc)) as Record<string, unknown>);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
});

test('every route appears under its path and method, with its action, and nothing else does', () => {
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
  assert.deepEqual(documented.sort(), routes.map((r) => `${r.method} ${r.path}`).sort());
  for (const r of routes) {
    const op = doc.paths[r.path]?.[r.method.toLowerCase()];
    assert.ok(op !== undefined, `${r.method} ${r.path}`);
    assert.equal(op['x-gatehouse-action'], r.action);
    assert.ok(isAction(op['x-gatehouse-action']));
    assert.ok(op.responses[String(r.response.status)] !== undefined);
    for (const status of ['400', '401', '403', '404']) assert.ok(op.responses[status] !== undefined, `${r.path} ${status}`);
  }
  assert.equal(new Set(routes.map((r) => r.operationId)).size, routes.length, 'operation ids are unique');
});

test('request bodies are the zod schemas that validate them, strict (no extra fields)', () => {
  for (const r of routes) {
    const op = doc.paths[r.path]?.[r.method.toLowerCase()];
    if (r.body === undefined) {
      assert.equal(op?.requestBody, undefined, `${r.method} ${r.path}`);
      continue;
    }
    const schema = op?.requestBody?.content['application/json']?.schema;
    assert.deepEqual(schema, inputSchema(r.body), `${r.method} ${r.path}`);
    const variants = (schema as { oneOf?: unknown[]; anyOf?: unknown[] }).oneOf ?? (schema as { anyOf?: unknown[] }).anyOf ?? [schema];
    for (const v of variants) assert.equal((v as { additionalProperties?: unknown }).additionalProperties, false, `${r.method} ${r.path}`);
  }
});

test('path parameters match the path template, query parameters the query schema', () => {
  for (const r of routes) {
    const op = doc.paths[r.path]?.[r.method.toLowerCase()];
    assert.ok(op !== undefined, r.path);
    const inPath = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    assert.deepEqual(op.parameters.filter((p) => p.in === 'path').map((p) => p.name), inPath, r.path);
    const queryNames = Object.keys(r.query?.shape ?? {});
    assert.deepEqual(op.parameters.filter((p) => p.in === 'query').map((p) => p.name), queryNames, r.path);
  }
});

test('the bodies refuse unknown fields the way the document says', () => {
  for (const r of routes) {
    if (r.body === undefined) continue;
    assert.equal(r.body.safeParse({ name: 'x', orgId: 'org_other', createdBy: 'me' }).success, false, `${r.method} ${r.path}`);
  }
});
