import * as z from 'zod';
import type { Route } from './route.ts';
import { errorSchema } from './schemas.ts';

type JsonSchema = Record<string, unknown>;

/** The JSON Schema (2020-12, the dialect of OpenAPI 3.1) of what a client sends, as zod describes it. */
export function inputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as JsonSchema;
  return rest;
}

function outputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'output' }) as JsonSchema;
  return rest;
}

function parameters(where: 'path' | 'query', schema: z.ZodObject | undefined): JsonSchema[] {
  if (schema === undefined) return [];
  const object = inputSchema(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || (object.required ?? []).includes(name),
      schema: rest,
      ...(typeof description === 'string' ? { description } : {}),
    };
  });
}

const ERROR_RESPONSES: Readonly<Record<string, string>> = {
  '400': 'Invalid request: malformed JSON, a field that fails its schema, or an unknown field',
  '401': 'No valid credential',
  '403': 'Your role does not allow this, or the result would exceed your own rights',
  '404': 'No such object in your organisation (also the answer for another organisation’s)',
};

/** The OpenAPI 3.1 document of the admin API, generated from the same zod schemas that validate its requests. */
export function buildOpenApi(routes: readonly Route[], version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const ok = r.response;
    const operation: JsonSchema = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      'x-gatehouse-action': r.action,
      parameters: [...parameters('path', r.params), ...parameters('query', r.query)],
      responses: {
        [String(ok.status)]: {
          description: ok.description,
          ...(ok.schema === undefined ? {} : { content: { [ok.contentType ?? 'application/json']: { schema: outputSchema(ok.schema) } } }),
        },
        ...Object.fromEntries(Object.keys(ERROR_RESPONSES).map((status) => [status, { $ref: `#/components/responses/E${status}` }])),
      },
    };
    if (r.body !== undefined) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: inputSchema(r.body) } } };
    }
    (paths[r.path] ??= {})[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version,
      description:
        'Organisations, members, API keys, connectors, virtual servers and the audit log. Every request is scoped to ' +
        'the organisation of the calling key, checked against the permission table, and audited. Unknown fields are refused.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ apiKey: [] }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'A Gatehouse API key (gth_…)' } },
      schemas: { Error: outputSchema(errorSchema) },
      responses: Object.fromEntries(
        Object.entries(ERROR_RESPONSES).map(([status, description]) => [
          `E${status}`,
          { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        ]),
      ),
    },
  };
}
