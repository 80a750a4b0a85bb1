import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type Prompt,
  type Resource,
  type ResourceTemplate,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import * as z from 'zod';
import type { Allowance, Egress } from '../../egress/egress.ts';
import { GatehouseError } from '../../errors.ts';
import type { SandboxSettings } from '../../sandbox/sandbox.ts';
import type { ConnectorRecord } from '../../store/types.ts';
import { redactValue } from '../audit/redact.ts';
import { notSent, translateUpstreamError, unavailable } from './errors.ts';
import type { OpenedCredentials } from './credentials.ts';
import { createUpstreamTransport, deferResponses } from './transport.ts';

export type ListingKind = 'tools' | 'resources' | 'prompts';

export interface UpstreamListing {
  readonly tools: readonly Tool[];
  readonly resources: readonly Resource[];
  readonly resourceTemplates: readonly ResourceTemplate[];
  readonly prompts: readonly Prompt[];
}

export interface ConnectionDeps {
  /** The connector's values with its secrets opened, for this connection (credentials.ts; audited there). */
  readonly credentials: (connector: ConnectorRecord) => Promise<OpenedCredentials>;
  readonly egress: Egress;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** Where stdio connectors run. */
  readonly sandbox: SandboxSettings;
  /** Called when the connection's listing changed (first connect, list_changed, going down keeps the listing). */
  readonly onChange: (connection: UpstreamConnection, kinds: readonly ListingKind[]) => void;
}

/** Something a request can be forwarded on: the shared connection of a connector, or a session's own. */
export interface Forwarder {
  /** What a stdio connector's process runs in (`bwrap` or `none`), for the audit record; undefined for HTTP. */
  readonly sandbox?: string | undefined;
  request(method: string, params: Record<string, unknown>, options: ForwardOptions): Promise<Record<string, unknown>>;
  /** The allowance that admitted the address of the last socket opened (egress), for the call's audit record. */
  readonly egressAllowance?: Allowance | undefined;
}

export interface ForwardOptions {
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: { progress: number; total?: number; message?: string }) => void) | undefined;
  /** The connector's own wait for an answer (or progress), instead of the gateway default. */
  readonly timeoutMs?: number | undefined;
}

/**
 * The result as the upstream sent it, passed on without re-validation or copying: the client validates results
 * against the tool's own schemas, and a zod object schema here would copy every result for nothing.
 */
export const AnyResult = z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
const MAX_LIST_PAGES = 100;
const MAX_BACKOFF_MS = 30_000;
const HEALTH_TIMEOUT_MS = 2000;

/**
 * One live client to one connector, shared by every session of its organisation. Reconnects with backoff when the
 * upstream goes away; while it is down its calls fail fast with `upstream_unavailable` and the last known listing
 * stays in the catalog.
 */
export class UpstreamConnection implements Forwarder {
  #connector: ConnectorRecord;
  #deps: ConnectionDeps;
  #client: Client | undefined;
  #state: 'connecting' | 'ready' | 'down' | 'closed' = 'connecting';
  #listing: UpstreamListing = { tools: [], resources: [], resourceTemplates: [], prompts: [] };
  #backoffMs = 500;
  #retryTimer: NodeJS.Timeout | undefined;
  #checking = false;
  /** Why the last connect was refused by egress: calls are answered with it rather than `upstream_unavailable`. */
  #refusal: GatehouseError | undefined;
  egressAllowance: Allowance | undefined;
  #sandbox: string | undefined;

  constructor(connector: ConnectorRecord, deps: ConnectionDeps) {
    this.#connector = connector;
    this.#deps = deps;
  }

  get connector(): ConnectorRecord {
    return this.#connector;
  }

