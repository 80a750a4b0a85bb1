import type { Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../../errors.ts';
import { exposedName, exposedUri, splitUri } from './names.ts';

/** What the catalog needs of an upstream connection (structural: the catalog does not import the upstream). */
export interface CatalogSource {
  readonly name: string;
  readonly listing: {
    readonly tools: readonly Tool[];
    readonly resources: readonly Resource[];
    readonly resourceTemplates: readonly ResourceTemplate[];
    readonly prompts: readonly Prompt[];
  };
}

export interface Entry<T> {
  readonly connector: string;
  /** The name (or URI) the upstream uses. */
  readonly original: string;
  /** The item as the client sees it: name or URI namespaced. */
  readonly item: T;
}

export interface Visibility {
  allowsConnector(connector: string): boolean;
  allowsTool(connector: string, tool: string): boolean;
}

export const DEFAULT_PAGE_SIZE = 100;

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/**
 * What an MCP endpoint serves: the organisation's whole catalog at /mcp, or a virtual server's chosen part of it.
 * Lists are filtered by what the caller may see; lookups map the name or URI the client uses back to exactly one
 * (connector, original), and undefined means "no such thing here".
 */
export interface CatalogView {
  listTools(v: Visibility, cursor: unknown): Page<Tool>;
  listPrompts(v: Visibility, cursor: unknown): Page<Prompt>;
  listResources(v: Visibility, cursor: unknown): Page<Resource>;
  listResourceTemplates(v: Visibility, cursor: unknown): Page<ResourceTemplate>;
  tool(name: string): Entry<Tool> | undefined;
  prompt(name: string): Entry<Prompt> | undefined;
  /** The connector and upstream URI behind a URI as the client sees it. */
  resolveUri(uri: string): { connector: string; uri: string } | undefined;
  /** The URI the client sees for a connector's upstream URI. */
  exposeUri(connector: string, uri: string): string;
}

/**
 * One organisation's federated catalog: every connector's tools, resources, templates and prompts under
 * namespaced names, rebuilt whenever a connector's listing changes. Lists are filtered by what the caller may see
 * and paginated with an opaque cursor; lookups map a namespaced name back to exactly one (connector, original).
 */
export class OrgCatalog implements CatalogView {
  readonly #pageSize: number;
  #tools: Entry<Tool>[] = [];
  #toolIndex = new Map<string, Entry<Tool>>();
  #prompts: Entry<Prompt>[] = [];
  #promptIndex = new Map<string, Entry<Prompt>>();
  #resources: Entry<Resource>[] = [];
  #templates: Entry<ResourceTemplate>[] = [];

  constructor(pageSize = DEFAULT_PAGE_SIZE) {
    this.#pageSize = pageSize;
  }

  rebuild(sources: readonly CatalogSource[]): void {
    const sorted = [...sources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.#toolIndex = new Map();
    this.#promptIndex = new Map();
    this.#tools = [];
    this.#prompts = [];
    this.#resources = [];
    this.#templates = [];
    for (const s of sorted) {
      for (const tool of s.listing.tools) {
        const entry = { connector: s.name, original: tool.name, item: { ...tool, name: exposedName(s.name, tool.name) } };
        // A clash can only come from two originals of one connector producing one name; the first in the
        // upstream's order wins and the other is left out rather than risk routing to the wrong tool.
        if (this.#toolIndex.has(entry.item.name)) continue;
        this.#toolIndex.set(entry.item.name, entry);
        this.#tools.push(entry);
      }
      for (const prompt of s.listing.prompts) {
        const entry = { connector: s.name, original: prompt.name, item: { ...prompt, name: exposedName(s.name, prompt.name) } };
        if (this.#promptIndex.has(entry.item.name)) continue;
        this.#promptIndex.set(entry.item.name, entry);
        this.#prompts.push(entry);
      }
      for (const r of s.listing.resources) {
        this.#resources.push({ connector: s.name, original: r.uri, item: { ...r, uri: exposedUri(s.name, r.uri) } });
      }
      for (const t of s.listing.resourceTemplates) {
        this.#templates.push({ connector: s.name, original: t.uriTemplate, item: { ...t, uriTemplate: exposedUri(s.name, t.uriTemplate) } });
      }
    }
  }

  /** Every entry, namespaced, for views built on this catalog. */
  get entries(): {
    tools: readonly Entry<Tool>[];
    prompts: readonly Entry<Prompt>[];
    resources: readonly Entry<Resource>[];
    templates: readonly Entry<ResourceTemplate>[];
  } {
    return { tools: this.#tools, prompts: this.#prompts, resources: this.#resources, templates: this.#templates };
  }

  resolveUri(uri: string): { connector: string; uri: string } | undefined {
    return splitUri(uri);
  }

  exposeUri(connector: string, uri: string): string {
    return exposedUri(connector, uri);
  }

  tool(name: string): Entry<Tool> | undefined {
    return this.#toolIndex.get(name);
  }

  prompt(name: string): Entry<Prompt> | undefined {
    return this.#promptIndex.get(name);
  }

  listTools(v: Visibility, cursor: unknown): { items: Tool[]; nextCursor?: string } {
    return this.#page(this.#tools.filter((e) => v.allowsTool(e.connector, e.original)), cursor);
  }

  listPrompts(v: Visibility, cursor: unknown): { items: Prompt[]; nextCursor?: string } {
    return this.#page(this.#prompts.filter((e) => v.allowsConnector(e.connector)), cursor);
  }

  listResources(v: Visibility, cursor: unknown): { items: Resource[]; nextCursor?: string } {
    return this.#page(this.#resources.filter((e) => v.allowsConnector(e.connector)), cursor);
  }

  listResourceTemplates(v: Visibility, cursor: unknown): { items: ResourceTemplate[]; nextCursor?: string } {
    return this.#page(this.#templates.filter((e) => v.allowsConnector(e.connector)), cursor);
  }

  #page<T>(entries: readonly Entry<T>[], cursor: unknown): Page<T> {
    return paginate(entries, cursor, this.#pageSize);
  }
}

/** One page of entries' items from an opaque cursor. */
export function paginate<T>(entries: readonly Entry<T>[], cursor: unknown, pageSize = DEFAULT_PAGE_SIZE): Page<T> {
  const start = decodeCursor(cursor);
  const end = start + pageSize;
  const items = entries.slice(start, end).map((e) => e.item);
  return end < entries.length ? { items, nextCursor: encodeCursor(end) } : { items };
}

function encodeCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url');
}

function decodeCursor(cursor: unknown): number {
  if (cursor === undefined || cursor === null) return 0;
  if (typeof cursor === 'string') {
    const m = /^o:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (m?.[1] !== undefined) return Number(m[1]);
  }
  throw new GatehouseError('invalid_params', 'Invalid cursor');
}
