import type { Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import { compileScopes } from '../access/scopes.ts';
import { paginate, type CatalogView, type Entry, type OrgCatalog, type Page, type Visibility } from './catalog.ts';
import { exposedUri, splitUri } from './names.ts';

/** What an admin chose for a virtual server (the stored record's selection). */
export interface VirtualSelection {
  readonly name: string;
  /** Patterns in key-scope syntax: `*`, `<connector>`, `<connector>/<tool>` (trailing `*` for a prefix). */
  readonly tools: readonly string[];
  /** The same syntax, on prompt names. */
  readonly prompts: readonly string[];
  /** Connectors whose resources and templates are served (`*` for all). */
  readonly resources: readonly string[];
  /** Serve upstream names and URIs as they are, where no two chosen items collide. */
  readonly unprefixed: boolean;
}

/**
 * A virtual server: a chosen part of an organisation's catalog, served at `/servers/{name}/mcp`. Built from the
 * organisation's catalog whenever that or the selection changes. With `unprefixed`, tools and prompts keep their
 * upstream names unless two chosen ones share a name (those keep the `<connector>__` prefix), and resources keep
 * their upstream URIs; a URI is routed to the one chosen connector that lists it or has a template matching it.
 */
export class VirtualView implements CatalogView {
  readonly selection: VirtualSelection;
  readonly #tools: Entry<Tool>[] = [];
  readonly #toolIndex = new Map<string, Entry<Tool>>();
  readonly #prompts: Entry<Prompt>[] = [];
  readonly #promptIndex = new Map<string, Entry<Prompt>>();
  readonly #resources: Entry<Resource>[] = [];
  readonly #templates: Entry<ResourceTemplate>[] = [];
  readonly #resourceConnectors: Set<string>;
  readonly #templateMatchers: { connector: string; pattern: RegExp }[] = [];
  readonly #pageSize: number;

  constructor(catalog: OrgCatalog, selection: VirtualSelection, pageSize?: number) {
    this.selection = selection;
    this.#pageSize = pageSize ?? 100;
    const { tools, prompts, resources, templates } = catalog.entries;
    const toolScope = compileScopes(selection.tools);
    const promptScope = compileScopes(selection.prompts);
    const allResources = selection.resources.includes('*');
    const resourceScope = new Set(selection.resources);

    const chosenTools = tools.filter((e) => toolScope.allowsTool(e.connector, e.original));
    for (const e of rename(chosenTools, selection.unprefixed, (item, name) => ({ ...item, name }))) {
      this.#tools.push(e);
      this.#toolIndex.set(e.item.name, e);
    }
    const chosenPrompts = prompts.filter((e) => promptScope.allowsTool(e.connector, e.original));
    for (const e of rename(chosenPrompts, selection.unprefixed, (item, name) => ({ ...item, name }))) {
      this.#prompts.push(e);
      this.#promptIndex.set(e.item.name, e);
    }
    this.#resourceConnectors = new Set<string>();
    for (const e of resources) {
      if (!allResources && !resourceScope.has(e.connector)) continue;
      this.#resourceConnectors.add(e.connector);
      this.#resources.push(selection.unprefixed ? { ...e, item: { ...e.item, uri: e.original } } : e);
    }
    for (const e of templates) {
      if (!allResources && !resourceScope.has(e.connector)) continue;
      this.#resourceConnectors.add(e.connector);
      this.#templates.push(selection.unprefixed ? { ...e, item: { ...e.item, uriTemplate: e.original } } : e);
      this.#templateMatchers.push({ connector: e.connector, pattern: templatePattern(e.original) });
    }
    if (allResources) for (const e of tools) this.#resourceConnectors.add(e.connector);
    else for (const c of resourceScope) this.#resourceConnectors.add(c);
  }

  tool(name: string): Entry<Tool> | undefined {
    return this.#toolIndex.get(name);
  }

  prompt(name: string): Entry<Prompt> | undefined {
    return this.#promptIndex.get(name);
  }

  listTools(v: Visibility, cursor: unknown): Page<Tool> {
    return paginate(this.#tools.filter((e) => v.allowsTool(e.connector, e.original)), cursor, this.#pageSize);
  }

  listPrompts(v: Visibility, cursor: unknown): Page<Prompt> {
    return paginate(this.#prompts.filter((e) => v.allowsConnector(e.connector)), cursor, this.#pageSize);
  }

  listResources(v: Visibility, cursor: unknown): Page<Resource> {
    return paginate(this.#resources.filter((e) => v.allowsConnector(e.connector)), cursor, this.#pageSize);
  }

  listResourceTemplates(v: Visibility, cursor: unknown): Page<ResourceTemplate> {
    return paginate(this.#templates.filter((e) => v.allowsConnector(e.connector)), cursor, this.#pageSize);
  }

  resolveUri(uri: string): { connector: string; uri: string } | undefined {
    if (!this.selection.unprefixed) {
      const split = splitUri(uri);
      return split !== undefined && this.#resourceConnectors.has(split.connector) ? split : undefined;
    }
    if (this.#resourceConnectors.size === 1) {
      const [only] = this.#resourceConnectors;
      return only === undefined ? undefined : { connector: only, uri };
    }
    const listed = new Set(this.#resources.filter((e) => e.original === uri).map((e) => e.connector));
    if (listed.size === 1) return { connector: [...listed][0] ?? '', uri };
    if (listed.size > 1) return undefined;
    const matched = new Set(this.#templateMatchers.filter((m) => m.pattern.test(uri)).map((m) => m.connector));
    return matched.size === 1 ? { connector: [...matched][0] ?? '', uri } : undefined;
  }

  exposeUri(connector: string, uri: string): string {
    return this.selection.unprefixed ? uri : exposedUri(connector, uri);
  }
}

/**
 * Gives each chosen entry its name in the view: the upstream name when unprefixed and unique among the chosen, the
 * catalog's namespaced name otherwise. A plain name that equals another entry's namespaced name is namespaced too.
 */
function rename<T extends { name: string }>(entries: readonly Entry<T>[], unprefixed: boolean, withName: (item: T, name: string) => T): Entry<T>[] {
  if (!unprefixed) return [...entries];
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.original, (counts.get(e.original) ?? 0) + 1);
  const namespaced = new Set(entries.map((e) => e.item.name));
  return entries.map((e) => {
    const plain = counts.get(e.original) === 1 && !namespaced.has(e.original);
    return plain ? { ...e, item: withName(e.item, e.original) } : e;
  });
}

/** A regular expression for the URIs an RFC 6570 template can produce (level 1-4 expressions, loosely). */
export function templatePattern(template: string): RegExp {
  let out = '^';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open === -1) {
      out += escape(template.slice(i));
      break;
    }
    out += escape(template.slice(i, open));
    const close = template.indexOf('}', open);
    if (close === -1) {
      out += escape(template.slice(open));
      break;
    }
    const op = template[open + 1] ?? '';
    // Reserved and fragment expansions may contain slashes; query and continuation parts are optional.
    if (op === '+' || op === '#') out += '.*';
    else if (op === '?' || op === '&') out += '(?:[?&].*)?';
    else out += '[^/?#]*';
    i = close + 1;
  }
  return new RegExp(out + '$');
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