  /**
   * The same connector with its secrets resealed (vault rotate-dek: same settings, same updated_at): the record is
   * swapped without reconnecting, so the next reconnect and the echo scrub read the current ciphertexts.
   */
  adopt(resealed: ConnectorRecord): void {
    if (resealed.id === this.#connector.id && resealed.updatedAt === this.#connector.updatedAt) this.#connector = resealed;
  }

  get name(): string {
    return this.connector.name;
  }

  get state(): string {
    return this.#state;
  }

  /**
   * Why the last connect was not made when a credential did not open (credential_unavailable) or the upstream's
   * authorization refused it (upstream_auth_required naming the connect route, upstream_auth_failed), else undefined.
   * Neither message holds a credential.
   */
  get credentialRefusal(): GatehouseError | undefined {
    const code = this.#refusal?.code;
    return code === 'credential_unavailable' || code === 'upstream_auth_required' || code === 'upstream_auth_failed' ? this.#refusal : undefined;
  }

  get sandbox(): string | undefined {
    return this.#sandbox;
  }

  /** The process id of a stdio connector's process group leader while it runs (bwrap when sandboxed). */
  get pid(): number | undefined {
    return this.#pid();
  }

  #pid: () => number | undefined = () => undefined;

  get listing(): UpstreamListing {
    return this.#listing;
  }

  start(): void {
    void this.#connect();
  }

  /** Tries again now instead of at the next backoff (someone connected their account): resolves when it settled. */
  async retryNow(): Promise<void> {
    if (this.#state !== 'down') return;
    clearTimeout(this.#retryTimer);
    await this.#connect();
  }

  async #connect(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'connecting';
    let attemptRefusal: GatehouseError | undefined;
    const log = this.#deps.log;
    let client: Client | undefined;
    try {
      const opened = await this.#deps.credentials(this.connector);
      const { transport, stdio } = createUpstreamTransport(this.connector, opened, this.#deps.egress, this.#deps.sandbox, (pinned) => {
        this.egressAllowance = pinned.allowance;
      });
      this.#sandbox = stdio?.plan.sandbox;
      this.#pid = () => stdio?.pid;
      client = new Client({ name: 'gatehouse', version: '0.1.0' }, { capabilities: {} });
      stdio?.stderr.on('data', (chunk: Buffer) => {
        log.debug({ connector: this.name, stderr: redactValue(chunk.toString('utf8').slice(0, 2000)) }, 'upstream stderr');
      });
      const current = client;
      client.onclose = () => {
        this.#onClosed(current);
      };
      client.onerror = (err) => {
        // The transport reports a refused socket here; the client itself only sees the connection close.
        const refused = egressRefusalIn(err);
        if (refused !== undefined) {
          this.#refusal = refused;
          attemptRefusal = refused;
        }
        this.#onTransportError(current, err);
      };
      await client.connect(transport, { timeout: this.#deps.connectTimeoutMs });
      deferResponses(transport);
      if (this.#isClosed()) {
        await client.close();
        return;
      }
      this.#client = client;
      this.#registerListChanged(client);
      await this.#refresh(client, ['tools', 'resources', 'prompts']);
      this.#state = 'ready';
      this.#backoffMs = 500;
      this.#refusal = undefined;
      log.info({ connector: this.name, org: this.connector.orgId }, 'upstream connected');
      this.#deps.onChange(this, ['tools', 'resources', 'prompts']);
    } catch (err) {
      const credential = err instanceof GatehouseError && err.code === 'credential_unavailable' ? err : undefined;
      const refusal = egressRefusalIn(err) ?? credential ?? attemptRefusal;
      this.#refusal = refusal;
      if (credential !== undefined) log.error({ connector: this.name, org: this.connector.orgId, reason: credential.message, err: describe(rootCause(credential)) }, 'upstream connection not made: a credential cannot be opened');
      else if (refusal !== undefined) {
        const by = refusal.code === 'egress_refused' ? 'egress' : 'its authorization server';
        log.warn({ connector: this.name, org: this.connector.orgId, reason: refusal.message }, `upstream connection refused by ${by}`);
      }
      else log.warn({ connector: this.name, err: describe(err) }, 'upstream connection failed');
      await client?.close().catch(() => undefined);
      this.#scheduleRetry();
    }
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #onClosed(client: Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    if (this.#state === 'closed') return;
    this.#deps.log.warn({ connector: this.name }, 'upstream connection closed');
    this.#scheduleRetry();
  }

  /**
   * A transport error can leave an in-flight call waiting for an answer that will never come (an HTTP upstream
   * that died mid-stream). Ping: if the upstream does not answer, close the client, which fails every pending
   * call at once, and reconnect.
   */
  #onTransportError(client: Client, err: Error): void {
    this.#deps.log.debug({ connector: this.name, err: describe(err) }, 'upstream transport error');
    if (this.#checking || this.#client !== client || this.#state !== 'ready') return;
    this.#checking = true;
    client
      .ping({ timeout: HEALTH_TIMEOUT_MS })
      .catch(async () => {
        this.#deps.log.warn({ connector: this.name }, 'upstream stopped answering; reconnecting');
        await client.close();
      })
      .catch(() => undefined)
      .finally(() => {
        this.#checking = false;
      });
  }

  #scheduleRetry(): void {
    if (this.#state === 'closed') return;
    this.#state = 'down';
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#connect(), this.#backoffMs);
    this.#retryTimer.unref();
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
  }

  #registerListChanged(client: Client): void {
    const on = (kind: ListingKind) => async () => {
      try {
        await this.#refresh(client, [kind]);
        this.#deps.onChange(this, [kind]);
      } catch (err) {
        this.#deps.log.warn({ connector: this.name, kind, err: describe(err) }, 'upstream list refresh failed');
      }
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, on('tools'));
    client.setNotificationHandler(ResourceListChangedNotificationSchema, on('resources'));
    client.setNotificationHandler(PromptListChangedNotificationSchema, on('prompts'));
  }

  async #refresh(client: Client, kinds: readonly ListingKind[]): Promise<void> {
    const caps = client.getServerCapabilities() ?? {};
    // Only the refreshed kinds are written back, over the listing as it is then: refreshes of different kinds run
    // concurrently (a tools and a resources list_changed back to back), and a copy taken here would undo the other.
    const next: { -readonly [K in keyof UpstreamListing]?: UpstreamListing[K] } = {};
    if (kinds.includes('tools')) next.tools = caps.tools ? await collect((cursor) => client.listTools({ cursor }), (r) => r.tools) : [];
    if (kinds.includes('resources')) {
      next.resources = caps.resources ? await collect((cursor) => client.listResources({ cursor }), (r) => r.resources) : [];
      next.resourceTemplates = caps.resources
        ? await collect((cursor) => client.listResourceTemplates({ cursor }), (r) => r.resourceTemplates)
        : [];
    }
    if (kinds.includes('prompts')) next.prompts = caps.prompts ? await collect((cursor) => client.listPrompts({ cursor }), (r) => r.prompts) : [];
    this.#listing = { ...this.#listing, ...next };
  }

  /** Sends one request upstream and returns its result object as parsed. */
  async request(method: string, params: Record<string, unknown>, options: ForwardOptions = {}): Promise<Record<string, unknown>> {
    const client = this.#client;
    if (client === undefined || this.#state !== 'ready') throw notSent(this.#refusal ?? unavailable(this.name));
    try {
      return await client.request({ method, params }, AnyResult, {
        signal: options.signal,
        timeout: options.timeoutMs ?? this.#deps.requestTimeoutMs,
        resetTimeoutOnProgress: true,
        ...(options.onProgress === undefined ? {} : { onprogress: options.onProgress }),
      });
    } catch (err) {
      const translated = translateUpstreamError(err, this.name, options.signal);
      throw translated.code === 'upstream_unavailable' ? (this.#refusal ?? translated) : translated;
    }
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.close().catch(() => undefined);
  }
}

async function collect<R extends { nextCursor?: string | undefined }, T>(
  page: (cursor: string | undefined) => Promise<R>,
  items: (r: R) => T[],
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_LIST_PAGES; i++) {
    const r = await page(cursor);
    out.push(...items(r));
    cursor = r.nextCursor;
    if (cursor === undefined) break;
  }
  return out;
}

/**
 * The refusal behind a failed connect (the SDK may wrap what the transport threw), if that is what it was: egress
 * refused the destination, or the upstream's OAuth could not be satisfied. Calls are answered with it.
 */
export function egressRefusalIn(err: unknown): GatehouseError | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof GatehouseError && (e.code === 'egress_refused' || e.code === 'upstream_auth_failed' || e.code === 'upstream_auth_required')) return e;
  }
  return undefined;
}

/** The innermost cause (a provider's CKR_ code, a failed GCM tag): what an operator needs; never a secret. */
function rootCause(err: unknown): unknown {
  let e = err;
  for (let i = 0; i < 8 && e instanceof Error && e.cause !== undefined; i++) e = e.cause;
  return e;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
