import type { Egress } from '../egress/egress.ts';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { ConnectorRecord, Store, VirtualServerRecord } from '../store/types.ts';
import type { SandboxSettings } from '../sandbox/sandbox.ts';
import type { CredentialOpener } from './upstream/credentials.ts';
import { OrgCatalog, type CatalogSource, type CatalogView } from './catalog/catalog.ts';
import { ToolPins } from './catalog/tool-pins.ts';
import { VirtualView } from './catalog/virtual-view.ts';
import { UpstreamConnection, type ListingKind } from './upstream/connection.ts';
import type { ConnectorHealthView } from './upstream/health-snapshot.ts';
import { Resilience, type ConnectorGuard } from './upstream/resilience.ts';

export interface FederationDeps {
  readonly store: Pick<Store, 'connectorsRevision' | 'listAllConnectors' | 'virtualServersRevision' | 'listAllVirtualServers' | 'pinning'>;
  readonly credentials: Pick<CredentialOpener, 'open'>;
  readonly egress: Egress;
  /** Where stdio connectors' processes run. */
  readonly sandbox: SandboxSettings;
  readonly log: Logger;
  readonly config: Pick<
    Config,
    'upstreamTimeoutMs' | 'upstreamConnectTimeoutMs' | 'connectorPollMs' | 'upstreamMaxCallMs' | 'upstreamMaxConcurrent' | 'upstreamBreakerFailures' | 'upstreamBreakerOpenMs'
  >;
  /** Told when an organisation's catalog changed, so open sessions can be sent list_changed. */
  readonly onListChanged: (orgId: string, kinds: readonly ListingKind[]) => void;
}

/**
 * Keeps one live upstream connection per stored connector and one catalog per organisation. Connector changes made
 * by the CLI or another replica are picked up by watching the store's connector revision.
 */
export class Federation {
  readonly #deps: FederationDeps;
  readonly #connections = new Map<string, UpstreamConnection>();
  /** The same connections keyed by `orgId/name`, for routing a call in one lookup. */
  readonly #byName = new Map<string, UpstreamConnection>();
  readonly #catalogs = new Map<string, OrgCatalog>();
  /** Virtual servers by `orgId/name`: the stored selection and the view built from the org's catalog. */
  readonly #servers = new Map<string, { record: VirtualServerRecord; view: VirtualView }>();
  #revision = -1;
  #serversRevision = -1;
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  /** Which tools may be served (pinning) and what read-only connectors allow; catalogs serve only pinned tools. */
  readonly pins: ToolPins;
  /** Every connector's breaker, cap and time bounds, shared by its shared connection and the sessions' own. */
  readonly resilience: Resilience;

  constructor(deps: FederationDeps) {
    this.#deps = deps;
    const c = deps.config;
    this.resilience = new Resilience({
      timeoutMs: c.upstreamTimeoutMs,
      maxCallMs: c.upstreamMaxCallMs,
      maxConcurrent: c.upstreamMaxConcurrent,
      breakerFailures: c.upstreamBreakerFailures,
      breakerOpenMs: c.upstreamBreakerOpenMs,
    });
    this.pins = new ToolPins({ store: deps.store, log: deps.log, onChange: (orgId) => {
        this.#rebuild(orgId, ['tools']);
      },
    });
  }

