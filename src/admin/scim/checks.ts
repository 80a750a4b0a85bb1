import SCIMMY from 'scimmy';
import { parseFilter } from './filter.ts';
import { MAX_RESULTS } from './resources.ts';

/**
 * What SCIMMY lets through and Gatehouse does not: a body naming attributes its schema does not declare (SCIMMY drops
 * them silently; a mistyped attribute should fail loudly, as the admin API refuses unknown fields), a resource body
 * without its schema URN, and query parameters that are not numbers. Also the one PATCH quirk of Microsoft Entra ID,
 * which sends `active` as the string "False".
 */
type Definition = SCIMMY.Types.SchemaDefinition;

const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

function syntax(detail: string): SCIMMY.Types.SCIMError {
  return new SCIMMY.Types.Error(400, 'invalidSyntax', detail);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Top-level names a body may carry: the schema's attributes and its extensions' URNs, in any case. */
function known(definition: Definition): Set<string> {
  const names = new Set(['schemas']);
  for (const a of definition.attributes) names.add((a instanceof SCIMMY.Types.SchemaDefinition ? a.id : a.name).toLowerCase());
  return names;
}

function checkAttributes(value: Record<string, unknown>, definition: Definition, scimType: 'invalidSyntax' | 'invalidPath'): void {
  const names = known(definition);
  for (const key of Object.keys(value)) {
    if (names.has(key.toLowerCase())) continue;
    // A fully qualified core attribute (urn:…:User:userName) is fine too.
    try {
      definition.attribute(key);
    } catch {
      throw new SCIMMY.Types.Error(400, scimType, `Unknown attribute '${key.slice(0, 128)}'`);
    }
  }
}

/** A POST or PUT body: an object naming the resource's schema and only attributes its schemas declare. */
export function checkResourceBody(body: unknown, definition: Definition, schemaId: string): Record<string, unknown> {
  if (!isObject(body)) throw syntax('The body must be a single resource object');
  if (!Array.isArray(body.schemas) || !body.schemas.includes(schemaId)) throw syntax(`The body's schemas must include ${schemaId}`);
  checkAttributes(body, definition, 'invalidSyntax');
  return body;
}

/** Entra ID sends booleans as "True"/"False" in PATCH values. */
function booleanish(v: unknown): unknown {
  return typeof v === 'string' && /^(true|false)$/i.test(v) ? v.toLowerCase() === 'true' : v;
}

/** A PatchOp whose paths and values name known attributes; Entra's string booleans for `active` become booleans. */
export function checkPatch(body: unknown, definition: Definition): { schemas: [typeof PATCH_URN]; Operations: SCIMMY.Messages.PatchOp.PatchOpOperation[] } {
  if (!isObject(body) || !Array.isArray(body.schemas) || !body.schemas.includes(PATCH_URN)) throw syntax(`A PATCH body must be a ${PATCH_URN} message`);
  if (!Array.isArray(body.Operations) || body.Operations.length === 0) throw syntax('A PATCH body needs Operations');
  if (body.Operations.length > 1000) throw new SCIMMY.Types.Error(413, 'tooMany', 'Too many operations');
  const operations = body.Operations.map((op: unknown) => {
    if (!isObject(op)) throw syntax('Each operation must be an object');
    const path = typeof op.path === 'string' ? op.path : undefined;
    let value = op.value;
    if (path !== undefined) {
      const root = path.replace(/\[.*$/s, '');
      try {
        definition.attribute(root);
      } catch {
        throw new SCIMMY.Types.Error(400, 'invalidPath', `Unknown attribute '${root.slice(0, 128)}' in path`);
      }
      if (root.toLowerCase() === 'active') value = booleanish(value);
    } else if (isObject(value)) {
      checkAttributes(value, definition, 'invalidPath');
      value = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k.toLowerCase() === 'active' ? booleanish(v) : v]));
    }
    return { ...op, ...(value === undefined ? {} : { value }) } as SCIMMY.Messages.PatchOp.PatchOpOperation;
  });
  return { schemas: [PATCH_URN], Operations: operations };
}

function integer(query: URLSearchParams, name: string, min: number): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (!/^-?\d{1,9}$/.test(raw)) throw new SCIMMY.Types.Error(400, 'invalidValue', `${name} must be an integer`);
  return Math.max(Number(raw), min);
}

/** List parameters (RFC 7644 §3.4.2): a checked filter, and the paging, sorting and attribute selection SCIMMY applies. */
export function listParams(query: URLSearchParams, definition: Definition, single = false) {
  const filterText = query.get('filter');
  const filter = single || filterText === null ? undefined : parseFilter(filterText, definition);
  const params: { startIndex?: number; count?: number; sortBy?: string; sortOrder?: string; attributes?: string; excludedAttributes?: string } = {};
  if (!single) {
    params.startIndex = integer(query, 'startIndex', 1) ?? 1;
    params.count = Math.min(integer(query, 'count', 0) ?? MAX_RESULTS, MAX_RESULTS);
    const sortBy = query.get('sortBy');
    if (sortBy !== null) params.sortBy = sortBy;
    const sortOrder = query.get('sortOrder');
    if (sortOrder !== null) params.sortOrder = sortOrder;
  }
  for (const name of ['attributes', 'excludedAttributes'] as const) {
    const v = query.get(name);
    if (v !== null && v.trim() !== '') params[name] = v;
  }
  return { filter, params };
}
