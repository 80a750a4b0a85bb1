import { CONNECTOR_NAME } from '../catalog/names.ts';

/**
 * Key scopes. Each entry is one of:
 *   `*`                     everything in the organisation
 *   `<connector>`           every tool, resource and prompt of that connector
 *   `<connector>/<tool>`    one tool of that connector (its upstream name; a trailing `*` matches a prefix)
 * Anything not granted is hidden from lists and refused on use. An empty list grants nothing.
 */
export interface ScopeSet {
  /** Whether the whole connector (its resources and prompts, and every tool) is granted. */
  allowsConnector(connector: string): boolean;
  allowsTool(connector: string, tool: string): boolean;
  /** Whether any part of the connector is granted (for deciding whether to touch it at all). */
  touchesConnector(connector: string): boolean;
}

const TOOL_PATTERN = /^[A-Za-z0-9_.\- ]{1,128}\*?$|^\*$/;

/** Returns a problem description for an invalid scope entry, or undefined when it is valid. */
export function scopeProblem(scope: string): string | undefined {
  if (scope === '*') return undefined;
  const slash = scope.indexOf('/');
  const connector = slash === -1 ? scope : scope.slice(0, slash);
  if (!CONNECTOR_NAME.test(connector)) return `'${scope}': '${connector}' is not a valid connector name`;
  if (slash !== -1 && !TOOL_PATTERN.test(scope.slice(slash + 1))) return `'${scope}': invalid tool pattern`;
  return undefined;
}

export function compileScopes(scopes: readonly string[]): ScopeSet {
  if (scopes.includes('*')) return ALL;
  const whole = new Set<string>();
  const tools = new Map<string, { exact: Set<string>; prefixes: string[] }>();
  for (const s of scopes) {
    const slash = s.indexOf('/');
    if (slash === -1) {
      whole.add(s);
      continue;
    }
    const connector = s.slice(0, slash);
    const pattern = s.slice(slash + 1);
    let entry = tools.get(connector);
    if (entry === undefined) {
      entry = { exact: new Set(), prefixes: [] };
      tools.set(connector, entry);
    }
    if (pattern.endsWith('*')) entry.prefixes.push(pattern.slice(0, -1));
    else entry.exact.add(pattern);
  }
  return {
    allowsConnector: (c) => whole.has(c),
    allowsTool: (c, tool) => {
      if (whole.has(c)) return true;
      const entry = tools.get(c);
      return entry !== undefined && (entry.exact.has(tool) || entry.prefixes.some((p) => tool.startsWith(p)));
    },
    touchesConnector: (c) => whole.has(c) || tools.has(c),
  };
}

const ALL: ScopeSet = { allowsConnector: () => true, allowsTool: () => true, touchesConnector: () => true };

/**
 * Whether a key holding `granted` may hand out `requested`: everything the requested entry grants must already be
 * granted. `*` covers everything; `c` covers `c` and `c/<anything>`; `c/p*` covers `c/p…` tools and prefixes that
 * start with `p`; an exact tool covers only itself.
 */
export function scopeCovers(granted: readonly string[], requested: string): boolean {
  if (granted.includes('*')) return true;
  if (requested === '*') return false;
  const slash = requested.indexOf('/');
  const connector = slash === -1 ? requested : requested.slice(0, slash);
  if (granted.includes(connector)) return true;
  if (slash === -1) return false;
  const pattern = requested.slice(slash + 1);
  const requestedPrefix = pattern.endsWith('*') ? pattern.slice(0, -1) : undefined;
  return granted.some((g) => {
    if (!g.startsWith(connector + '/')) return false;
    const held = g.slice(connector.length + 1);
    if (held.endsWith('*')) return (requestedPrefix ?? pattern).startsWith(held.slice(0, -1));
    return requestedPrefix === undefined && held === pattern;
  });
}