  async start(): Promise<void> {
    await this.sync();
    this.#timer = setInterval(() => {
      this.sync().catch((err: unknown) => {
        this.#deps.log.error({ err }, 'connector sync failed');
      });
    }, this.#deps.config.connectorPollMs);
    this.#timer.unref();
  }

  /** Reconciles connections with the store when the connector revision moved. Concurrent calls share one run. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #sync(): Promise<void> {
    // Pins first: a connector's first listing is judged against what the store already holds for it.
    if (await this.pins.refresh()) {
      for (const orgId of new Set([...this.#connections.values()].map((c) => c.connector.orgId))) this.#rebuild(orgId, ['tools']);
    }
    await this.#syncConnectors();
    await this.#syncServers();
  }

  async #syncServers(): Promise<void> {
    const revision = await this.#deps.store.virtualServersRevision();
    if (revision === this.#serversRevision) return;
    const records = await this.#deps.store.listAllVirtualServers();
    this.#serversRevision = revision;
    const touched = new Set<string>();
    for (const s of this.#servers.values()) touched.add(s.record.orgId);
    this.#servers.clear();
    for (const r of records) {
      touched.add(r.orgId);
      this.#servers.set(`${r.orgId}/${r.name}`, { record: r, view: new VirtualView(this.catalog(r.orgId), r) });
    }
    for (const orgId of touched) this.#deps.onListChanged(orgId, ['tools', 'resources', 'prompts']);
  }

  async #syncConnectors(): Promise<void> {
    const revision = await this.#deps.store.connectorsRevision();
    if (revision === this.#revision) return;
    const connectors = await this.#deps.store.listAllConnectors();
    this.#revision = revision;
    const wanted = new Map(connectors.map((c) => [c.id, c]));
    const touched = new Set<string>();
    for (const [id, conn] of this.#connections) {
      const next = wanted.get(id);
      if (next?.updatedAt === conn.connector.updatedAt) {
        conn.adopt(next);
        continue;
      }
      this.#connections.delete(id);
      this.#byName.delete(`${conn.connector.orgId}/${conn.connector.name}`);
      touched.add(conn.connector.orgId);
      void conn.close();
    }
    for (const c of connectors) {
      if (this.#connections.has(c.id)) continue;
      const conn = this.#connect(c);
      this.#connections.set(c.id, conn);
      this.#byName.set(`${c.orgId}/${c.name}`, conn);
      touched.add(c.orgId);
    }
    this.resilience.retain(new Set(wanted.keys()));
    for (const orgId of touched) this.#rebuild(orgId, ['tools', 'resources', 'prompts']);
  }

  /** The guard of the organisation's connector `name` (forward stage); undefined when there is no such connector. */
  guard(orgId: string, name: string): ConnectorGuard | undefined {
    const conn = this.#byName.get(`${orgId}/${name}`);
    return conn === undefined ? undefined : this.resilience.guard(conn.connector);
  }

  /** A connector's health on this replica, with the state of its shared connection. */
  health(connectorId: string): ConnectorHealthView | undefined {
    const conn = this.#connections.get(connectorId);
    if (conn === undefined) return undefined;
    return { connection: conn.state, ...(this.resilience.health(connectorId) ?? this.resilience.guard(conn.connector).health()) };
  }

  /** Every connector's health on this replica, by connector id. */
  healthAll(): Record<string, ConnectorHealthView> {
    const out: Record<string, ConnectorHealthView> = {};
    for (const id of this.#connections.keys()) {
      const h = this.health(id);
      if (h !== undefined) out[id] = h;
    }
    return out;
  }

  #connect(c: ConnectorRecord): UpstreamConnection {
    const conn = new UpstreamConnection(c, {
      // The organisation's shared connection is the gateway's own: no one key asked for it.
      credentials: (connector) => this.#deps.credentials.open(connector, { keyId: null, user: 'system:connection' }),
      egress: this.#deps.egress,
      sandbox: this.#deps.sandbox,
      log: this.#deps.log,
      requestTimeoutMs: this.#deps.config.upstreamTimeoutMs,
      connectTimeoutMs: this.#deps.config.upstreamConnectTimeoutMs,
      onChange: (changed, kinds) => {
        if (this.#connections.get(changed.connector.id) === changed) this.#rebuild(changed.connector.orgId, kinds);
      },
    });
    conn.start();
    return conn;
  }

  #rebuild(orgId: string, kinds: readonly ListingKind[]): void {
    const sources: CatalogSource[] = [...this.#connections.values()]
      .filter((c) => c.connector.orgId === orgId)
      .map((c) => ({ name: c.connector.name, listing: { ...c.listing, tools: this.pins.serve(orgId, c.connector, c.listing.tools) } }));
    let catalog = this.#catalogs.get(orgId);
    if (catalog === undefined) {
      catalog = new OrgCatalog();
      this.#catalogs.set(orgId, catalog);
    }
    catalog.rebuild(sources);
    for (const [key, s] of this.#servers) {
      if (s.record.orgId === orgId) this.#servers.set(key, { record: s.record, view: new VirtualView(catalog, s.record) });
    }
    this.#deps.onListChanged(orgId, kinds);
  }

  /** What an endpoint serves: the organisation's whole catalog (server null) or one of its virtual servers. */
  view(orgId: string, server: string | null): CatalogView | undefined {
    if (server === null) return this.catalog(orgId);
    return this.#servers.get(`${orgId}/${server}`)?.view;
  }

  catalog(orgId: string): OrgCatalog {
    return this.#catalogs.get(orgId) ?? EMPTY;
  }

  /** The connector's shared connection tries again at once, if it is down; resolves when that attempt settled. */
  async retryNow(connectorId: string): Promise<void> {
    await this.#connections.get(connectorId)?.retryNow();
  }

  connection(orgId: string, connector: string): UpstreamConnection | undefined {
    return this.#byName.get(`${orgId}/${connector}`);
  }

  /** Every shared connection, its state and its breaker's, read when metrics are scraped. */
  *connectionStates(): Iterable<{ orgId: string; connector: string; state: string; breaker: 'closed' | 'open' | 'half-open' | undefined }> {
    for (const [id, c] of this.#connections) {
      yield { orgId: c.connector.orgId, connector: c.name, state: c.state, breaker: this.resilience.health(id)?.breaker };
    }
  }

  /** Resolves once every connection has finished its first attempt (for start-up and tests). */
  async settled(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ([...this.#connections.values()].some((c) => c.state === 'connecting') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.pins.idle();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#syncing?.catch(() => undefined);
    await Promise.all([...this.#connections.values()].map((c) => c.close()));
    this.#connections.clear();
    this.#byName.clear();
  }
}

const EMPTY = new OrgCatalog();
