import SCIMMY from 'scimmy';

/**
 * Glue around SCIMMY's filter: the library parses the filter (RFC 7644 §3.4.2.2) and evaluates it; this adds what it
 * leaves to the service provider. A filter must name attributes the resource's schema declares and give every
 * comparison a value (the parser accepts `userName eq` and a dangling `and`), and string attributes the schema calls
 * case-insensitive (userName, emails, displayName) compare ignoring case, as RFC 7643 §2.2 requires.
 */
type Definition = SCIMMY.Types.SchemaDefinition;
type Attribute = SCIMMY.Types.Attribute;
type Tree = Record<string, unknown>;

const COMPARATORS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le', 'pr', 'np']);
const PRESENCE = new Set(['pr', 'np']);

function invalid(detail: string): SCIMMY.Types.SCIMError {
  return new SCIMMY.Types.Error(400, 'invalidFilter', detail);
}

function attributeOf(definition: Definition, path: string): Attribute {
  try {
    return definition.attribute(path);
  } catch {
    throw invalid(`Unknown attribute '${path.slice(0, 128)}' in filter`);
  }
}

function caseInsensitive(a: Attribute): boolean {
  return a.type === 'string' && a.config.caseExact !== true;
}

/** Checks one comparison (`[op, value]`, maybe behind `not`) and returns it with the value lower-cased where due. */
function comparison(expression: unknown[], a: Attribute, path: string): unknown[] {
  const negated = typeof expression[0] === 'string' && expression[0].toLowerCase() === 'not';
  const [op, ...values] = negated ? expression.slice(1) : expression;
  const name = typeof op === 'string' ? op.toLowerCase() : '';
  if (!COMPARATORS.has(name)) throw invalid(`Unknown operator in filter on '${path.slice(0, 128)}'`);
  if (PRESENCE.has(name) ? values.length !== 0 : values.length !== 1) throw invalid(`Operator '${name}' on '${path.slice(0, 128)}' needs ${PRESENCE.has(name) ? 'no' : 'one'} value`);
  const value = values[0];
  const folded = typeof value === 'string' && caseInsensitive(a) ? value.toLowerCase() : value;
  return [...(negated ? ['not'] : []), name, ...(values.length === 0 ? [] : [folded])];
}

function walk(definition: Definition, tree: Tree, prefix: string): Tree {
  const out: Tree = {};
  for (const [attr, expressions] of Object.entries(tree)) {
    const path = prefix === '' ? attr : `${prefix}.${attr}`;
    const a = attributeOf(definition, path);
    if (Array.isArray(expressions) && expressions.length > 0 && expressions.every((e) => typeof e === 'object' && e !== null && !Array.isArray(e))) {
      out[attr] = expressions.map((e) => walk(definition, e as Tree, path));
    } else if (Array.isArray(expressions) && expressions.length > 0 && expressions.every(Array.isArray)) {
      out[attr] = expressions.map((e) => comparison(e as unknown[], a, path));
    } else if (Array.isArray(expressions)) {
      out[attr] = comparison(expressions, a, path);
    } else if (typeof expressions === 'object' && expressions !== null) {
      out[attr] = walk(definition, expressions as Tree, path);
    } else {
      throw invalid(`Malformed filter on '${path.slice(0, 128)}'`);
    }
  }
  return out;
}

/** Parses and checks a filter against a schema; SCIMError 400 invalidFilter when it is malformed or names unknown attributes. */
export function parseFilter(text: string, definition: Definition): SCIMMY.Types.Filter {
  if (text.length > 2048) throw invalid('Filter too long');
  // The parser drops a logical operator with nothing on one side; outside quoted values, refuse it.
  const unquoted = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  if (/^\s*(and|or)\s|\s(and|or|not)\s*$|\s(and|or)\s+(and|or)\s/i.test(unquoted)) throw invalid('A logical operator without an expression in filter');
  let parsed: SCIMMY.Types.Filter;
  try {
    parsed = new SCIMMY.Types.Filter(text);
  } catch (err) {
    if (err instanceof SCIMMY.Types.Error) throw invalid(err.message.slice(0, 200));
    throw invalid('Malformed filter');
  }
  if (parsed.length === 0) throw invalid('Empty filter');
  return new SCIMMY.Types.Filter((parsed as unknown as Tree[]).map((branch) => walk(definition, branch, '')));
}

/** A copy of a resource for matching: case-insensitive strings folded, absent complex attributes present but empty. */
function matchView(value: unknown, attributes: readonly (Attribute | Definition)[]): unknown {
  if (Array.isArray(value)) return value.map((v) => matchView(v, attributes));
  if (typeof value !== 'object' || value === null) return value;
  const out: Tree = {};
  for (const a of attributes) {
    if (a instanceof SCIMMY.Types.SchemaDefinition) continue;
    if (a.type === 'complex' && !(a.name in (value as Tree))) out[a.name] = a.config.multiValued === true ? [] : {};
  }
  for (const [key, v] of Object.entries(value as Tree)) {
    const a = attributes.find((x): x is Attribute => !(x instanceof SCIMMY.Types.SchemaDefinition) && x.name.toLowerCase() === key.toLowerCase());
    if (a === undefined) out[key] = v;
    else if (a.type === 'complex') out[key] = matchView(v, a.subAttributes ?? []);
    else if (caseInsensitive(a)) out[key] = Array.isArray(v) ? (v as unknown[]).map((s) => (typeof s === 'string' ? s.toLowerCase() : s)) : typeof v === 'string' ? v.toLowerCase() : v;
    else out[key] = v;
  }
  return out;
}

/** The resources a checked filter selects, in their order. */
export function applyFilter<T extends object>(filter: SCIMMY.Types.Filter, resources: readonly T[], definition: Definition): T[] {
  const views = resources.map((r) => matchView(r, definition.attributes as (Attribute | Definition)[]));
  const selected = new Set(filter.match(views));
  return resources.filter((_, i) => selected.has(views[i]));
}
